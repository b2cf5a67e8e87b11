"""The key ring that signs and verifies bearer tokens: keys with an id (the JWT `kid`), so a
key can be rotated without logging everyone out (docs/operations.md, "Rotating token keys")."""

from __future__ import annotations

import hashlib
import hmac

import msgspec

MIN_SECRET_LENGTH = 32


class TokenKeyError(ValueError):
    """The key ring setting is malformed; the message says which entry and why."""


class TokenKey(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    secret: str

    def __repr__(self) -> str:  # a secret never reaches a log through a repr
        return f"TokenKey(kid={self.kid!r})"


class TokenKeys(msgspec.Struct, frozen=True):
    """The first key signs new tokens; every key verifies the tokens it signed."""

    keys: tuple[TokenKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise TokenKeyError("the token key ring needs at least one key")
        kids = [key.kid for key in self.keys]
        if len(set(kids)) != len(kids):
            raise TokenKeyError("each token key id may appear only once")
        for key in self.keys:
            if not key.kid or not key.kid.isascii() or not key.kid.isprintable() or " " in key.kid:
                raise TokenKeyError(f"token key id {key.kid!r} must be printable ASCII, no spaces")
            if len(key.secret) < MIN_SECRET_LENGTH:
                raise TokenKeyError(
                    f"the secret of token key {key.kid!r} must be at least "
                    f"{MIN_SECRET_LENGTH} characters"
                )

    @property
    def signer(self) -> TokenKey:
        return self.keys[0]

    def secret_of(self, kid: str) -> str | None:
        """A scan, not a dict: a ring holds two or three keys, and is read on every request."""
        return next((key.secret for key in self.keys if key.kid == kid), None)

    @classmethod
    def parse(cls, text: str) -> TokenKeys:
        """`kid1:secret1,kid2:secret2`: a kid never holds a colon, a secret never a comma."""
        keys = []
        for entry in text.split(","):
            kid, colon, secret = entry.strip().partition(":")
            if not colon:
                raise TokenKeyError(f"entry {kid[:8]!r}... must be kid:secret")
            keys.append(TokenKey(kid=kid, secret=secret))
        return cls(tuple(keys))

    @classmethod
    def of_one_secret(cls, secret: str) -> TokenKeys:
        """A lone secret (as before key ids) is a ring of one; its kid is derived from it so
        every instance sharing the secret agrees, and the kid gives nothing of it away."""
        if len(secret) < MIN_SECRET_LENGTH:
            raise TokenKeyError(f"the secret must be at least {MIN_SECRET_LENGTH} characters")
        digest = hmac.new(secret.encode(), b"handinhand token key id", hashlib.sha256)
        return cls((TokenKey(kid=f"k-{digest.hexdigest()[:12]}", secret=secret),))
