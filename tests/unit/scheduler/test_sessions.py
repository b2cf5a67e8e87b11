from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.scheduler.domain.attendance import RecordAttendance, decide_record_attendance
from services.scheduler.domain.errors import (
    BookingNotFoundError,
    CapacityBelowBookingsError,
    InvalidSessionError,
    NotAWeekendError,
    OutOfScopeError,
    SessionAlreadyScheduledError,
    SessionClosedError,
    SessionInPastError,
    SessionNotFoundError,
)
from services.scheduler.domain.places import Place, PlaceKind
from services.scheduler.domain.sessions import (
    CancelSession,
    ChangeCapacity,
    CompleteSession,
    RescheduleSession,
    SessionStatus,
    decide_cancel_session,
    decide_change_capacity,
    decide_complete_session,
    decide_reschedule_session,
    decide_schedule_session,
    evolve_session,
    latest_bookings,
)
from shared.events.fold import fold
from shared.events.scheduler import (
    CANCEL_REASON_MAX,
    AttendanceStatus,
    BookingId,
    CommuneCode,
    OutcomeCount,
    PlaceCode,
    ResidentMovedToWaitlist,
    SessionCancelled,
    SessionCapacityChanged,
    SessionCompleted,
    SessionId,
    SessionRescheduled,
    SessionScheduled,
    Venue,
)
from shared.events.vocabulary import Outcome, Topic
from tests.unit.scheduler.builders import (
    COORDINATOR,
    HOAN_KIEM,
    NOW,
    SATURDAY,
    SCOPE,
    THIEU_TRUNG,
    book,
    fold_session,
    resident,
    schedule_command,
    scheduled,
)

SID = SessionId("session-1")


def test_schedules_a_saturday_session_with_local_and_utc_times() -> None:
    [event] = decide_schedule_session(None, schedule_command(), now=NOW, scope=SCOPE)
    assert isinstance(event, SessionScheduled)
    assert (event.commune_code, event.province_code) == ("15835", "38")
    assert event.when.local_date == SATURDAY
    assert event.when.start_local == time(8, 0)
    assert event.when.starts_at == datetime(2026, 3, 7, 1, 0, tzinfo=UTC)
    assert event.when.ends_at == datetime(2026, 3, 7, 4, 0, tzinfo=UTC)
    assert event.languages == ("vi",)
    assert event.scheduled_at == NOW


def test_refuses_a_weekday_session_unless_marked_holiday_or_makeup_day() -> None:
    monday = date(2026, 3, 9)
    with pytest.raises(NotAWeekendError) as error:
        decide_schedule_session(None, schedule_command(local_date=monday), now=NOW, scope=SCOPE)
    assert error.value.field == "local_date"
    assert "Monday" in str(error.value)
    for flag in ("public_holiday", "makeup_day"):
        command = schedule_command(local_date=monday, **{flag: True})
        assert decide_schedule_session(None, command, now=NOW, scope=SCOPE)


def test_weekend_is_judged_in_vietnam_not_utc() -> None:
    # Saturday 06:00 in Vietnam is still Friday 23:00 UTC: a weekend session all the same.
    command = schedule_command(start_local=time(6, 0), end_local=time(7, 0))
    [event] = decide_schedule_session(None, command, now=NOW, scope=SCOPE)
    assert isinstance(event, SessionScheduled)
    assert event.when.starts_at.weekday() == 4


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end_local": time(8, 0)}, "end_local"),
        ({"end_local": time(7, 0)}, "end_local"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 501}, "capacity"),
        ({"volunteers_needed": 0}, "volunteers_needed"),
        ({"topics": ()}, "topics"),
        ({"languages": ()}, "languages"),
        ({"venue": Venue(name=" ", address="x")}, "venue.name"),
        ({"venue": Venue(name="Nhà văn hóa", address="")}, "venue.address"),
    ],
)
def test_refuses_an_inconsistent_plan_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidSessionError) as error:
        decide_schedule_session(None, schedule_command(**changes), now=NOW, scope=SCOPE)
    assert error.value.field == field


def test_refuses_a_session_in_the_past() -> None:
    with pytest.raises(SessionInPastError):
        decide_schedule_session(
            None, schedule_command(local_date=date(2026, 2, 28)), now=NOW, scope=SCOPE
        )


def test_refuses_a_commune_outside_the_scope_or_unknown() -> None:
    with pytest.raises(OutOfScopeError):
        decide_schedule_session(
            None, schedule_command(commune_code=HOAN_KIEM), now=NOW, scope=SCOPE
        )
    with pytest.raises(OutOfScopeError):
        decide_schedule_session(None, schedule_command(), now=NOW, scope=["15772"])


