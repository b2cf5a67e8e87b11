"""Scheduler and volunteers events, published as real CloudEvents on NATS, become SMS once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from nats.aio.client import Client

from services.notifications import consumers
from services.notifications.domain.replies import inbound_id_for
from services.notifications.tables import READ_MODELS, timers
from shared.bus.consumer import caused_by
from shared.clock import FixedClock
from shared.events.base import RecordedEvent
from shared.events.notifications import ResidentForgotten, SmsKind, SmsQueued, SmsSuppressed
from shared.events.scheduler import (
    Actor,
    AffectedBooking,
    BookingChanged,
    BookingId,
    CommuneCode,
    CoordinatorId,
    HelpRequestId,
    ResidentErasureRequested,
    SessionCancelled,
    SessionId,
    SessionRescheduled,
    StaffingAlertRaised,
    Venue,
)
from shared.events.vocabulary import Language, Topic
from shared.events.volunteers import (
    AnswerChannel,
    AssignmentAccepted,
    AssignmentId,
    AssignmentProposed,
    AssignmentReplyUnmatched,
    ReplyProblem,
    SlotId,
    SlotKind,
    VolunteerId,
)
from shared.ids import uuid7
from shared.settings import Settings
from shared.store.rebuild import rebuild_read_models
from shared.web.auth import Role
from tests.integration.notifications.harness import (
    COMMUNE,
    RESIDENT_PHONE,
    VOLUNTEER_PHONE,
    Publisher,
    Service,
    booked,
    notifications,
    replace,
    resident,
    slot,
    sms_settings,
)
from tests.support.search import in_database, needles
from tests.support.services import token
from tests.support.waiting import eventually

SATURDAY_8AM = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
WEDNESDAY_10AM = datetime(2025, 12, 3, 3, 0, tzinfo=UTC)


@pytest.fixture
async def scheduler(nc: Client) -> Publisher:
    return Publisher(nc, "scheduler")


@pytest.fixture
async def volunteers(nc: Client) -> Publisher:
    return Publisher(nc, "volunteers")


async def sent(service: Service, count: int) -> list[str]:
    async def texts() -> list[str]:
        response = await service.client.get("/console/messages", headers=token(Role.ADMIN))
        return [message["text"] for message in response.json()]

    return await eventually(texts, lambda found: len(found) >= count)


async def timer_rows(service: Service) -> list[tuple[str, datetime]]:
    async with service.store.reader.connect() as conn:
        rows = await conn.execute(sa.select(timers.c.id, timers.c.due_at).order_by(timers.c.due_at))
        return [(row.id, row.due_at) for row in rows]


async def test_a_booking_is_texted_in_the_residents_language_with_two_reminders_planned(
    settings: Settings, scheduler: Publisher
) -> None:
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        await scheduler.publish(
            f"session-{uuid7()}", booked(SATURDAY_8AM, phone="+84911111111", language=Language.EN)
        )
        texts = await sent(service, 2)
        planned = await timer_rows(service)

    assert any(
        "Bạn đã được hẹn hỗ trợ kích hoạt VNeID" in t and "Thứ Bảy 06/12, 08:00" in t for t in texts
    )
    assert any(
        "You are booked for help with VNeID activation" in t and "Sat 06/12, 08:00" in t
        for t in texts
    )
    evening_before = datetime(2025, 12, 5, 12, 0, tzinfo=UTC)  # 19:00 local
    two_hours_before = SATURDAY_8AM - timedelta(hours=2)
    assert sorted({due for _, due in planned}) == [evening_before, two_hours_before]
    assert len(planned) == 4


async def test_a_queued_booking_wakes_the_sender_at_once(
    settings: Settings, scheduler: Publisher
) -> None:
    """The sender's poll is far away: only the wake after the consumer's commit sends it."""
    sms = sms_settings(idle_wait=60.0)
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM), sms=sms) as service:
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        texts = await eventually(
            lambda: _console_texts(service), lambda found: len(found) == 1, timeout=5.0
        )

    assert "Bạn đã được hẹn" in texts[0]


async def _console_texts(service: Service) -> list[str]:
    response = await service.client.get("/console/messages", headers=token(Role.ADMIN))
    return [message["text"] for message in response.json()]


async def test_the_same_event_delivered_twice_sends_one_sms(
    settings: Settings, scheduler: Publisher
) -> None:
    event = booked(SATURDAY_8AM)
    stream = f"session-{uuid7()}"
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        event_id = await scheduler.publish(stream, event)
        await sent(service, 1)
        # The relay published it again after the dedup window: a new NATS message id.
        await scheduler.republish(stream, 1, event, event_id=event_id, msg_id=str(uuid7()))
        # A later event of the stream proves the redelivery was seen before it.
        await scheduler.publish(stream, replace(booked(SATURDAY_8AM, phone="+84922222222")))
        await sent(service, 2)
        # And the handler itself, run twice outside the inbox, still queues nothing new.
        recorded = RecordedEvent(
            event_id=event_id,
            source="scheduler",
            stream_id=stream,
            stream_version=1,
            event=event,
            recorded_at=WEDNESDAY_10AM,
            correlation_id=event_id,
        )
        (from_scheduler, _) = consumers.subscriptions_for(service.channel.settings)
        for _ in range(2):
            async with service.store.transaction() as tx:
                await from_scheduler.handler_in(tx)(recorded)
        queued = await service.events("sms.queued")

    assert len(queued) == 2
    assert caused_by(recorded).id_seed == str(event_id)


async def test_a_move_between_sessions_is_told_once(
    settings: Settings, scheduler: Publisher
) -> None:
    old = booked(SATURDAY_8AM)
    new_start = SATURDAY_8AM + timedelta(days=1)
    new_booking = BookingId(f"booking-{uuid7()}")
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(old.session_id, old)
        await sent(service, 1)
        await scheduler.publish(
            old.session_id,
            BookingChanged(
                session_id=old.session_id,
                booking_id=old.booking_id,
                resident=old.resident,
                new_session_id=SessionId(f"session-{uuid7()}"),
                new_booking_id=new_booking,
                new_venue=Venue(name="Trường tiểu học Thiệu Trung", address=""),
                new_when=slot(new_start),
                changed_by=Actor.COORDINATOR,
                changed_at=WEDNESDAY_10AM,
            ),
        )
        await scheduler.publish(
            f"session-{uuid7()}",
            booked(
                new_start,
                booking_id=new_booking,
                changed_from_booking_id=old.booking_id,
            ),
        )
        texts = await sent(service, 2)
        await eventually(
            lambda: timer_rows(service),
            lambda rows: len(rows) == 2 and all(new_booking in i for i, _ in rows),
        )
        queued = await service.events("sms.queued")

    assert len(queued) == 2
    assert "Lịch hỗ trợ của bạn đã chuyển sang Chủ Nhật 07/12, 08:00" in texts[1]


async def test_a_reschedule_moves_reminders_and_a_cancellation_drops_them(
    settings: Settings, scheduler: Publisher
) -> None:
    first = booked(SATURDAY_8AM)
    later = SATURDAY_8AM + timedelta(hours=6)
    affected = (AffectedBooking(booking_id=first.booking_id, resident=first.resident),)
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(first.session_id, first)
        await sent(service, 1)
        await scheduler.publish(
            first.session_id,
            SessionRescheduled(
                session_id=first.session_id,
                commune_code=COMMUNE,
                venue=first.venue,
                when=slot(later),
                previous_when=first.when,
                coordinator_id=CoordinatorId("coordinator-1"),
                affected=affected,
                rescheduled_at=WEDNESDAY_10AM,
            ),
        )
        texts = await sent(service, 2)
        moved = await eventually(
            lambda: timer_rows(service),
            lambda rows: later - timedelta(hours=2) in [due for _, due in rows],
        )
        await scheduler.publish(
            first.session_id,
            SessionCancelled(
                session_id=first.session_id,
                commune_code=COMMUNE,
                venue=first.venue,
                when=slot(later),
                reason="mất điện",
                coordinator_id=CoordinatorId("coordinator-1"),
                affected=affected,
                cancelled_at=WEDNESDAY_10AM,
            ),
        )
        texts = await sent(service, 3)
        dropped = await eventually(lambda: timer_rows(service), lambda rows: rows == [])

    assert "đổi từ Thứ Bảy 06/12, 08:00 sang Thứ Bảy 06/12, 14:00" in texts[1]
    assert len(moved) == 2
    assert "đã bị hủy" in texts[2]
    assert dropped == []


async def test_a_reminder_timer_fires_the_reminder(
    settings: Settings, scheduler: Publisher
) -> None:
    clock = FixedClock(WEDNESDAY_10AM)
    async with notifications(settings, clock=clock) as service:
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        await sent(service, 1)
        clock.advance(datetime(2025, 12, 5, 12, 1, tzinfo=UTC) - WEDNESDAY_10AM)
        texts = await sent(service, 2)
        left = await timer_rows(service)

    assert texts[1].startswith("Nhắc lịch: hỗ trợ kích hoạt VNeID tại Nhà văn hóa thôn 3")
    assert len(left) == 1


async def test_quiet_hours_hold_a_booking_but_not_a_same_day_cancellation(
    settings: Settings, scheduler: Publisher
) -> None:
    from tests.integration.notifications.harness import sms_settings

    late_evening = datetime(2025, 12, 5, 15, 30, tzinfo=UTC)  # 22:30 local, Friday
    clock = FixedClock(late_evening)
    quiet = sms_settings(
        quiet_start=datetime.strptime("21:00", "%H:%M").time(),  # noqa: DTZ007
        quiet_end=datetime.strptime("07:00", "%H:%M").time(),  # noqa: DTZ007
    )
    sunday = SATURDAY_8AM + timedelta(days=1)
    tomorrow_cancelled = booked(SATURDAY_8AM, phone="+84933333333")
    async with notifications(settings, clock=clock, sms=quiet) as service:
        await scheduler.publish(f"session-{uuid7()}", booked(sunday))
        await scheduler.publish(
            tomorrow_cancelled.session_id,
            SessionCancelled(
                session_id=tomorrow_cancelled.session_id,
                commune_code=COMMUNE,
                venue=tomorrow_cancelled.venue,
                when=tomorrow_cancelled.when,
                reason="bão",
                coordinator_id=CoordinatorId("coordinator-1"),
                affected=(
                    AffectedBooking(
                        booking_id=tomorrow_cancelled.booking_id,
                        resident=tomorrow_cancelled.resident,
                    ),
                ),
                cancelled_at=late_evening,
            ),
        )
        texts = await sent(service, 1)
        queued = await eventually(
            lambda: service.events("sms.queued"), lambda found: len(found) == 2
        )
        clock.advance(timedelta(hours=8, minutes=31))  # 07:01 local
        later = await sent(service, 2)

    assert "đã bị hủy" in texts[0]
    booking = next(e for e in queued if isinstance(e, SmsQueued) and not e.urgent)
    assert booking.send_after == datetime(2025, 12, 6, 0, 0, tzinfo=UTC)  # 07:00 local
    assert "Bạn đã được hẹn" in later[1]


async def test_an_opted_out_number_gets_nothing(settings: Settings, scheduler: Publisher) -> None:
    from tests.api.notifications.test_webhooks import sms

    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await service.inbound(sms("SM-stop", "STOP"))
        await sent(service, 1)
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        suppressed = await eventually(
            lambda: service.events("sms.suppressed"), lambda found: len(found) == 1
        )
        console = await sent(service, 1)

    assert isinstance(suppressed[0], SmsSuppressed)
    assert suppressed[0].recipient_phone == RESIDENT_PHONE
    assert len(console) == 1


async def test_a_proposal_is_answered_by_sms_and_the_acceptance_plans_reminders(
    settings: Settings, volunteers: Publisher
) -> None:
    from tests.api.notifications.test_webhooks import sms

    assignment = AssignmentId(f"assignment-{uuid7()}")
    slot_id = SlotId(f"session-{uuid7()}")
    staffing = f"staffing-{uuid7()}"
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await volunteers.publish(
            staffing,
            AssignmentProposed(
                assignment_id=assignment,
                slot_id=slot_id,
                slot_kind=SlotKind.SESSION,
                volunteer_id=VolunteerId("volunteer-1"),
                volunteer_name="Trần Văn Nam",
                phone=VOLUNTEER_PHONE,
                preferred_language=Language.VI,
                place="Nhà văn hóa thôn 3",
                commune_code=COMMUNE,
                starts_at=SATURDAY_8AM,
                ends_at=SATURDAY_8AM + timedelta(hours=3),
                short_code="4821",
                explanation="gần nhà, biết VNeID",
                answer_by=WEDNESDAY_10AM + timedelta(days=1),
                proposed_at=WEDNESDAY_10AM,
                skills=(),
                topics=(Topic.VNEID_ACTIVATION,),
            ),
        )
        (proposal,) = await sent(service, 1)
        await service.inbound(sms("SM-yes", "co a", VOLUNTEER_PHONE))
        replies = await eventually(
            lambda: service.events("assignment.reply_received"), lambda found: len(found) == 1
        )
        await volunteers.publish(
            staffing,
            AssignmentAccepted(
                assignment_id=assignment,
                slot_id=slot_id,
                volunteer_id=VolunteerId("volunteer-1"),
                channel=AnswerChannel.SMS,
                accepted_at=WEDNESDAY_10AM,
            ),
        )
        planned = await eventually(lambda: timer_rows(service), lambda rows: len(rows) == 2)
        texts = await sent(service, 2)

    assert "Trả lời C 4821 để nhận, K 4821 để từ chối" in proposal
    assert replies[0].assignment_id == assignment  # type: ignore[attr-defined]
    assert "Cảm ơn bạn đã nhận hỗ trợ buổi kích hoạt VNeID" in texts[1]
    assert len(texts) == 2  # no second confirmation for an answer given by SMS
    assert all(assignment in timer_id for timer_id, _ in planned)


async def test_an_unmatched_answer_asks_its_sender_which_one_by_the_number_received_here(
    settings: Settings, volunteers: Publisher
) -> None:
    """The volunteers service no longer repeats the number (it would have to keep it in clear
    for someone it may not know): notifications finds it in the SMS it received."""
    from tests.api.notifications.test_webhooks import sms

    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await service.inbound(sms("SM-which", "co", VOLUNTEER_PHONE))
        await volunteers.publish(
            f"reply-{uuid7()}",
            AssignmentReplyUnmatched(
                inbound_id=inbound_id_for("SM-which"),
                volunteer_id=VolunteerId("volunteer-1"),
                problem=ReplyProblem.SEVERAL_PENDING,
                pending_codes=("4821", "5930"),
                received_at=WEDNESDAY_10AM,
            ),
        )
        queued = await eventually(
            lambda: service.events("sms.queued"),
            lambda found: any(e.kind == SmsKind.REPLY_AMBIGUOUS for e in found),  # type: ignore[attr-defined]
        )

    (asked,) = [e for e in queued if e.kind == SmsKind.REPLY_AMBIGUOUS]  # type: ignore[attr-defined]
    assert asked.recipient_phone == VOLUNTEER_PHONE  # type: ignore[attr-defined]
    assert {"4821", "5930"} <= set(re.findall(r"\d{4}", asked.text))  # type: ignore[attr-defined]


async def test_coordinators_hear_of_understaffing(settings: Settings, scheduler: Publisher) -> None:
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        response = await service.client.put(
            "/coordinators/coordinator-7/contact",
            json={"phone": "0977 777 777", "commune_codes": [COMMUNE]},
            headers=token(Role.ADMIN),
        )
        session = SessionId(f"session-{uuid7()}")
        await scheduler.publish(
            session,
            StaffingAlertRaised(
                session_id=session,
                coordinator_id=CoordinatorId("someone-without-a-contact"),
                commune_code=COMMUNE,
                venue=Venue(name="Nhà văn hóa thôn 3", address=""),
                when=slot(SATURDAY_8AM),
                volunteers_needed=3,
                raised_at=WEDNESDAY_10AM,
            ),
        )
        (alert,) = await sent(service, 1)
        listed = await service.client.get(
            "/messages", params={"kind": "understaffing_alert"}, headers=token(Role.ADMIN)
        )

    assert response.status_code == 200
    assert "Thiếu tình nguyện viên" in alert
    assert "cần 3 người" in alert
    assert listed.json()[0]["recipient_phone"] == "+84977777777"


async def test_read_models_rebuilt_from_the_log_equal_the_live_ones(
    settings: Settings, scheduler: Publisher
) -> None:
    from tests.api.notifications.test_webhooks import sms

    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await service.client.put(
            "/coordinators/coordinator-7/contact",
            json={"phone": "0977777777", "commune_codes": [COMMUNE]},
            headers=token(Role.ADMIN),
        )
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        await service.inbound(sms("SM-stop", "HUY", "+84944444444"))
        await service.inbound(sms("SM-what", "alo", "+84955555555"))
        await sent(service, 3)
        await eventually(service.messages, lambda rows: all(r.status == "sent" for r in rows))

        async def snapshot() -> dict[str, list[tuple[object, ...]]]:
            async with service.store.reader.connect() as conn:
                return {
                    table.name: sorted(
                        (
                            tuple(str(v) for v in row)
                            for row in await conn.execute(sa.select(table))
                        ),
                    )
                    for table in READ_MODELS
                }

        live = await snapshot()
        await rebuild_read_models(service.store, READ_MODELS)
        rebuilt = await snapshot()

    assert live == rebuilt
    assert len(live["messages"]) == 3
    assert len(live["recipients"]) == 1


_ = (resident,)


def from_the_scheduler(event: object, stream_id: str, version: int = 1) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid7(),
        source="scheduler",
        stream_id=stream_id,
        stream_version=version,
        event=event,  # type: ignore[arg-type]
        recorded_at=WEDNESDAY_10AM,
        correlation_id=uuid7(),
    )


async def test_a_fetched_batch_is_written_together_in_the_order_of_its_events(
    settings: Settings,
) -> None:
    """Bookings are gathered and written just before the commit; a cancellation in the same
    batch first writes what was gathered, so it finds the booking's reminders to drop."""
    first = booked(SATURDAY_8AM)
    second = booked(SATURDAY_8AM, phone="+84911111111")
    first_booked = from_the_scheduler(first, first.session_id)
    cancelled = from_the_scheduler(
        SessionCancelled(
            session_id=first.session_id,
            commune_code=COMMUNE,
            venue=first.venue,
            when=first.when,
            reason="mất điện",
            coordinator_id=CoordinatorId("coordinator-1"),
            affected=(AffectedBooking(booking_id=first.booking_id, resident=first.resident),),
            cancelled_at=WEDNESDAY_10AM,
        ),
        first.session_id,
        2,
    )
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM), workers=False) as s:
        settings_ = s.channel.settings
        (from_scheduler, _) = consumers.subscriptions_for(settings_)
        async with s.store.transaction() as tx:
            handle = from_scheduler.handler_in(tx)  # the batch's own handler, as the consumer's
            for recorded in (
                first_booked,
                first_booked,  # a repeat within the batch adds nothing
                from_the_scheduler(second, second.session_id),
                cancelled,
                from_the_scheduler(booked(SATURDAY_8AM, phone="+84922222222"), "session-3"),
            ):
                await handle(recorded)
        messages = await s.messages()
        planned = await timer_rows(s)
        plans = await s.events("sms.reminders_planned")
        dropped = await s.events("sms.reminders_cancelled")

    kinds = sorted((row.recipient_phone, row.kind) for row in messages)
    assert kinds == sorted(
        [
            (RESIDENT_PHONE, "resident_booked"),
            (RESIDENT_PHONE, "resident_cancelled"),
            ("+84911111111", "resident_booked"),
            ("+84922222222", "resident_booked"),
        ]
    )
    assert len(plans) == 3
    assert [e.target_id for e in dropped] == [first.booking_id]  # type: ignore[attr-defined]
    assert len(planned) == 4  # two each for the bookings still standing
    assert all(first.booking_id not in timer_id for timer_id, _ in planned)


