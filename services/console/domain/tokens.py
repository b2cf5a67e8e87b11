"""API tokens for integrations: which an admin may issue and revoke; commands in, events out.

A token's text is minted by the handler (shared.web.auth.mint_token) after the decision, and
kept nowhere: the events hold its `jti`, role, scope and expiry only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.console.domain.accounts import checked_scope
from services.console.domain.communes import covers, province_of
from services.console.domain.errors import (
    AlreadyRevokedError,
    InvalidAccountError,
    InvalidApiTokenError,
    TokenExpiredError,
    TokenOutOfReachError,
)
from shared.events.base import Event
from shared.events.console import AccountRole, ApiTokenIssued, ApiTokenRevoked, TokenId

MIN_DAYS, MAX_DAYS = 1, 365
MAX_LABEL = 100
MAX_REASON = 200
# Roles a token may carry: a volunteer signs in to the console, an integration never is one.
TOKEN_ROLES = (AccountRole.COORDINATOR, AccountRole.ADMIN)


def token_stream(jti: TokenId) -> str:
    """One stream per token, so two revocations of it meet on its version."""
    return f"apitoken-{jti}"


@dataclass(frozen=True)
class ApiTokenState:
    """A token as its events leave it; `issued` is false for one minted on the command line
    (the console knows it only by the revocation it was pasted for)."""

    jti: TokenId
    expires_at: datetime
    role: AccountRole = AccountRole.COORDINATOR
    scope: tuple[str, ...] = ()
    issued: bool = False
    revoked: bool = False


@dataclass(frozen=True)
class IssueApiToken:
    jti: TokenId
    label: str
    role: AccountRole
    scope: tuple[str, ...]
    lifetime_days: int
    issued_by: str
    # The issuing admin's own scope (empty: the whole deployment).
    issuer_scope: tuple[str, ...]


@dataclass(frozen=True)
class RevokeApiToken:
    jti: TokenId
    # The token's own exp, role and scope: from a pasted token (for one the console issued,
    # its own events say).
    expires_at: datetime
    role: AccountRole
    scope: tuple[str, ...]
    revoked_by: str
    revoker_scope: tuple[str, ...]
    reason: str = ""


def within(admin_scope: tuple[str, ...], token_scope: tuple[str, ...]) -> bool:
    """Whether an admin reaches a token: an admin of everything reaches all; one with a scope
    reaches a token (coordinator or admin) whose codes are all in it. Every service holds an
    admin token with a scope to that scope (shared.web.auth.Caller.covers); one without a
    scope is the whole deployment's, so only an admin of everything reaches it."""
    if not admin_scope:
        return True
    return bool(token_scope) and all(covers(admin_scope, code) for code in token_scope)


def official_scope(scope: tuple[str, ...]) -> tuple[str, ...]:
    """Province codes and official commune or ward codes, each once, in the order given."""
    try:
        codes = checked_scope(scope)
    except InvalidAccountError as error:
        raise InvalidApiTokenError(error.message, field="scope") from error
    if any(len(code) == 5 and province_of(code) is None for code in codes):
        raise InvalidApiTokenError("a code is not an official commune or ward", field="scope")
    return codes


def expiry(now: datetime, lifetime_days: int) -> datetime:
    """Whole seconds, as a JWT's `exp` is: the event's expiry is the token's to the second."""
    return (now + timedelta(days=lifetime_days)).replace(microsecond=0)


def decide_issue(state: ApiTokenState | None, command: IssueApiToken, now: datetime) -> list[Event]:
    """A label to find it by, a coordinator or admin role, a scope within the issuer's own (a
    coordinator's never empty), and 1 to 365 days: a forgotten token dies within a year."""
    if state is not None:
        raise InvalidApiTokenError("this token id is taken", field="jti")
    label = command.label.strip()
    if not label or len(label) > MAX_LABEL:
        raise InvalidApiTokenError(f"a label of 1 to {MAX_LABEL} characters", field="label")
    if command.role not in TOKEN_ROLES:
        raise InvalidApiTokenError("a token is for a coordinator or an admin", field="role")
    scope = official_scope(command.scope)
    if command.role is AccountRole.COORDINATOR and not scope:
        raise InvalidApiTokenError("a coordinator's token covers at least one code", field="scope")
    if not within(command.issuer_scope, scope):
        raise TokenOutOfReachError("the token would cover more than your own scope")
    if not MIN_DAYS <= command.lifetime_days <= MAX_DAYS:
        raise InvalidApiTokenError(
            f"a lifetime of {MIN_DAYS} to {MAX_DAYS} days", field="lifetime_days"
        )
    return [
        ApiTokenIssued(
            jti=command.jti,
            role=command.role,
            scope=scope,
            label=label,
            issued_by=command.issued_by,
            issued_at=now,
            expires_at=expiry(now, command.lifetime_days),
        )
    ]


def decide_revoke(
    state: ApiTokenState | None, command: RevokeApiToken, now: datetime
) -> list[Event]:
    """Once per token, while it could still open something, by an admin who reaches it."""
    if state is not None and state.revoked:
        raise AlreadyRevokedError("the token is revoked already")
    known = state is not None and state.issued
    expires_at = state.expires_at if state is not None and known else command.expires_at
    scope = state.scope if state is not None and known else command.scope
    if expires_at <= now:
        raise TokenExpiredError("the token has expired already")
    if not within(command.revoker_scope, scope):
        raise TokenOutOfReachError("the token covers more than your own scope")
    return [
        ApiTokenRevoked(
            jti=command.jti,
            expires_at=expires_at,
            revoked_by=command.revoked_by,
            reason=command.reason.strip()[:MAX_REASON],
            revoked_at=now,
        )
    ]


def evolve_token(state: ApiTokenState | None, event: Event) -> ApiTokenState | None:
    match event:
        case ApiTokenIssued():
            return ApiTokenState(
                jti=event.jti,
                expires_at=event.expires_at,
                role=event.role,
                scope=event.scope,
                issued=True,
            )
        case ApiTokenRevoked() if state is None:
            return ApiTokenState(jti=event.jti, expires_at=event.expires_at, revoked=True)
        case ApiTokenRevoked() if state is not None:
            return replace(state, revoked=True)
    return state