def test_refuses_a_village_of_another_commune_when_places_are_known() -> None:
    places = {
        "T9": Place(
            code=PlaceCode("T9"),
            name="Thôn 9",
            kind=PlaceKind.VILLAGE,
            commune_code=CommuneCode("15772"),
        )
    }
    venue = Venue(name="Nhà văn hóa", address="Thôn 9", village_code=PlaceCode("T9"))
    with pytest.raises(InvalidSessionError) as error:
        decide_schedule_session(
            None, schedule_command(venue=venue), now=NOW, scope=SCOPE, places=places
        )
    assert error.value.field == "venue.village_code"


def test_refuses_to_schedule_the_same_session_twice() -> None:
    with pytest.raises(SessionAlreadyScheduledError):
        decide_schedule_session(scheduled(), schedule_command(), now=NOW, scope=SCOPE)


def test_reschedules_and_names_every_booked_resident() -> None:
    session = book(scheduled(), resident(1), "booking-1")
    command = RescheduleSession(
        session_id=SID, local_date=date(2026, 3, 8), start_local=time(14, 0), end_local=time(16, 0)
    )
    [event] = decide_reschedule_session(session, command, now=NOW, scope=SCOPE)
    assert isinstance(event, SessionRescheduled)
    assert event.previous_when == session.when
    assert event.when.starts_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert [a.booking_id for a in event.affected] == ["booking-1"]
    assert event.affected[0].resident.phone == "+84912300001"
    moved = fold_session(session, [event])
    assert moved.when == event.when
    assert len(moved.bookings) == 1


def test_refuses_a_reschedule_that_changes_nothing_or_lands_on_a_weekday() -> None:
    session = scheduled()
    same = RescheduleSession(
        session_id=SID, local_date=SATURDAY, start_local=time(8, 0), end_local=time(11, 0)
    )
    with pytest.raises(InvalidSessionError):
        decide_reschedule_session(session, same, now=NOW, scope=SCOPE)
    weekday = RescheduleSession(
        session_id=SID, local_date=date(2026, 3, 10), start_local=time(8, 0), end_local=time(11, 0)
    )
    with pytest.raises(NotAWeekendError):
        decide_reschedule_session(session, weekday, now=NOW, scope=SCOPE)


def test_refuses_commands_on_a_session_that_does_not_exist() -> None:
    with pytest.raises(SessionNotFoundError):
        decide_cancel_session(
            None, CancelSession(session_id=SID, reason="mưa bão"), now=NOW, scope=SCOPE
        )


def test_raises_capacity_freely() -> None:
    [event] = decide_change_capacity(
        scheduled(), ChangeCapacity(session_id=SID, capacity=10), now=NOW, scope=SCOPE
    )
    assert event == SessionCapacityChanged(
        session_id=SID, capacity=10, previous_capacity=3, changed_at=NOW
    )


def test_refuses_capacity_below_bookings_without_naming_who_moves() -> None:
    session = book(
        book(book(scheduled(), resident(1), "booking-1"), resident(2), "booking-2"),
        resident(3),
        "booking-3",
    )
    with pytest.raises(CapacityBelowBookingsError) as error:
        decide_change_capacity(
            session, ChangeCapacity(session_id=SID, capacity=1), now=NOW, scope=SCOPE
        )
    assert error.value.field == "move_to_waitlist"
    assert "exactly 2" in str(error.value)
    one_too_few = ChangeCapacity(
        session_id=SID, capacity=1, move_to_waitlist=(BookingId("booking-3"),)
    )
    with pytest.raises(CapacityBelowBookingsError):
        decide_change_capacity(session, one_too_few, now=NOW, scope=SCOPE)
    stranger = ChangeCapacity(
        session_id=SID, capacity=2, move_to_waitlist=(BookingId("booking-9"),)
    )
    with pytest.raises(BookingNotFoundError):
        decide_change_capacity(session, stranger, now=NOW, scope=SCOPE)


