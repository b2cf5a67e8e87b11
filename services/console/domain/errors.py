"""What the console's rules refuse, each naming the input at fault when one is."""

from __future__ import annotations

from shared.errors import DomainError


class InvalidAccountError(DomainError):
    """An account's role, name, scope or volunteer id is wrong."""


class PhoneTakenError(DomainError):
    """Another account already signs in with this phone."""

    field = "phone"


class UnknownAccountError(DomainError):
    """No account has this id."""


class AlreadyPausedError(DomainError):
    """The account is paused already."""


class NotPausedError(DomainError):
    """The account is not paused."""


class AccountErasedError(DomainError):
    """The account was erased: it stays paused for good and nothing of it changes again."""

    field = "account_id"


class ErasureNotConfirmedError(DomainError):
    """An account is erased only once its erasure is explicitly confirmed."""

    field = "confirm"


class InvalidApiTokenError(DomainError):
    """A token's label, role, scope or lifetime is not one an admin may issue."""


class TokenOutOfReachError(DomainError):
    """The token covers more than the admin's own scope: they may not issue or revoke it."""

    field = "scope"


class AlreadyRevokedError(DomainError):
    """The token is revoked already."""


class TokenExpiredError(DomainError):
    """The token has expired: it opens nothing, so there is nothing to revoke."""
