"""Accounts as rules: who may be added, paused, resumed and rescoped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.console.domain.accounts import (
    AddAccount,
    ChangeScope,
    PauseAccount,
    ResumeAccount,
    decide_add,
    decide_change_scope,
    decide_pause,
    decide_resume,
    evolve_account,
)
from services.console.domain.communes import communes_in
from services.console.domain.errors import (
    AlreadyPausedError,
    InvalidAccountError,
    NotPausedError,
    UnknownAccountError,
)
from shared.events.console import AccountAdded, AccountId, AccountRole, AccountScopeChanged
from shared.events.fold import fold
from shared.phones import InvalidPhoneError

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
ACCOUNT = AccountId("a-1")


def add(**changes: object) -> AddAccount:
    values: dict[str, object] = {
        "account_id": ACCOUNT,
        "role": AccountRole.COORDINATOR,
        "name": " Trần Thị Bình ",
        "phone": "0912 000 002",
        "scope": ("15835",),
    } | changes
    return AddAccount(**values)  # type: ignore[arg-type]


def test_a_coordinator_is_added_with_their_phone_in_e164_and_a_trimmed_name() -> None:
    (event,) = decide_add(None, add(), NOW)
    assert isinstance(event, AccountAdded)
    assert (event.phone, event.name, event.scope) == ("+84912000002", "Trần Thị Bình", ("15835",))


def test_adding_the_same_account_again_changes_nothing() -> None:
    state = fold(evolve_account, decide_add(None, add(), NOW))
    assert decide_add(state, add(), NOW) == []


def test_a_coordinator_needs_a_scope_an_admin_does_not() -> None:
    with pytest.raises(InvalidAccountError) as raised:
        decide_add(None, add(scope=()), NOW)
    assert raised.value.field == "scope"
    assert decide_add(None, add(role=AccountRole.ADMIN, scope=()), NOW)


@pytest.mark.parametrize("code", ["1583", "abcde", "158351", ""])
def test_a_scope_holds_only_province_or_commune_codes(code: str) -> None:
    with pytest.raises(InvalidAccountError):
        decide_add(None, add(scope=(code,)), NOW)


def test_a_volunteer_account_names_its_volunteer() -> None:
    with pytest.raises(InvalidAccountError) as raised:
        decide_add(None, add(role=AccountRole.VOLUNTEER), NOW)
    assert raised.value.field == "volunteer_id"


def test_a_phone_that_is_no_vietnamese_mobile_is_refused() -> None:
    with pytest.raises(InvalidPhoneError):
        decide_add(None, add(phone="12345"), NOW)


def test_an_account_is_paused_once_and_resumed_once() -> None:
    history = decide_add(None, add(), NOW)
    history += decide_pause(fold(evolve_account, history), PauseAccount(ACCOUNT), NOW)
    paused = fold(evolve_account, history)
    assert paused is not None
    assert paused.paused
    with pytest.raises(AlreadyPausedError):
        decide_pause(paused, PauseAccount(ACCOUNT), NOW)
    history += decide_resume(paused, ResumeAccount(ACCOUNT), NOW)
    resumed = fold(evolve_account, history)
    assert resumed is not None
    assert not resumed.paused
    with pytest.raises(NotPausedError):
        decide_resume(resumed, ResumeAccount(ACCOUNT), NOW)


def test_an_unknown_account_cannot_be_paused() -> None:
    with pytest.raises(UnknownAccountError):
        decide_pause(None, PauseAccount(ACCOUNT), NOW)


def test_a_scope_change_lists_the_new_codes_once_and_the_same_scope_changes_nothing() -> None:
    state = fold(evolve_account, decide_add(None, add(), NOW))
    (event,) = decide_change_scope(state, ChangeScope(ACCOUNT, ("15835", "38", "38")), NOW)
    assert isinstance(event, AccountScopeChanged)
    assert event.scope == ("15835", "38")
    assert event.previous_scope == ("15835",)
    assert decide_change_scope(state, ChangeScope(ACCOUNT, ("15835",)), NOW) == []


def test_a_coordinator_keeps_at_least_one_code() -> None:
    state = fold(evolve_account, decide_add(None, add(), NOW))
    with pytest.raises(InvalidAccountError):
        decide_change_scope(state, ChangeScope(ACCOUNT, ()), NOW)


def test_a_province_scope_offers_every_commune_of_the_province_once() -> None:
    places = communes_in(("15835", "38"))
    assert len(places) == 166  # Thanh Hóa after the July 2025 merger
    assert places[0] == ("15835", "Xã Thiệu Trung")
    assert len({place.code for place in places}) == 166