def test_moves_exactly_the_named_bookings_to_the_waitlist() -> None:
    session = book(
        book(book(scheduled(), resident(1), "booking-1"), resident(2), "booking-2"),
        resident(3),
        "booking-3",
    )
    assert latest_bookings(session, 1) == ("booking-2", "booking-3")
    command = ChangeCapacity(
        session_id=SID,
        capacity=1,
        move_to_waitlist=(BookingId("booking-1"), BookingId("booking-3")),
    )
    events = decide_change_capacity(session, command, now=NOW, scope=SCOPE)
    changed, *moved = events
    assert isinstance(changed, SessionCapacityChanged)
    assert changed.moved_booking_ids == ("booking-1", "booking-3")
    assert all(isinstance(e, ResidentMovedToWaitlist) for e in moved)
    assert [e.resident.request_id for e in moved if isinstance(e, ResidentMovedToWaitlist)] == [
        "request-1",
        "request-3",
    ]
    after = fold_session(session, events)
    assert after.capacity == 1
    assert [b.booking_id for b in after.bookings] == ["booking-2"]


def test_cancels_with_a_reason_and_names_the_booked_residents() -> None:
    session = book(scheduled(), resident(1), "booking-1")
    [event] = decide_cancel_session(
        session, CancelSession(session_id=SID, reason="  Bão số 3  "), now=NOW, scope=SCOPE
    )
    assert isinstance(event, SessionCancelled)
    assert event.reason == "Bão số 3"
    assert event.coordinator_id == COORDINATOR
    assert [a.booking_id for a in event.affected] == ["booking-1"]
    cancelled = fold_session(session, [event])
    assert cancelled.status is SessionStatus.CANCELLED
    with pytest.raises(SessionClosedError):
        decide_cancel_session(
            cancelled, CancelSession(session_id=SID, reason="again"), now=NOW, scope=SCOPE
        )


def test_refuses_to_cancel_without_a_reason() -> None:
    with pytest.raises(InvalidSessionError) as error:
        decide_cancel_session(
            scheduled(), CancelSession(session_id=SID, reason=" "), now=NOW, scope=SCOPE
        )
    assert error.value.field == "reason"


def test_refuses_a_reason_longer_than_a_cancellation_sms_can_carry() -> None:
    longest = "x" * CANCEL_REASON_MAX
    [event] = decide_cancel_session(
        scheduled(), CancelSession(session_id=SID, reason=longest), now=NOW, scope=SCOPE
    )
    assert isinstance(event, SessionCancelled)
    with pytest.raises(InvalidSessionError) as error:
        decide_cancel_session(
            scheduled(), CancelSession(session_id=SID, reason=longest + "x"), now=NOW, scope=SCOPE
        )
    assert error.value.field == "reason"


def test_completes_with_totals_of_attendance_and_outcomes() -> None:
    session = book(
        book(book(scheduled(), resident(1), "booking-1"), resident(2), "booking-2"),
        resident(3),
        "booking-3",
    )
    during = session.when.starts_at + timedelta(hours=1)
    marks = [
        RecordAttendance(
            session_id=SID,
            booking_id=BookingId("booking-1"),
            status=AttendanceStatus.ATTENDED,
            outcomes=(Outcome.VNEID_ACTIVATED, Outcome.APPLICATION_SUBMITTED),
            recorded_by="v1",
        ),
        RecordAttendance(
            session_id=SID,
            booking_id=BookingId("booking-2"),
            status=AttendanceStatus.NO_SHOW,
            recorded_by="v1",
        ),
    ]
    for mark in marks:
        session = fold_session(
            session, decide_record_attendance(session, mark, now=during, scope=SCOPE)
        )
    [event] = decide_complete_session(
        session, CompleteSession(session_id=SID, walk_ins=2), now=during, scope=SCOPE
    )
    assert isinstance(event, SessionCompleted)
    totals = event.totals
    assert (totals.booked, totals.attended, totals.no_show, totals.unrecorded, totals.walk_ins) == (
        3,
        1,
        1,
        1,
        2,
    )
    assert totals.outcomes == (
        OutcomeCount(outcome=Outcome.VNEID_ACTIVATED, count=1),
        OutcomeCount(outcome=Outcome.APPLICATION_SUBMITTED, count=1),
    )
    done = fold_session(session, [event])
    assert done.status is SessionStatus.COMPLETED
    assert done.totals == totals


def test_refuses_to_complete_before_the_session_starts() -> None:
    with pytest.raises(InvalidSessionError):
        decide_complete_session(scheduled(), CompleteSession(session_id=SID), now=NOW, scope=SCOPE)


def test_a_session_folds_from_its_stream_and_an_empty_stream_is_no_session() -> None:
    events = decide_schedule_session(
        None, schedule_command(topics=(Topic.CASHLESS_PAYMENT,)), now=NOW, scope=SCOPE
    )
    session = fold(evolve_session, events)
    assert session is not None
    assert session.commune_code == THIEU_TRUNG
    assert session.free_places == 3
    assert fold(evolve_session, []) is None
