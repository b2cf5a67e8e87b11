"""Ready-made sessions and requests for the scheduler's domain tests, built through the rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

import msgspec

from services.scheduler.domain.booking import decide_book_resident
from services.scheduler.domain.requests import (
    HelpRequestState,
    RequestHelp,
    decide_request_help,
    evolve_request,
)
from services.scheduler.domain.sessions import (
    ScheduleSession,
    SessionState,
    decide_schedule_session,
    evolve_session,
)
from shared.events.base import Event
from shared.events.scheduler import (
    BookingId,
    Channel,
    CoordinatorId,
    HelpRequestId,
    SessionId,
    Venue,
)
from shared.events.vocabulary import Topic

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 in Vietnam
SATURDAY = date(2026, 3, 7)
SUNDAY = date(2026, 3, 8)
THIEU_TRUNG = "15835"
THIEU_HOA = "15772"
HAC_THANH = "14797"
HOAN_KIEM = "00070"  # Hà Nội, another province
THANH_HOA = "38"
SCOPE = (THANH_HOA,)
COORDINATOR = CoordinatorId("coordinator-1")
MORNING = (time(8, 0), time(11, 0))


def schedule_command(**changes: object) -> ScheduleSession:
    command = ScheduleSession(
        session_id=SessionId("session-1"),
        commune_code=THIEU_TRUNG,
        venue=Venue(name="Nhà văn hóa thôn 2", address="Thôn 2, xã Thiệu Trung"),
        local_date=SATURDAY,
        start_local=MORNING[0],
        end_local=MORNING[1],
        topics=(Topic.VNEID_ACTIVATION, Topic.ONLINE_PUBLIC_SERVICES),
        capacity=3,
        volunteers_needed=2,
        coordinator_id=COORDINATOR,
    )
    return msgspec.structs.replace(command, **changes)


def fold_session(state: SessionState | None, events: Iterable[Event]) -> SessionState:
    for event in events:
        state = evolve_session(state, event)
    assert state is not None
    return state


def scheduled(**changes: object) -> SessionState:
    return fold_session(
        None,
        decide_schedule_session(
            None, schedule_command(**changes), now=NOW, scope=(*SCOPE, HOAN_KIEM)
        ),
    )


def request_command(**changes: object) -> RequestHelp:
    command = RequestHelp(
        request_id=HelpRequestId("request-1"),
        resident_name="Lê Thị Hoa",
        phone="0912 345 678",
        commune_code=THIEU_TRUNG,
        topics=(Topic.VNEID_ACTIVATION,),
        channel=Channel.WEB,
        consent_given=True,
        # So a test may give any need; test_consent.py asks without it.
        sensitive_consent_given=True,
    )
    return msgspec.structs.replace(command, **changes)


def fold_request(state: HelpRequestState | None, events: Iterable[Event]) -> HelpRequestState:
    for event in events:
        state = evolve_request(state, event)
    assert state is not None
    return state


def requested(*, at: datetime = NOW, **changes: object) -> HelpRequestState:
    return fold_request(None, decide_request_help(request_command(**changes), now=at))


def book(session: SessionState, request: HelpRequestState, booking_id: str) -> SessionState:
    events = decide_book_resident(session, request, booking_id=BookingId(booking_id), now=NOW)
    return fold_session(session, events)


def resident(n: int, *, at: datetime = NOW, **changes: object) -> HelpRequestState:
    """The n-th distinct resident (own phone and request id)."""
    own: dict[str, object] = {"request_id": HelpRequestId(f"request-{n}"), "phone": f"09123{n:05d}"}
    return fold_request(None, decide_request_help(request_command(**{**own, **changes}), now=at))
