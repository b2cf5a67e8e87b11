"""Bearer tokens: minted by `handinhand token`, checked on every write endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.web.auth import (
    Caller,
    ForbiddenError,
    InvalidTokenError,
    Role,
    caller_from_header,
    mint_token,
    read_token,
)

SECRET = "s" * 40
NOW = datetime(2026, 12, 1, tzinfo=UTC)
COORDINATOR = Caller(sub="lan", role=Role.COORDINATOR, scope=("15835",))


def test_a_minted_token_reads_back_as_the_same_caller() -> None:
    token = mint_token(SECRET, COORDINATOR, NOW, timedelta(hours=1))

    caller = read_token(SECRET, token, NOW + timedelta(minutes=59))

    assert (caller.sub, caller.role, caller.scope) == ("lan", Role.COORDINATOR, ("15835",))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("garbage", "malformed"),
        ("hih1.e30.AAAA", "signature"),
        ("", "malformed"),
    ],
)
def test_rejects_malformed_or_forged_tokens(token: str, message: str) -> None:
    with pytest.raises(InvalidTokenError, match=message):
        read_token(SECRET, token, NOW)


def test_rejects_a_token_signed_with_another_secret() -> None:
    token = mint_token("t" * 40, COORDINATOR, NOW, timedelta(hours=1))
    with pytest.raises(InvalidTokenError, match="signature"):
        read_token(SECRET, token, NOW)


def test_rejects_an_expired_token() -> None:
    token = mint_token(SECRET, COORDINATOR, NOW, timedelta(hours=1))
    with pytest.raises(InvalidTokenError, match="expired"):
        read_token(SECRET, token, NOW + timedelta(hours=2))


def test_the_header_must_be_a_bearer_token() -> None:
    with pytest.raises(InvalidTokenError, match="needs a bearer token"):
        caller_from_header(SECRET, None, NOW)
    with pytest.raises(InvalidTokenError, match="Bearer"):
        caller_from_header(SECRET, "Basic abc", NOW)


def test_a_coordinator_touches_only_communes_in_scope() -> None:
    COORDINATOR.require_commune("15835")
    with pytest.raises(ForbiddenError, match="outside"):
        COORDINATOR.require_commune("15772")


def test_a_province_scope_covers_its_communes() -> None:
    provincial = Caller(sub="tinh", role=Role.COORDINATOR, scope=("38",))
    assert provincial.covers("15772", "38")
    assert not provincial.covers("15772", "40")


def test_roles_gate_actions_and_admins_pass_every_gate() -> None:
    volunteer = Caller(sub="v", role=Role.VOLUNTEER)
    with pytest.raises(ForbiddenError):
        volunteer.require(Role.COORDINATOR)
    Caller(sub="a", role=Role.ADMIN).require(Role.COORDINATOR)
    assert Caller(sub="a", role=Role.ADMIN).covers("99999")
