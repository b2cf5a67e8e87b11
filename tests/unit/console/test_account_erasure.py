"""Erasing an account as rules: only once confirmed, once for good (asked again, nothing new),
and nothing of an erased account changes again, each refusal naming the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.console.domain.accounts import (
    AddAccount,
    ChangeScope,
    EraseAccount,
    PauseAccount,
    ResumeAccount,
    decide_add,
    decide_change_scope,
    decide_erase,
    decide_pause,
    decide_resume,
    evolve_account,
)
from services.console.domain.errors import (
    AccountErasedError,
    ErasureNotConfirmedError,
    UnknownAccountError,
)
from services.console.handlers import account_id_of, next_account_id
from shared.errors import DomainError
from shared.events.console import AccountErased, AccountId, AccountRole
from shared.events.fold import fold
from shared.ids import derived_id

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
ACCOUNT = AccountId("a-1")
ADDED = decide_add(
    None,
    AddAccount(
        account_id=ACCOUNT,
        role=AccountRole.COORDINATOR,
        name="Trần Thị Bình",
        phone="0912 000 002",
        scope=("15835",),
    ),
    NOW,
)


def erase(*, confirmed: bool = True) -> EraseAccount:
    return EraseAccount(account_id=ACCOUNT, confirmed=confirmed, erased_by="admin-1")


def test_a_confirmed_erasure_forgets_the_name_and_phone_and_pauses_for_good() -> None:
    state = fold(evolve_account, ADDED)
    (event,) = decide_erase(state, erase(), NOW)
    erased = fold(evolve_account, [*ADDED, event])

    assert event == AccountErased(account_id=ACCOUNT, erased_by="admin-1", erased_at=NOW)
    assert erased is not None
    assert (erased.name, erased.phone, erased.paused, erased.erased) == ("", "", True, True)


def test_a_paused_account_may_be_erased_too() -> None:
    paused = [*ADDED, *decide_pause(fold(evolve_account, ADDED), PauseAccount(ACCOUNT), NOW)]
    assert len(decide_erase(fold(evolve_account, paused), erase(), NOW)) == 1


def test_an_unconfirmed_erasure_is_refused_naming_the_confirmation_box() -> None:
    with pytest.raises(ErasureNotConfirmedError) as raised:
        decide_erase(fold(evolve_account, ADDED), erase(confirmed=False), NOW)
    assert raised.value.field == "confirm"


def test_erasing_twice_appends_nothing_the_second_time() -> None:
    events = [*ADDED, *decide_erase(fold(evolve_account, ADDED), erase(), NOW)]
    assert decide_erase(fold(evolve_account, events), erase(), NOW) == []


def test_an_unknown_account_cannot_be_erased() -> None:
    with pytest.raises(UnknownAccountError):
        decide_erase(None, erase(), NOW)


@pytest.mark.parametrize(
    "decide",
    [
        lambda state: decide_resume(state, ResumeAccount(ACCOUNT), NOW),
        lambda state: decide_pause(state, PauseAccount(ACCOUNT), NOW),
        lambda state: decide_change_scope(state, ChangeScope(ACCOUNT, ("38",)), NOW),
    ],
    ids=["resume", "pause", "change scope"],
)
def test_an_erased_account_cannot_be_resumed_paused_or_changed(decide: object) -> None:
    events = [*ADDED, *decide_erase(fold(evolve_account, ADDED), erase(), NOW)]
    with pytest.raises(AccountErasedError) as raised:
        decide(fold(evolve_account, events))  # type: ignore[operator]
    assert isinstance(raised.value, DomainError)
    assert raised.value.field == "account_id"


def test_an_account_id_follows_from_the_phone_only_with_the_console_key() -> None:
    key, other = "k" * 40, "o" * 40
    same = account_id_of("0912 000 002", key=key)

    assert same == account_id_of("+84912000002", key=key)  # one phone, one account
    assert same != account_id_of("+84912000002", key=other)
    assert same != str(derived_id("account", "+84912000002"))  # not walked back without it
    assert uuid.UUID(same).version == 8


def test_the_account_after_an_erased_one_has_an_id_of_its_own_found_again_the_same_way() -> None:
    first = account_id_of("0912 000 002", key="k" * 40)
    assert next_account_id(first) not in (first, next_account_id(next_account_id(first)))
    assert next_account_id(first) == next_account_id(first)
