"""A session's page lists the SMS about it: its residents' and volunteers', phones masked, with
delivery status, for the coordinators of its commune or province only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.aio.client import Client

from shared.clock import FixedClock
from shared.events.scheduler import AffectedBooking, CoordinatorId, SessionCancelled
from shared.events.vocabulary import Language, Topic
from shared.events.volunteers import (
    AssignmentId,
    AssignmentProposed,
    SlotId,
    SlotKind,
    VolunteerId,
)
from shared.ids import uuid7
from shared.settings import Settings
from shared.web.auth import Role
from tests.integration.notifications.harness import (
    COMMUNE,
    RESIDENT_PHONE,
    VOLUNTEER_PHONE,
    Publisher,
    Service,
    booked,
    notifications,
)
from tests.support.services import token
from tests.support.waiting import eventually

SATURDAY_8AM = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)
WEDNESDAY_10AM = datetime(2025, 12, 3, 3, 0, tzinfo=UTC)
OTHER_PHONE = "+84912000111"


@pytest.fixture
async def scheduler(nc: Client) -> Publisher:
    return Publisher(nc, "scheduler")


@pytest.fixture
async def volunteers(nc: Client) -> Publisher:
    return Publisher(nc, "volunteers")


def proposed(session_id: str) -> AssignmentProposed:
    return AssignmentProposed(
        assignment_id=AssignmentId(f"assignment-{uuid7()}"),
        slot_id=SlotId(session_id),
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
        topics=(Topic.VNEID_ACTIVATION,),
    )


async def session_sms(
    service: Service, session_id: str, count: int, *, delivered: int = 0
) -> list[dict[str, Any]]:
    """The session's SMS once `count` of them were sent (`delivered` of those delivered)."""

    async def read() -> list[dict[str, Any]]:
        answer = await service.client.get(
            f"/sessions/{session_id}/messages", headers=token(Role.COORDINATOR, (COMMUNE,))
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    return await eventually(
        read,
        lambda found: (
            len(found) == count
            and all(m["status"] in {"sent", "delivered"} for m in found)
            and sum(m["status"] == "delivered" for m in found) == delivered
        ),
    )


async def test_a_session_lists_its_residents_and_volunteers_sms_with_phones_masked(
    settings: Settings, scheduler: Publisher, volunteers: Publisher
) -> None:
    session_id = f"session-{uuid7()}"
    other_session = f"session-{uuid7()}"
    booking = booked(SATURDAY_8AM, session_id=session_id)
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(session_id, booking)
        await scheduler.publish(
            other_session, booked(SATURDAY_8AM, phone=OTHER_PHONE, session_id=other_session)
        )
        await volunteers.publish(f"staffing-{uuid7()}", proposed(session_id))
        await session_sms(service, session_id, 2)
        reply = {"MessageSid": "SM-yes", "From": VOLUNTEER_PHONE, "Body": "co 4821"}
        assert (await service.inbound(reply)).status_code == 200
        await session_sms(service, session_id, 3)
        await scheduler.publish(
            session_id,
            SessionCancelled(
                session_id=booking.session_id,
                commune_code=COMMUNE,
                venue=booking.venue,
                when=booking.when,
                reason="bão",
                coordinator_id=CoordinatorId("coordinator-1"),
                affected=(
                    AffectedBooking(booking_id=booking.booking_id, resident=booking.resident),
                ),
                cancelled_at=WEDNESDAY_10AM,
            ),
        )
        await session_sms(service, session_id, 4)
        [row] = [
            r
            for r in await service.messages()
            if r.kind == "resident_booked" and r.session_id == session_id
        ]
        receipt = {"MessageSid": row.provider_message_id, "MessageStatus": "delivered"}
        assert (await service.status(receipt)).status_code == 200
        found = await session_sms(service, session_id, 4, delivered=1)
        answers = {
            scope: await service.client.get(
                f"/sessions/{session_id}/messages", headers=token(Role.COORDINATOR, scope)
            )
            for scope in [("38",), ("00004",)]
        }
        other = await session_sms(service, other_session, 1)
        as_volunteer = await service.client.get(
            f"/sessions/{session_id}/messages", headers=token(Role.VOLUNTEER, (COMMUNE,))
        )
        anonymous = await service.client.get(f"/sessions/{session_id}/messages")
        no_limit = await service.client.get(
            f"/sessions/{session_id}/messages", params={"limit": 0}, headers=token(Role.ADMIN)
        )

    assert sorted((m["audience"], m["kind"]) for m in found) == [
        ("resident", "resident_booked"),
        ("resident", "resident_cancelled"),
        ("volunteer", "assignment_proposed"),
        ("volunteer", "reply_accept_ok"),  # the answer to their "CO 4821"
    ]
    by_kind = {m["kind"]: m for m in found}
    assert by_kind["resident_booked"]["recipient_phone"] == "+84*****5678"
    assert by_kind["resident_booked"]["recipient_name"] == "Lê Thị Hoa"
    assert by_kind["assignment_proposed"]["recipient_phone"] == "+84*****4321"
    assert by_kind["resident_cancelled"]["sent_at"] is not None
    assert by_kind["resident_booked"]["status"] == "delivered"
    assert by_kind["resident_booked"]["delivered_at"] is not None
    assert [m["queued_at"] for m in found] == sorted(m["queued_at"] for m in found)
    assert RESIDENT_PHONE.removeprefix("+") not in str(found)
    assert VOLUNTEER_PHONE.removeprefix("+") not in str(found)
    assert answers[("38",)].json() == found  # the province's coordinators too
    assert answers[("00004",)].status_code == 403  # Hoàn Kiếm's do not
    assert [m["recipient_phone"] for m in other] == ["+84*****0111"]
    assert as_volunteer.status_code == 403
    assert anonymous.status_code == 401
    assert no_limit.status_code == 400
    assert no_limit.json()["field"] == "limit"