async def test_an_erased_resident_is_told_forgotten_and_their_stop_still_honoured(
    settings: Settings, scheduler: Publisher
) -> None:
    from tests.api.notifications.test_webhooks import sms

    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        await sent(service, 1)
        await service.inbound(sms("SM-stop", "STOP"))
        await sent(service, 2)
        request_id = f"request-{uuid7()}"
        asked = ResidentErasureRequested(
            request_id=HelpRequestId(request_id),
            commune_code=CommuneCode("15835"),
            phone=RESIDENT_PHONE,
            preferred_language=Language.VI,
            requested_by=Actor.COORDINATOR,
            requested_at=WEDNESDAY_10AM,
        )
        first = await scheduler.publish(request_id, asked)
        # delivered again (another message id, the same event): nothing more happens
        await scheduler.republish(request_id, 1, asked, event_id=first, msg_id=f"{first}-again")
        [forgotten] = await eventually(
            lambda: service.events("resident.forgotten"), lambda found: len(found) == 1
        )
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))  # asks again
        suppressed = await eventually(
            lambda: service.events("sms.suppressed"), lambda found: len(found) == 2
        )
        left = await in_database(settings.database("notifications"), needles(RESIDENT_PHONE))

    assert isinstance(forgotten, ResidentForgotten)
    assert forgotten.recipient_id is not None
    assert forgotten.opted_out_hash is not None
    assert len(forgotten.message_ids) >= 3  # booked, STOP confirmed, erased (suppressed)
    seen = {e.kind: e.recipient_phone for e in suppressed if isinstance(e, SmsSuppressed)}
    # what was sealed for the number before the erasure no longer opens; the new booking's
    # SMS, sealed for whoever has the number now, does (and only its row names the number)
    assert seen == {SmsKind.RESIDENT_ERASED: "", SmsKind.RESIDENT_BOOKED: RESIDENT_PHONE}
    assert left == ["messages.recipient_phone"]


async def test_a_resident_erased_by_the_retention_run_is_forgotten_without_an_sms(
    settings: Settings, scheduler: Publisher
) -> None:
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        await sent(service, 1)
        request_id = f"request-{uuid7()}"
        asked = ResidentErasureRequested(
            request_id=HelpRequestId(request_id),
            commune_code=CommuneCode("15835"),
            phone=RESIDENT_PHONE,
            preferred_language=Language.VI,
            requested_by=Actor.SYSTEM,  # a year unseen: the number may be someone else's now
            requested_at=WEDNESDAY_10AM,
        )
        await scheduler.publish(request_id, asked)
        [forgotten] = await eventually(
            lambda: service.events("resident.forgotten"), lambda found: len(found) == 1
        )
        kinds = [row.kind for row in await service.messages()]

    assert isinstance(forgotten, ResidentForgotten)
    assert len(forgotten.message_ids) == 1
    assert kinds == [SmsKind.RESIDENT_BOOKED.value]
