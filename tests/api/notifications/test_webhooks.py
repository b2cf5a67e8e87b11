"""Provider webhooks: signed or refused, once per MessageSid, every inbound SMS answered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa

from services.notifications.providers.signatures import twilio_signature
from shared.events.notifications import (
    AssignmentAnswer,
    AssignmentReplyReceived,
    HelpRequestedBySms,
    SmsReceived,
)
from shared.events.vocabulary import Topic
from shared.settings import Settings
from shared.web.auth import Role
from tests.integration.notifications.harness import (
    PUBLIC_URL,
    RESIDENT_PHONE,
    VOLUNTEER_PHONE,
    WEBHOOK_TOKEN,
    Service,
    notifications,
    sms_settings,
)
from tests.support.services import token
from tests.support.waiting import eventually


def sms(sid: str, body: str, sender: str = RESIDENT_PHONE) -> dict[str, str]:
    return {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body}


async def console_texts(service: Service) -> list[str]:
    response = await service.client.get("/console/messages", headers=token(Role.ADMIN))
    return [message["text"] for message in response.json()]


async def test_unsigned_or_wrongly_signed_webhooks_are_refused_and_change_nothing(
    settings: Settings,
) -> None:
    async with notifications(settings) as service:
        unsigned = await service.inbound(sms("SM1", "HUY"), signature=None)
        forged = await service.inbound(sms("SM1", "HUY"), signature="bm90IGEgc2lnbmF0dXJl")
        status = await service.status(
            {"MessageSid": "SM1", "MessageStatus": "delivered"}, signature=None
        )
        events = await service.events()

    assert unsigned.status_code == forged.status_code == status.status_code == 403
    assert unsigned.headers["content-type"] == "application/problem+json"
    assert events == []


async def test_stop_opts_out_and_only_the_confirmation_is_sent(settings: Settings) -> None:
    async with notifications(settings) as service:
        response = await service.inbound(sms("SM-stop", "  Hủy "))
        consent = await service.client.get(
            f"/recipients/{RESIDENT_PHONE}/consent", headers=token(Role.COORDINATOR)
        )
        texts = await eventually(lambda: console_texts(service), lambda found: len(found) == 1)
        again = await service.inbound(sms("SM-other", "xin chao"))
        start = await service.inbound(sms("SM-start", "BATDAU"))
        texts = await eventually(lambda: console_texts(service), lambda found: len(found) == 2)
        back = await service.client.get(
            "/recipients/0912345678/consent", headers=token(Role.COORDINATOR)
        )

    assert response.status_code == 200
    assert consent.json()["opted_out"] is True
    assert "không nhận tin nhắn" in texts[0]
    assert again.status_code == start.status_code == 200
    assert "nhận lại tin nhắn" in texts[1]  # the unknown text in between got no answer
    assert back.json()["opted_out"] is False


async def test_which_numbers_opted_out_is_asked_in_the_body_and_answered_as_written(
    settings: Settings,
) -> None:
    async with notifications(settings) as service:
        await service.inbound(sms("SM-stop", "STOP", sender=VOLUNTEER_PHONE))
        asked = [RESIDENT_PHONE, "0" + VOLUNTEER_PHONE.removeprefix("+84"), "0912 000 777"]
        answer = await service.client.post(
            "/recipients/opted-out", json={"phones": asked}, headers=token(Role.COORDINATOR)
        )
        bad = await service.client.post(
            "/recipients/opted-out", json={"phones": ["0123"]}, headers=token(Role.COORDINATOR)
        )
        by_volunteer = await service.client.post(
            "/recipients/opted-out", json={"phones": asked}, headers=token(Role.VOLUNTEER)
        )

    assert answer.status_code == 200
    assert answer.json() == {"opted_out": [asked[1]]}
    assert bad.status_code in {400, 422}
    assert "phones" in bad.text
    assert by_volunteer.status_code == 403


async def test_a_deployment_that_still_sends_cancellations_skips_nobody_for_them(
    settings: Settings,
) -> None:
    essential = sms_settings(allow_essential_after_opt_out=True)
    async with notifications(settings, sms=essential) as service:
        await service.inbound(sms("SM-stop", "STOP", sender=VOLUNTEER_PHONE))

        async def skipped(kind: str) -> object:
            answer = await service.client.post(
                "/recipients/opted-out",
                json={"phones": [VOLUNTEER_PHONE], "kind": kind},
                headers=token(Role.COORDINATOR),
            )
            return answer.json()["opted_out"]

        released = await skipped("assignment_released")
        reminded = await skipped("resident_reminder")

    assert released == []
    assert reminded == [VOLUNTEER_PHONE]


async def test_a_webhook_delivered_twice_counts_once(settings: Settings) -> None:
    async with notifications(settings) as service:
        first = await service.inbound(sms("SM-twice", "GIUP VNEID xa Thieu Trung"))
        second = await service.inbound(sms("SM-twice", "GIUP VNEID xa Thieu Trung"))
        received = await service.events("sms.received")
        help_requests = await service.events("help.requested_by_sms")
        queued = await service.events("sms.queued")

    assert first.status_code == second.status_code == 200
    assert len(received) == 1
    assert queued == []  # the answer is the scheduler's: booked, waiting or refused
    (request,) = help_requests
    assert isinstance(request, HelpRequestedBySms)
    assert request.topic is Topic.VNEID_ACTIVATION
    assert request.commune_text == "THIEU TRUNG"
    assert request.resident_phone == RESIDENT_PHONE


async def test_anything_else_gets_a_helpful_answer(settings: Settings) -> None:
    async with notifications(settings) as service:
        await service.inbound(sms("SM-what", "Alo ai day"))
        (text,) = await eventually(lambda: console_texts(service), lambda found: len(found) == 1)
        (received,) = await service.events("sms.received")

    assert isinstance(received, SmsReceived)
    assert received.intent == "unknown"
    assert "GIUP VNEID" in text
    assert "HUY" in text


async def test_a_reply_to_a_pending_proposal_becomes_assignment_reply_received(
    settings: Settings,
) -> None:
    from services.notifications.handlers import awaiting_stream
    from shared.events.base import Cause
    from shared.events.notifications import AssignmentReplyAwaited
    from shared.ids import uuid7

    starts = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)
    async with notifications(settings) as service:
        for assignment, code in (("assignment-a", "4821"), ("assignment-b", "5930")):
            await service.store.append(
                awaiting_stream(assignment),
                0,
                [
                    AssignmentReplyAwaited(
                        assignment_id=assignment,
                        volunteer_phone=VOLUNTEER_PHONE,
                        short_code=code,
                        topic="vneid_activation",
                        venue="Nhà văn hóa",
                        starts_at=starts,
                        awaited_at=starts - timedelta(days=3),
                    )
                ],
                Cause(correlation_id=uuid7()),
            )
        await service.inbound(sms("SM-c", "Có", VOLUNTEER_PHONE))
        await service.inbound(sms("SM-c2", "C 5930", VOLUNTEER_PHONE))
        texts = await eventually(lambda: console_texts(service), lambda found: len(found) == 2)
        replies = await service.events("assignment.reply_received")

    assert "4821" in texts[0]  # two pending: asked which one
    assert "5930" in texts[0]
    (reply,) = replies
    assert isinstance(reply, AssignmentReplyReceived)
    assert reply.assignment_id == "assignment-b"
    assert reply.answer is AssignmentAnswer.ACCEPTED
    assert reply.short_code == "5930"
    assert "Cảm ơn bạn đã nhận" in texts[1]


async def test_every_route_carries_the_requests_correlation_id(settings: Settings) -> None:
    """A request's X-Correlation-Id follows what it appends, webhooks and API alike."""
    ids = {name: uuid.uuid4() for name in ("inbound", "preferences", "contact")}
    async with notifications(settings) as service:
        await service.client.post(
            "/sms/inbound",
            content=urlencode(sms("SM-correlated", "HUY")),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(
                    PUBLIC_URL + "/sms/inbound", sms("SM-correlated", "HUY"), WEBHOOK_TOKEN
                ),
                "X-Correlation-Id": str(ids["inbound"]),
            },
        )
        await service.client.put(
            f"/recipients/{VOLUNTEER_PHONE}/preferences",
            json={"language": "en"},
            headers={**token(Role.COORDINATOR), "X-Correlation-Id": str(ids["preferences"])},
        )
        await service.client.put(
            "/coordinators/coordinator-1/contact",
            json={"phone": "0977777777"},
            headers={**token(Role.ADMIN), "X-Correlation-Id": str(ids["contact"])},
        )
        events = service.store.tables.events
        async with service.store.reader.connect() as conn:
            rows = (
                await conn.execute(sa.select(events.c.event_type, events.c.correlation_id))
            ).all()

    correlated = {row.event_type: row.correlation_id for row in rows}
    assert correlated["sms.received"] == ids["inbound"]
    assert correlated["recipient.opted_out"] == ids["inbound"]
    assert correlated["recipient.preferences_changed"] == ids["preferences"]
    assert correlated["sms.coordinator_contact_set"] == ids["contact"]
