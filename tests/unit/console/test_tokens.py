"""API tokens as rules: what an admin may issue and revoke, and for how long."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.console.domain.errors import (
    AlreadyRevokedError,
    InvalidApiTokenError,
    TokenExpiredError,
    TokenOutOfReachError,
)
from services.console.domain.tokens import (
    ApiTokenState,
    IssueApiToken,
    RevokeApiToken,
    decide_issue,
    decide_revoke,
    evolve_token,
)
from shared.events.base import Event
from shared.events.console import AccountRole, ApiTokenIssued, ApiTokenRevoked, TokenId
from shared.events.fold import fold

NOW = datetime(2026, 12, 3, 5, 0, 0, 500_000, tzinfo=UTC)
JTI = TokenId("5f0e6d1c-0000-4000-8000-000000000001")
THANH_HOA, THIEU_TRUNG, HA_NOI = "38", "15835", "01"

ISSUE = IssueApiToken(
    jti=JTI,
    label=" Commune SMS gateway ",
    role=AccountRole.COORDINATOR,
    scope=(THIEU_TRUNG,),
    lifetime_days=30,
    issued_by="admin-1",
    issuer_scope=(THANH_HOA,),
)
REVOKE = RevokeApiToken(
    jti=JTI,
    expires_at=NOW + timedelta(days=1),
    role=AccountRole.COORDINATOR,
    scope=(THIEU_TRUNG,),
    revoked_by="admin-1",
    revoker_scope=(THANH_HOA,),
    reason="leaked in a chat",
)


def state_after(*events: Event) -> ApiTokenState | None:
    return fold(evolve_token, events)


def issued() -> ApiTokenIssued:
    [event] = decide_issue(None, ISSUE, NOW)
    assert isinstance(event, ApiTokenIssued)
    return event


def test_an_issued_token_expires_after_its_lifetime_in_whole_seconds_as_its_exp_does() -> None:
    event = issued()
    assert event.label == "Commune SMS gateway"
    assert event.scope == (THIEU_TRUNG,)
    assert event.expires_at == datetime(2027, 1, 2, 5, 0, 0, tzinfo=UTC)
    assert event.issued_at == NOW


@pytest.mark.parametrize("days", [0, -1, 366, 10_000])
def test_a_lifetime_outside_one_day_to_a_year_is_refused(days: int) -> None:
    with pytest.raises(InvalidApiTokenError) as refused:
        decide_issue(None, replace(ISSUE, lifetime_days=days), NOW)
    assert refused.value.field == "lifetime_days"


@pytest.mark.parametrize("days", [1, 365])
def test_one_day_and_a_year_are_both_accepted(days: int) -> None:
    assert decide_issue(None, replace(ISSUE, lifetime_days=days), NOW)


def test_a_scope_outside_the_admins_own_is_refused() -> None:
    with pytest.raises(TokenOutOfReachError) as refused:
        decide_issue(None, replace(ISSUE, scope=(HA_NOI,)), NOW)
    assert refused.value.field == "scope"


def test_an_admin_with_a_scope_may_not_issue_a_token_for_everything() -> None:
    with pytest.raises(TokenOutOfReachError):
        decide_issue(None, replace(ISSUE, role=AccountRole.ADMIN, scope=()), NOW)


def test_an_admin_with_a_scope_may_issue_an_admin_token_within_it() -> None:
    # Every service holds an admin token with a scope to that scope (Caller.covers).
    command = replace(ISSUE, role=AccountRole.ADMIN, scope=(THANH_HOA,))
    [event] = decide_issue(None, command, NOW)
    assert isinstance(event, ApiTokenIssued)
    assert event.scope == (THANH_HOA,)


def test_an_admin_of_everything_may_issue_an_admin_token_for_everything() -> None:
    command = replace(ISSUE, role=AccountRole.ADMIN, scope=(), issuer_scope=())
    [event] = decide_issue(None, command, NOW)
    assert isinstance(event, ApiTokenIssued)
    assert event.scope == ()


def test_a_province_admin_may_issue_for_the_whole_province() -> None:
    assert decide_issue(None, replace(ISSUE, scope=(THANH_HOA,)), NOW)


def test_a_coordinators_token_covers_at_least_one_code() -> None:
    with pytest.raises(InvalidApiTokenError) as refused:
        decide_issue(None, replace(ISSUE, scope=(), issuer_scope=()), NOW)
    assert refused.value.field == "scope"


@pytest.mark.parametrize("code", ["3", "99999", "abc"])
def test_a_code_that_is_no_province_or_official_commune_is_refused(code: str) -> None:
    with pytest.raises(InvalidApiTokenError) as refused:
        decide_issue(None, replace(ISSUE, scope=(code,), issuer_scope=()), NOW)
    assert refused.value.field == "scope"


def test_a_volunteer_token_is_not_issued() -> None:
    with pytest.raises(InvalidApiTokenError) as refused:
        decide_issue(None, replace(ISSUE, role=AccountRole.VOLUNTEER), NOW)
    assert refused.value.field == "role"


@pytest.mark.parametrize("label", ["", "   ", "x" * 101])
def test_a_token_needs_a_label_of_one_to_a_hundred_characters(label: str) -> None:
    with pytest.raises(InvalidApiTokenError) as refused:
        decide_issue(None, replace(ISSUE, label=label), NOW)
    assert refused.value.field == "label"


def test_a_token_id_is_issued_once() -> None:
    with pytest.raises(InvalidApiTokenError):
        decide_issue(state_after(issued()), ISSUE, NOW)


def test_revoking_an_issued_token_keeps_it_refused_until_its_own_expiry() -> None:
    token = issued()
    [event] = decide_revoke(state_after(token), REVOKE, NOW)
    assert isinstance(event, ApiTokenRevoked)
    assert event.expires_at == token.expires_at  # the console's record, not the form's
    assert event.reason == "leaked in a chat"
    assert event.revoked_by == "admin-1"


def test_revoking_twice_is_refused() -> None:
    token = issued()
    [revoked] = decide_revoke(state_after(token), REVOKE, NOW)
    with pytest.raises(AlreadyRevokedError):
        decide_revoke(state_after(token, revoked), REVOKE, NOW)


def test_a_token_from_the_command_line_is_revoked_by_its_own_jti_and_exp() -> None:
    [event] = decide_revoke(None, REVOKE, NOW)
    assert isinstance(event, ApiTokenRevoked)
    assert event.expires_at == REVOKE.expires_at
    with pytest.raises(AlreadyRevokedError):
        decide_revoke(state_after(event), REVOKE, NOW)


def test_an_expired_token_has_nothing_left_to_revoke() -> None:
    with pytest.raises(TokenExpiredError):
        decide_revoke(None, replace(REVOKE, expires_at=NOW - timedelta(seconds=1)), NOW)


def test_an_admin_may_not_revoke_a_token_beyond_their_scope() -> None:
    with pytest.raises(TokenOutOfReachError):
        decide_revoke(None, replace(REVOKE, scope=(HA_NOI,)), NOW)
    with pytest.raises(TokenOutOfReachError):  # an admin token without a scope: everything
        decide_revoke(None, replace(REVOKE, role=AccountRole.ADMIN, scope=()), NOW)
    assert decide_revoke(None, replace(REVOKE, role=AccountRole.ADMIN), NOW)  # within Thanh Hóa
    assert decide_revoke(
        None, replace(REVOKE, role=AccountRole.ADMIN, scope=(), revoker_scope=()), NOW
    )


def test_the_scope_of_an_issued_token_is_the_consoles_record_not_the_forms() -> None:
    token = issued()
    with pytest.raises(TokenOutOfReachError):
        decide_revoke(state_after(token), replace(REVOKE, revoker_scope=(HA_NOI,)), NOW)
    assert decide_revoke(state_after(token), replace(REVOKE, scope=(HA_NOI,)), NOW)
