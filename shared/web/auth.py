"""Bearer tokens with a role and a scope of province or commune codes (HMAC-SHA256 signed)."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from datetime import datetime, timedelta

import msgspec


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"


class InvalidTokenError(Exception):
    """The bearer token is missing, malformed, forged or expired (401)."""


class ForbiddenError(Exception):
    """The caller is known but may not do this (403)."""


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: subject, role, and the codes (province or commune) they may touch."""

    sub: str
    role: Role
    scope: tuple[str, ...] = ()
    volunteer_id: str | None = None
    exp: int = 0

    def require(self, *roles: Role) -> Caller:
        if self.role is Role.ADMIN or self.role in roles:
            return self
        raise ForbiddenError(f"role {self.role.value} may not do this")

    def covers(self, commune_code: str, province_code: str | None = None) -> bool:
        """Admins cover everything; others only the communes or provinces in their scope."""
        if self.role is Role.ADMIN:
            return True
        return commune_code in self.scope or (
            province_code is not None and province_code in self.scope
        )

    def require_commune(self, commune_code: str, province_code: str | None = None) -> None:
        if not self.covers(commune_code, province_code):
            raise ForbiddenError(f"commune {commune_code} is outside this token's scope")


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Caller)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_token(secret: str, caller: Caller, now: datetime, ttl: timedelta) -> str:
    body = msgspec.structs.replace(caller, exp=int((now + ttl).timestamp()))
    payload = _b64(_ENCODER.encode(body))
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"hih1.{payload}.{signature}"


def read_token(secret: str, token: str, now: datetime) -> Caller:
    try:
        prefix, payload, signature = token.split(".")
    except ValueError:
        raise InvalidTokenError("malformed bearer token") from None
    expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    if prefix != "hih1" or not hmac.compare_digest(signature, expected):
        raise InvalidTokenError("bearer token signature does not match")
    try:
        caller = _DECODER.decode(_unb64(payload))
    except (msgspec.DecodeError, ValueError):
        raise InvalidTokenError("malformed bearer token") from None
    if caller.exp < now.timestamp():
        raise InvalidTokenError("bearer token has expired")
    return caller


def optional_caller(secret: str, header: str | None, now: datetime) -> Caller | None:
    """The caller when a bearer token is sent (a wrong token is still a 401), else None."""
    return caller_from_header(secret, header, now) if header else None


def caller_from_header(secret: str, header: str | None, now: datetime) -> Caller:
    if not header:
        raise InvalidTokenError("this endpoint needs a bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidTokenError("Authorization must be 'Bearer <token>'")
    return read_token(secret, token.strip(), now)
