"""A person's own copy, the notifications' part: the recipient record, every SMS to and from
the number with its text, the reminders planned for their booking; nothing for a number it
does not know, `erased` once it forgot the resident; only a service may ask."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client

from shared.clock import FixedClock
from shared.events.scheduler import Actor, HelpRequestId, ResidentErasureRequested
from shared.events.vocabulary import Language
from shared.ids import uuid7
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.notifications.test_session_messages import proposed
from tests.api.notifications.test_webhooks import sms
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


@pytest.fixture
async def scheduler(nc: Client) -> Publisher:
    return Publisher(nc, "scheduler")


@pytest.fixture
async def volunteers(nc: Client) -> Publisher:
    return Publisher(nc, "volunteers")


async def copy_of(service: Service, **person: Any) -> dict[str, Any]:
    answer = await service.client.post(
        "/v1/subject-access", json=person, headers=token(Role.SERVICE)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found: dict[str, Any] = answer.json()
    return found


async def test_a_resident_gets_their_sms_both_ways_and_their_reminders_opened(
    settings: Settings, scheduler: Publisher
) -> None:
    booking = booked(SATURDAY_8AM)
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(booking.session_id, booking)

        async def copy() -> dict[str, Any]:
            found: dict[str, Any] = (await copy_of(service, phone=RESIDENT_PHONE))["data"]
            return found

        await eventually(copy, lambda found: len(found["sms_sent"]) >= 1)
        assert (await service.inbound(sms("SM-hello", "Xin chào, tôi đến muộn"))).status_code == 200
        assert (await service.inbound(sms("SM-stop", "STOP"))).status_code == 200
        await eventually(copy, lambda found: bool((found["recipient"] or {}).get("opted_out")))
        given = await copy_of(
            service, phone="0912 345 678", reminders_of=[booking.booking_id, "booking-other"]
        )
        nobody = await copy_of(service, phone="+84912000777")

    assert (given["service"], given["status"]) == ("notifications", "held")
    data = given["data"]
    assert data["recipient"]["opted_out"] is True
    sent = {m["kind"]: m for m in data["sms_sent"]}
    assert "resident_booked" in sent
    assert sent["resident_booked"]["text"]  # opened, not sealed
    assert not sent["resident_booked"]["text"].startswith("hih-sealed")
    assert [r["text"] for r in data["sms_received"]] == ["Xin chào, tôi đến muộn", "STOP"]
    [reminder] = data["reminders"]
    assert reminder["target_id"] == booking.booking_id
    assert len(reminder["due_at"]) == 2
    assert data["replies_awaited"] == []
    assert nobody["status"] == "nothing_held"
    assert nobody["data"] == {
        "recipient": None,
        "sms_sent": [],
        "sms_received": [],
        "reminders": [],
        "replies_awaited": [],
    }


async def test_a_volunteer_gets_the_proposals_awaiting_their_reply(
    settings: Settings, volunteers: Publisher
) -> None:
    proposal = proposed(f"session-{uuid7()}")
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await volunteers.publish(f"staffing-{uuid7()}", proposal)
        copy = await eventually(
            lambda: copy_of(service, phone=VOLUNTEER_PHONE, reminders_of=[proposal.assignment_id]),
            lambda found: bool(found["data"]["replies_awaited"] and found["data"]["sms_sent"]),
        )

    [awaited] = copy["data"]["replies_awaited"]
    assert (awaited["assignment_id"], awaited["short_code"]) == (proposal.assignment_id, "4821")
    assert copy["data"]["sms_sent"][0]["kind"] == "assignment_proposed"


async def test_a_forgotten_resident_is_said_erased_and_nothing_else(
    settings: Settings, scheduler: Publisher
) -> None:
    request_id = f"request-{uuid7()}"
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        await scheduler.publish(f"session-{uuid7()}", booked(SATURDAY_8AM))
        asked = ResidentErasureRequested(
            request_id=HelpRequestId(request_id),
            commune_code=COMMUNE,
            phone=RESIDENT_PHONE,
            preferred_language=Language.VI,
            requested_by=Actor.COORDINATOR,
            requested_at=WEDNESDAY_10AM,
        )
        await scheduler.publish(request_id, asked)
        await eventually(
            lambda: service.events("resident.forgotten"), lambda found: len(found) == 1
        )
        copy = await copy_of(service, request_id=request_id, phone=RESIDENT_PHONE)
        refused = {
            role: (
                await service.client.post(
                    "/v1/subject-access", json={"phone": RESIDENT_PHONE}, headers=token(role)
                )
            ).status_code
            for role in (Role.ADMIN, Role.COORDINATOR)
        }
        anonymous = await service.client.post("/v1/subject-access", json={"phone": RESIDENT_PHONE})

    assert copy["status"] == "erased"
    assert RESIDENT_PHONE not in str(copy)
    assert refused == {Role.ADMIN: 403, Role.COORDINATOR: 403}
    assert anonymous.status_code == 401


async def test_a_copy_notice_is_one_sms_however_often_asked_and_only_by_a_service(
    settings: Settings,
) -> None:
    body = {"copy_id": str(uuid7()), "phone": "0912 345 678", "given_at": "2025-12-03T03:00:00Z"}
    async with notifications(settings, clock=FixedClock(WEDNESDAY_10AM)) as service:
        first = await service.client.post(
            "/v1/copy-notices", json=body, headers=token(Role.SERVICE)
        )
        again = await service.client.post(
            "/v1/copy-notices", json=body, headers=token(Role.SERVICE)
        )
        admin = await service.client.post("/v1/copy-notices", json=body, headers=token(Role.ADMIN))
        wrong = await service.client.post(
            "/v1/copy-notices", json=body | {"phone": "12"}, headers=token(Role.SERVICE)
        )
        sent = await eventually(
            lambda: copy_of(service, phone=RESIDENT_PHONE),
            lambda found: any(m["status"] == "sent" for m in found["data"]["sms_sent"]),
        )

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["message_id"] is not None
    assert again.json() == {"message_id": None}
    assert (admin.status_code, wrong.status_code) == (403, 422)
    [notice] = sent["data"]["sms_sent"]
    assert notice["kind"] == "copy_given"
    assert notice["text"] == (
        "HandInHand: Theo yêu cầu, bản sao dữ liệu cá nhân của bạn đã được giao cho cán bộ "
        "điều phối lúc Thứ Tư 03/12, 10:00."
    )
