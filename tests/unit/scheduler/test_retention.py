"""Which residents a retention run erases: those last seen (request, sessions, home visits)
before the cutoff, not already being forgotten, longest unseen first, one batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.scheduler.domain.requests import RequestStatus
from services.scheduler.domain.retention import ResidentActivity, is_due, last_seen, residents_due
from shared.events.scheduler import CommuneCode, HelpRequestId

CUTOFF = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def resident(name: str, **facts: object) -> ResidentActivity:
    values: dict[str, object] = {
        "request_id": HelpRequestId(f"request-{name}"),
        "commune_code": CommuneCode("15835"),
        "status": RequestStatus.BOOKED,
        "requested_at": LONG_AGO,
    } | facts
    return ResidentActivity(**values)  # type: ignore[arg-type]


def test_a_resident_is_last_seen_at_the_latest_of_request_session_and_visit_day() -> None:
    session_end = datetime(2026, 2, 7, 4, 0, tzinfo=UTC)

    assert last_seen(resident("a")) == LONG_AGO
    assert last_seen(resident("b", last_session_ends_at=session_end)) == session_end
    # a home visit counts until the end of its day in Vietnam (17:00 UTC)
    assert last_seen(
        resident("c", last_session_ends_at=session_end, last_visit_on=date(2026, 2, 20))
    ) == datetime(2026, 2, 20, 17, 0, tzinfo=UTC)


def test_a_resident_who_asked_again_is_seen_at_their_new_request() -> None:
    again = resident("again", last_request_at=CUTOFF + timedelta(days=20))

    assert last_seen(again) == CUTOFF + timedelta(days=20)
    assert not is_due(again, cutoff=CUTOFF)


def test_due_once_last_seen_before_the_cutoff_never_while_a_session_is_ahead() -> None:
    assert is_due(
        resident("old", last_session_ends_at=CUTOFF - timedelta(seconds=1)), cutoff=CUTOFF
    )
    assert not is_due(resident("at", last_session_ends_at=CUTOFF), cutoff=CUTOFF)
    asked_long_ago_booked_later = resident(
        "later", last_session_ends_at=CUTOFF + timedelta(days=300)
    )
    assert not is_due(asked_long_ago_booked_later, cutoff=CUTOFF)
    visited_on_cutoff_day = resident("visit", last_visit_on=date(2026, 3, 10))
    assert not is_due(visited_on_cutoff_day, cutoff=CUTOFF)


def test_residents_being_or_already_forgotten_are_never_due_again() -> None:
    assert not is_due(resident("e", status=RequestStatus.ERASING), cutoff=CUTOFF)
    assert not is_due(resident("f", status=RequestStatus.ERASED), cutoff=CUTOFF)
    assert is_due(resident("g", status=RequestStatus.CANCELLED), cutoff=CUTOFF)
    assert is_due(resident("h", status=RequestStatus.WAITING), cutoff=CUTOFF)


def test_one_batch_longest_unseen_first() -> None:
    recent = resident("recent", last_session_ends_at=CUTOFF - timedelta(days=1))
    oldest = resident("oldest", requested_at=LONG_AGO - timedelta(days=30))
    middle = resident("middle")
    not_due = resident("not-due", requested_at=CUTOFF + timedelta(days=1))

    chosen = residents_due([recent, not_due, middle, oldest], cutoff=CUTOFF, limit=2)

    assert [r.request_id for r in chosen] == ["request-oldest", "request-middle"]
