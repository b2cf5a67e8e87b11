from __future__ import annotations

from datetime import timedelta

import pytest

from services.scheduler.domain.attendance import RecordAttendance, decide_record_attendance
from services.scheduler.domain.errors import (
    AttendanceError,
    BookingNotFoundError,
    OutOfScopeError,
)
from services.scheduler.domain.sessions import SessionState
from shared.events.scheduler import AttendanceRecorded, AttendanceStatus, BookingId
from shared.events.vocabulary import Outcome
from tests.unit.scheduler.builders import SCOPE, book, fold_session, resident, scheduled


def booked_session() -> SessionState:
    return book(scheduled(), resident(1), "b1")


def mark(status: AttendanceStatus, *outcomes: Outcome, booking: str = "b1") -> RecordAttendance:
    return RecordAttendance(
        session_id=booked_session().session_id,
        booking_id=BookingId(booking),
        status=status,
        outcomes=outcomes,
        recorded_by="volunteer-7",
    )


def test_checks_a_resident_in_on_the_morning_of_the_session() -> None:
    session = booked_session()
    early_morning = session.when.starts_at - timedelta(hours=1)
    [event] = decide_record_attendance(
        session, mark(AttendanceStatus.CHECKED_IN), now=early_morning, scope=SCOPE
    )
    assert isinstance(event, AttendanceRecorded)
    assert (event.request_id, event.commune_code, event.local_date) == (
        "request-1",
        "15835",
        session.when.local_date,
    )


def test_refuses_attendance_before_the_day_of_the_session() -> None:
    session = booked_session()
    with pytest.raises(AttendanceError):
        decide_record_attendance(
            session,
            mark(AttendanceStatus.CHECKED_IN),
            now=session.when.starts_at - timedelta(days=1),
            scope=SCOPE,
        )


def test_refuses_attended_or_no_show_before_the_session_starts() -> None:
    session = booked_session()
    for status in (AttendanceStatus.ATTENDED, AttendanceStatus.NO_SHOW):
        with pytest.raises(AttendanceError):
            decide_record_attendance(
                session,
                mark(status),
                now=session.when.starts_at - timedelta(minutes=5),
                scope=SCOPE,
            )


def test_records_outcomes_with_an_attendance_and_a_later_mark_corrects_an_earlier_one() -> None:
    session = booked_session()
    during = session.when.starts_at + timedelta(minutes=30)
    no_show = decide_record_attendance(
        session, mark(AttendanceStatus.NO_SHOW), now=during, scope=SCOPE
    )
    session = fold_session(session, no_show)
    attended = decide_record_attendance(
        session,
        mark(AttendanceStatus.ATTENDED, Outcome.VNEID_ACTIVATED, Outcome.VNEID_ACTIVATED),
        now=during,
        scope=SCOPE,
    )
    session = fold_session(session, attended)
    assert session.attendance[BookingId("b1")].outcomes == (Outcome.VNEID_ACTIVATED,)
    again = mark(AttendanceStatus.ATTENDED, Outcome.VNEID_ACTIVATED)
    assert decide_record_attendance(session, again, now=during, scope=SCOPE) == []


def test_refuses_outcomes_for_a_no_show_and_unknown_bookings_and_foreign_communes() -> None:
    session = booked_session()
    during = session.when.starts_at + timedelta(minutes=30)
    with pytest.raises(AttendanceError) as error:
        decide_record_attendance(
            session, mark(AttendanceStatus.NO_SHOW, Outcome.OTHER), now=during, scope=SCOPE
        )
    assert error.value.field == "outcomes"
    with pytest.raises(BookingNotFoundError):
        decide_record_attendance(
            session, mark(AttendanceStatus.ATTENDED, booking="b9"), now=during, scope=SCOPE
        )
    with pytest.raises(OutOfScopeError):
        decide_record_attendance(
            session, mark(AttendanceStatus.ATTENDED), now=during, scope=["15772"]
        )
