from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.domain.booking import (
    CancelBooking,
    ChangeBooking,
    choose_session,
    decide_book_resident,
    decide_cancel_booking,
    decide_change_booking,
    decide_fill_from_waitlist,
    next_from_waitlist,
    waiting_for,
)
from services.scheduler.domain.errors import (
    BookingNotFoundError,
    DoubleBookingError,
    SessionClosedError,
    SessionFullError,
    SessionInPastError,
)
from services.scheduler.domain.requests import (
    HelpRequestState,
    RequestStatus,
    decide_request_help,
    decide_waitlist_request,
    evolve_request,
)
from services.scheduler.domain.sessions import (
    CancelSession,
    ChangeCapacity,
    SessionState,
    decide_cancel_session,
    decide_change_capacity,
)
from shared.events.fold import fold
from shared.events.scheduler import (
    BookingCancelled,
    BookingChanged,
    BookingId,
    HelpRequestId,
    ResidentBooked,
    SessionId,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Topic
from tests.unit.scheduler.builders import (
    HAC_THANH,
    HOAN_KIEM,
    NOW,
    SCOPE,
    SUNDAY,
    THIEU_HOA,
    book,
    fold_request,
    fold_session,
    request_command,
    resident,
    scheduled,
)


def waiting(n: int, *, at: datetime = NOW, **changes: object) -> HelpRequestState:
    request = resident(n, at=at, **changes)
    return fold_request(request, decide_waitlist_request(request, now=NOW))


def booking_id_for(request_id: HelpRequestId) -> BookingId:
    return BookingId(f"booking-{request_id}")


def test_books_a_resident_with_what_notifications_need_to_text_them() -> None:
    session = scheduled()
    [event] = decide_book_resident(session, resident(1), booking_id=BookingId("b1"), now=NOW)
    assert isinstance(event, ResidentBooked)
    assert event.resident.name == "Lê Thị Hoa"
    assert event.resident.phone == "+84912300001"
    assert event.resident.preferred_language == "vi"
    assert event.venue == session.venue
    assert event.when == session.when
    assert fold_session(session, [event]).free_places == 2


def test_refuses_a_booking_when_the_session_is_full() -> None:
    session = book(scheduled(capacity=1), resident(1), "b1")
    with pytest.raises(SessionFullError):
        decide_book_resident(session, resident(2), booking_id=BookingId("b2"), now=NOW)


def test_refuses_to_book_one_resident_twice_in_a_session_or_an_overlapping_slot() -> None:
    session = book(scheduled(), resident(1), "b1")
    with pytest.raises(DoubleBookingError) as error:
        decide_book_resident(
            session, resident(1, request_id="request-9"), booking_id=BookingId("b9"), now=NOW
        )
    assert error.value.field == "phone"
    other = scheduled(
        session_id=SessionId("session-2"), start_local=time(10, 0), end_local=time(12, 0)
    )
    with pytest.raises(DoubleBookingError):
        decide_book_resident(
            other, resident(1), booking_id=BookingId("b2"), now=NOW, booked=[session.when]
        )


def test_booking_the_same_booking_again_changes_nothing() -> None:
    session = book(scheduled(), resident(1), "b1")
    assert decide_book_resident(session, resident(1), booking_id=BookingId("b1"), now=NOW) == []


def test_refuses_bookings_in_sessions_that_started_or_closed() -> None:
    session = scheduled()
    with pytest.raises(SessionInPastError):
        decide_book_resident(
            session, resident(1), booking_id=BookingId("b1"), now=session.when.starts_at
        )
    [cancelled] = decide_cancel_session(
        session, CancelSession(session_id=session.session_id, reason="bão"), now=NOW, scope=SCOPE
    )
    with pytest.raises(SessionClosedError):
        decide_book_resident(
            fold_session(session, [cancelled]), resident(1), booking_id=BookingId("b1"), now=NOW
        )


def test_chooses_the_same_commune_before_an_earlier_session_elsewhere() -> None:
    elsewhere = scheduled(session_id=SessionId("session-elsewhere"), commune_code=THIEU_HOA)
    at_home = scheduled(session_id=SessionId("session-home"), local_date=SUNDAY)
    assert choose_session(resident(1), [elsewhere, at_home], now=NOW) == at_home
    assert choose_session(resident(1), [elsewhere], now=NOW) == elsewhere


def test_never_chooses_a_session_in_another_province() -> None:
    hanoi = scheduled(commune_code=HOAN_KIEM)
    assert hanoi.province_code == "01"
    assert choose_session(resident(1), [hanoi], now=NOW) is None


def test_chooses_a_session_covering_every_topic_then_a_preferred_day_then_the_earliest() -> None:
    request = resident(
        1, topics=(Topic.VNEID_ACTIVATION, Topic.CASHLESS_PAYMENT), preferred_days=(Weekend.SUNDAY,)
    )
    partial_saturday = scheduled(session_id=SessionId("s-partial"))
    full_saturday = scheduled(
        session_id=SessionId("s-sat"), topics=(Topic.VNEID_ACTIVATION, Topic.CASHLESS_PAYMENT)
    )
    full_sunday = scheduled(
        session_id=SessionId("s-sun"),
        local_date=SUNDAY,
        topics=(Topic.CASHLESS_PAYMENT, Topic.VNEID_ACTIVATION),
    )
    later_sunday = scheduled(
        session_id=SessionId("s-sun-2"),
        local_date=SUNDAY + timedelta(weeks=1),
        topics=full_sunday.topics,
    )
    candidates = [partial_saturday, full_saturday, later_sunday, full_sunday]
    assert choose_session(request, candidates, now=NOW) == full_sunday
    assert choose_session(request, [partial_saturday, full_saturday], now=NOW) == full_saturday


def test_chooses_only_sessions_offering_every_accessibility_need_and_the_language() -> None:
    blind = resident(
        1, topics=(Topic.SCREEN_READER,), accessibility_needs=(Accessibility.SCREEN_READER_HELP,)
    )
    plain = scheduled(topics=(Topic.SCREEN_READER,))
    equipped = scheduled(
        session_id=SessionId("s-eq"),
        local_date=SUNDAY,
        topics=(Topic.SCREEN_READER,),
        accessibility=(Accessibility.SCREEN_READER_HELP, Accessibility.STEP_FREE),
    )
    assert choose_session(blind, [plain, equipped], now=NOW) == equipped
    hmong = resident(2, preferred_language="hmn")
    assert choose_session(hmong, [plain], now=NOW) is None
    assert choose_session(hmong, [scheduled(languages=("vi", "hmn"))], now=NOW) is not None


def test_skips_full_past_and_topic_less_sessions() -> None:
    full = book(scheduled(capacity=1), resident(9), "b9")
    other_topic = scheduled(session_id=SessionId("s2"), topics=(Topic.BUSINESS_APPS,))
    assert choose_session(resident(1), [full, other_topic], now=NOW) is None
    assert choose_session(resident(1), [scheduled()], now=scheduled().when.starts_at) is None


def test_never_chooses_a_slot_overlapping_the_residents_other_booking() -> None:
    mine = book(scheduled(commune_code=HAC_THANH), resident(1), "b1")
    overlapping = scheduled(
        session_id=SessionId("s-overlap"), start_local=time(10, 30), end_local=time(12, 0)
    )
    assert choose_session(resident(1), [mine, overlapping], now=NOW) is None
    afternoon = scheduled(
        session_id=SessionId("s-pm"), start_local=time(14, 0), end_local=time(16, 0)
    )
    assert choose_session(resident(1), [mine, overlapping, afternoon], now=NOW) == afternoon


def test_the_waitlist_is_first_come_first_served_own_commune_first() -> None:
    session = scheduled()
    early_elsewhere = waiting(1, commune_code=THIEU_HOA, at=NOW - timedelta(days=3))
    early_here = waiting(2, at=NOW - timedelta(days=2))
    late_here = waiting(3, at=NOW - timedelta(days=1))
    assert (
        next_from_waitlist(session, [late_here, early_elsewhere, early_here], now=NOW) == early_here
    )
    assert next_from_waitlist(session, [early_elsewhere], now=NOW) == early_elsewhere
    unfit = waiting(4, topics=(Topic.BUSINESS_APPS,))
    assert next_from_waitlist(session, [unfit], now=NOW) is None
    assert next_from_waitlist(session, [resident(5)], now=NOW) is None  # not waiting


def test_a_full_sessions_waitlist_is_who_its_freed_places_would_go_to_in_turn() -> None:
    full = book(scheduled(capacity=1), resident(9), "b9")
    early_elsewhere = waiting(1, commune_code=THIEU_HOA, at=NOW - timedelta(days=3))
    late_here = waiting(3, at=NOW - timedelta(days=1))
    unfit = waiting(4, topics=(Topic.BUSINESS_APPS,))
    queue = [unfit, early_elsewhere, late_here, resident(5)]

    assert next_from_waitlist(full, queue, now=NOW) is None  # no place to give now
    assert waiting_for(full, queue, now=NOW) == (late_here, early_elsewhere)
    assert waiting_for(full, queue, now=full.when.starts_at) == ()  # it has begun


def test_a_cancelled_booking_frees_a_place_the_waitlist_takes_at_once() -> None:
    session = book(scheduled(capacity=1), resident(1), "b1")
    [cancelled] = decide_cancel_booking(
        session, CancelBooking(session_id=session.session_id, booking_id=BookingId("b1")), now=NOW
    )
    assert isinstance(cancelled, BookingCancelled)
    assert cancelled.reason == "cancelled by resident"
    freed = fold_session(session, [cancelled])
    queue = [waiting(2, at=NOW - timedelta(hours=2)), waiting(3, at=NOW - timedelta(hours=3))]
    [booked] = decide_fill_from_waitlist(freed, queue, booking_id_for=booking_id_for, now=NOW)
    assert isinstance(booked, ResidentBooked)
    assert booked.resident.request_id == "request-3"
    assert booked.from_waitlist


def test_filling_a_session_from_the_waitlist_stops_at_capacity_and_skips_a_duplicate_phone() -> (
    None
):
    session = scheduled(capacity=2)
    same_phone = waiting(1, request_id="request-1b")
    queue = [waiting(1, at=NOW - timedelta(hours=3)), same_phone, waiting(2), waiting(3)]
    events = decide_fill_from_waitlist(session, queue, booking_id_for=booking_id_for, now=NOW)
    assert [e.resident.request_id for e in events if isinstance(e, ResidentBooked)] == [
        "request-1",
        "request-2",
    ]


def test_refuses_to_cancel_an_unknown_booking_or_after_the_start() -> None:
    session = book(scheduled(), resident(1), "b1")
    with pytest.raises(BookingNotFoundError):
        decide_cancel_booking(
            session,
            CancelBooking(session_id=session.session_id, booking_id=BookingId("b9")),
            now=NOW,
        )
    with pytest.raises(SessionInPastError):
        decide_cancel_booking(
            session,
            CancelBooking(session_id=session.session_id, booking_id=BookingId("b1")),
            now=session.when.starts_at,
        )


def test_changes_a_booking_to_another_session_telling_the_resident_once() -> None:
    old = book(scheduled(), resident(1), "b1")
    new = scheduled(session_id=SessionId("session-2"), local_date=SUNDAY)
    command = ChangeBooking(
        session_id=old.session_id, booking_id=BookingId("b1"), new_session_id=new.session_id
    )
    change = decide_change_booking(old, new, command, new_booking_id=BookingId("b2"), now=NOW)
    [booked] = change.new_session
    [changed] = change.old_session
    assert isinstance(booked, ResidentBooked)
    assert booked.changed_from_booking_id == "b1"
    assert isinstance(changed, BookingChanged)
    assert (changed.new_session_id, changed.new_booking_id, changed.new_when) == (
        "session-2",
        "b2",
        new.when,
    )
    assert fold_session(old, change.old_session).bookings == ()
    filed = decide_request_help(
        request_command(request_id="request-1", phone="0912300001"), now=NOW
    )
    first = decide_book_resident(scheduled(), resident(1), booking_id=BookingId("b1"), now=NOW)
    request = fold(evolve_request, [*filed, *first, changed])
    assert request is not None
    assert (request.status, request.session_id, request.booking_id) == (
        RequestStatus.BOOKED,
        "session-2",
        "b2",
    )


def test_refuses_to_change_into_a_full_session() -> None:
    old = book(scheduled(), resident(1), "b1")
    full = book(
        scheduled(session_id=SessionId("session-2"), local_date=SUNDAY, capacity=1),
        resident(2),
        "b2",
    )
    command = ChangeBooking(
        session_id=old.session_id, booking_id=BookingId("b1"), new_session_id=full.session_id
    )
    with pytest.raises(SessionFullError) as error:
        decide_change_booking(old, full, command, new_booking_id=BookingId("b3"), now=NOW)
    assert error.value.field == "new_session_id"


def test_a_resident_moved_out_or_whose_session_is_cancelled_waits_again() -> None:
    filed = decide_request_help(
        request_command(request_id="request-1", phone="0912300001"), now=NOW
    )
    session = scheduled()
    booked = decide_book_resident(session, resident(1), booking_id=BookingId("b1"), now=NOW)
    session = fold_session(session, booked)
    moved = decide_change_capacity(
        book(session, resident(2), "b2"),
        ChangeCapacity(
            session_id=session.session_id, capacity=1, move_to_waitlist=(BookingId("b1"),)
        ),
        now=NOW,
        scope=SCOPE,
    )
    after_move = fold(evolve_request, [*filed, *booked, *moved])
    assert after_move is not None
    assert after_move.status is RequestStatus.WAITING
    cancelled = decide_cancel_session(
        session, CancelSession(session_id=session.session_id, reason="bão"), now=NOW, scope=SCOPE
    )
    after_cancel = fold(evolve_request, [*filed, *booked, *cancelled])
    assert after_cancel is not None
    assert after_cancel.status is RequestStatus.WAITING


commands = st.lists(
    st.tuples(st.sampled_from(["book", "cancel"]), st.integers(min_value=0, max_value=5)),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(min_value=1, max_value=4), steps=commands)
def test_bookings_never_exceed_capacity_nor_hold_one_phone_twice(
    capacity: int, steps: list[tuple[str, int]]
) -> None:
    session: SessionState = scheduled(capacity=capacity)
    residents = [resident(n) for n in range(6)]
    for serial, (action, who) in enumerate(steps):
        try:
            if action == "book":
                events = decide_book_resident(
                    session, residents[who], booking_id=BookingId(f"b{serial}"), now=NOW
                )
            else:
                booking = next(
                    (b for b in session.bookings if b.request_id == residents[who].request_id), None
                )
                if booking is None:
                    continue
                events = decide_cancel_booking(
                    session,
                    CancelBooking(session_id=session.session_id, booking_id=booking.booking_id),
                    now=NOW,
                )
        except (SessionFullError, DoubleBookingError):
            continue
        session = fold_session(session, events)
        phones = [b.resident.phone for b in session.bookings]
        assert len(phones) <= capacity
        assert len(set(phones)) == len(phones)


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(st.integers(min_value=6, max_value=16), min_size=1, max_size=6),
    lengths=st.lists(st.integers(min_value=1, max_value=3), min_size=6, max_size=6),
)
def test_choosing_sessions_one_after_another_never_double_books_a_slot(
    starts: list[int], lengths: list[int]
) -> None:
    sessions = [
        scheduled(
            session_id=SessionId(f"s{i}"),
            start_local=time(h, 0),
            end_local=time(h + lengths[i], 0),
            capacity=5,
        )
        for i, h in enumerate(starts)
    ]
    request = resident(1)
    chosen_slots = []
    for n in range(len(sessions) + 1):
        chosen = choose_session(request, sessions, now=NOW)
        if chosen is None:
            break
        events = decide_book_resident(chosen, request, booking_id=BookingId(f"b{n}"), now=NOW)
        sessions = [
            fold_session(s, events) if s.session_id == chosen.session_id else s for s in sessions
        ]
        chosen_slots.append(chosen.when)
    for i, a in enumerate(chosen_slots):
        for b in chosen_slots[i + 1 :]:
            assert not (a.starts_at < b.ends_at and b.starts_at < a.ends_at)
