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
