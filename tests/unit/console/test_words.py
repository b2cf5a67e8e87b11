"""Every code the scheduler and the volunteers service can give a page reads in the reader's
language: the enums are enumerated, so a new code there fails here instead of reaching a page
raw; a code the console does not know yet is shown as it came."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

import pytest

from services.console import i18n
from services.console.pages.words import release_reason, word
from services.scheduler.domain.sessions import SessionStatus
from services.volunteers.domain.cycle import Status
from shared.events.scheduler import AttendanceStatus
from shared.events.volunteers import ReleaseReason


@contextmanager
def reading(language: str) -> Iterator[None]:
    i18n.load_catalogs()
    token = i18n._current.set(language)  # as the language middleware sets it per request
    try:
        yield
    finally:
        i18n._current.reset(token)


STATES: list[type[StrEnum]] = [SessionStatus, AttendanceStatus, Status]


@pytest.mark.parametrize("code", [c for kind in STATES for c in kind], ids=str)
def test_every_state_a_page_shows_is_worded_in_vietnamese_and_english(code: StrEnum) -> None:
    with reading("vi"):
        vietnamese = word(code.value)
    with reading("en"):
        english = word(code.value)

    assert vietnamese != code.value
    assert english != code.value
    assert vietnamese != english


@pytest.mark.parametrize("code", list(ReleaseReason), ids=str)
def test_every_reason_a_volunteer_is_released_is_worded_in_both_languages(
    code: ReleaseReason,
) -> None:
    with reading("vi"):
        vietnamese = release_reason(code.value)
    with reading("en"):
        english = release_reason(code.value)

    assert vietnamese != code.value
    assert english != code.value
    assert vietnamese != english


def test_a_cancelled_session_reads_huy_and_a_cancelled_release_says_why() -> None:
    with reading("vi"):
        assert word("cancelled") == "Đã hủy"
        assert release_reason("session_cancelled") == "buổi hỗ trợ đã bị hủy"


def test_a_code_the_console_does_not_know_is_shown_as_it_came() -> None:
    with reading("vi"):
        assert word("postponed") == "postponed"
        assert release_reason("volunteer_moved_away") == "volunteer_moved_away"
