"""Bearer tokens: standard JWTs (RFC 7519, HS256) carrying a role and a scope of province or
commune codes, signed by the first key of the ring and verified by any key, named by `kid`."""

from __future__ import annotations

import base64
import enum
import uuid
from datetime import datetime, timedelta

import jwt
import msgspec

from shared.communes import province_of
from shared.tokenkeys import TokenKeys
from shared.web.revocations import Revocations

ISSUER = "handinhand"
ALGORITHM = "HS256"
# Clocks of the instances drift a little; a token is not refused for seconds of drift.
LEEWAY = timedelta(seconds=30)
_REQUIRED = ["iss", "sub", "iat", "nbf", "exp", "jti", "role"]


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"
    # Another HandInHand service asking for what only services may have (people's data keys,
    # shared/web/person_keys.py); it may do nothing else.
    SERVICE = "service"


class InvalidTokenError(Exception):
    """The bearer token is missing, malformed, forged, expired or revoked (401)."""


class ForbiddenError(Exception):
    """The caller is known but may not do this (403)."""


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: subject, role, and the codes (province or commune) they may touch;
    `jti` and `exp` are those of the token they came with (empty before one is minted)."""

    sub: str
    role: Role
    scope: tuple[str, ...] = ()
    volunteer_id: str | None = None
    jti: str = ""
    exp: int = 0

    def require(self, *roles: Role) -> Caller:
        if self.role is Role.ADMIN or self.role in roles:
            return self
        raise ForbiddenError(f"role {self.role.value} may not do this")

    @property
    def everywhere(self) -> bool:
        """An admin with no scope: the whole deployment. An admin of a province (a scope) is
        held to it like a coordinator, on every service."""
        return self.role is Role.ADMIN and not self.scope

    def covers(self, commune_code: str, province_code: str | None = None) -> bool:
        """An admin of the whole deployment covers everything; anyone else the communes in
        their scope and the communes of the provinces in it."""
        if self.everywhere:
            return True
        province = province_code or province_of(commune_code)
        return commune_code in self.scope or (province is not None and province in self.scope)

    def require_commune(self, commune_code: str, province_code: str | None = None) -> None:
        if not self.covers(commune_code, province_code):
            raise ForbiddenError(f"commune {commune_code} is outside this token's scope")


class _Claims(msgspec.Struct, frozen=True, kw_only=True):
    """The claims a verified token must hold, typed: a wrong role or scope is malformed."""

    sub: str
    role: Role
    iat: int
    nbf: int
    exp: int
    jti: str
    scope: tuple[str, ...] = ()
    volunteer_id: str | None = None


def mint_token(
    keys: TokenKeys, caller: Caller, now: datetime, ttl: timedelta, *, jti: str | None = None
) -> str:
    """A signed token for `caller`, valid from `now` for `ttl`; `jti` is a fresh UUID unless
    the issuer recorded one first (the console's integration tokens, so it can revoke them)."""
    issued = int(now.timestamp())
    claims = {
        "iss": ISSUER,
        "sub": caller.sub,
        "iat": issued,
        "nbf": issued,
        "exp": int((now + ttl).timestamp()),
        "jti": jti or str(uuid.uuid4()),
        "role": caller.role.value,
        "scope": list(caller.scope),
        "volunteer_id": caller.volunteer_id,
    }
    signer = keys.signer
    return jwt.encode(claims, signer.secret, algorithm=ALGORITHM, headers={"kid": signer.kid})


def read_token(keys: TokenKeys, revocations: Revocations, token: str, now: datetime) -> Caller:
    secret = keys.secret_of(_kid_of(token))
    if secret is None:
        raise InvalidTokenError("bearer token is signed with an unknown key")
    try:
        # Times are checked below against the injected clock, not PyJWT's wall clock.
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],  # pinned: no "none", no algorithm chosen by the token
            issuer=ISSUER,
            options={
                "require": _REQUIRED,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise InvalidTokenError("bearer token signature does not match") from None
    except jwt.PyJWTError:
        raise InvalidTokenError("malformed bearer token") from None
    try:
        claims = msgspec.convert(payload, _Claims)
    except msgspec.ValidationError:
        raise InvalidTokenError("malformed bearer token") from None
    instant, leeway = now.timestamp(), LEEWAY.total_seconds()
    if claims.exp <= instant - leeway:
        raise InvalidTokenError("bearer token has expired")
    if claims.nbf > instant + leeway:
        raise InvalidTokenError("bearer token is not valid yet")
    if revocations.is_revoked(claims.jti):
        raise InvalidTokenError("bearer token has been revoked")
    return Caller(
        sub=claims.sub,
        role=claims.role,
        scope=claims.scope,
        volunteer_id=claims.volunteer_id,
        jti=claims.jti,
        exp=claims.exp,
    )


class _Header(msgspec.Struct, frozen=True):
    kid: str = ""


_HEADER = msgspec.json.Decoder(_Header)


def _kid_of(token: str) -> str:
    """The `kid` of the header, read only to pick the key: PyJWT then checks the header whole.
    Read here because PyJWT's own unverified read costs as much again as the verification."""
    try:
        segment = token.partition(".")[0]
        return _HEADER.decode(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))).kid
    except (ValueError, msgspec.DecodeError):
        return ""


def optional_caller(
    keys: TokenKeys, revocations: Revocations, header: str | None, now: datetime
) -> Caller | None:
    """The caller when a bearer token is sent (a wrong token is still a 401), else None."""
    return caller_from_header(keys, revocations, header, now) if header else None


def caller_from_header(
    keys: TokenKeys, revocations: Revocations, header: str | None, now: datetime
) -> Caller:
    if not header:
        raise InvalidTokenError("this endpoint needs a bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidTokenError("Authorization must be 'Bearer <token>'")
    return read_token(keys, revocations, token.strip(), now)
