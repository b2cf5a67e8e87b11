"""What /metrics shows of the SMS so that an alert fires: a message stuck in `sending` past
the sender's lease, messages that failed for good, and the queue of due messages."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bench.gateway import Gateway, Response
from services.notifications.metrics import sms_metrics
from services.notifications.providers.http_json import HttpJsonConfig
from services.notifications.sender import Sender
from shared.clock import FixedClock
from shared.settings import Settings
from shared.store.eventstore import EventStore
from tests.conftest import postgres_only
from tests.integration.notifications.harness import Service, notifications, sms_settings
from tests.integration.notifications.test_sender import (
    NOW,
    Hanging,
    book,
    created,
    sender_of,
    twilio_settings,
)
from tests.support.plans import rows_read, statements_run


async def sample(service: Service, name: str) -> float:
    text = (await service.client.get("/metrics")).text
    found = re.search(rf'^{name}{{service="notifications"}} (\S+)$', text, re.MULTILINE)
    assert found is not None, f"{name} is not on /metrics"
    return float(found.group(1))


async def test_a_message_stuck_in_sending_shows_once_its_lease_is_over(
    settings: Settings, gateway: Gateway
) -> None:
    clock = FixedClock(NOW)
    sms = sms_settings(provider="http_json", http_json=HttpJsonConfig(url=gateway.url + "/send"))
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        queued = (
            await sample(service, "handinhand_sms_due_messages"),
            await sample(service, "handinhand_sms_oldest_due_seconds"),
        )
        hanging = Hanging()
        dying = Sender(service.store, hanging, sms, owner="dying")
        task = asyncio.create_task(dying.send_due())
        await asyncio.wait_for(hanging.called.wait(), 10)
        task.cancel()  # the sender dies mid-call: the message stays in sending
        with pytest.raises(asyncio.CancelledError):
            await task
        within_lease = await sample(service, "handinhand_sms_stuck_sending_messages")
        clock.advance(sms.lease + timedelta(seconds=1))
        stuck = await sample(service, "handinhand_sms_stuck_sending_messages")
        waited = await sample(service, "handinhand_sms_oldest_due_seconds")
        await sender_of(service, "survivor").send_due()  # takes it over: failed, not resent
        after = (
            await sample(service, "handinhand_sms_stuck_sending_messages"),
            await sample(service, "handinhand_sms_failed_messages_total"),
            await sample(service, "handinhand_sms_due_messages"),
        )

    assert queued == (1.0, 0.0)
    assert (within_lease, stuck) == (0.0, 1.0)
    assert waited >= sms.lease.total_seconds()
    assert after == (0.0, 1.0, 0.0)


async def test_every_message_failed_for_good_is_counted(
    settings: Settings, gateway: Gateway
) -> None:
    gateway.answer(Response(400, b'{"code": 21211, "message": "invalid To"}'), created("SM-b"))
    async with notifications(
        settings, clock=FixedClock(NOW), sms=twilio_settings(gateway), workers=False
    ) as service:
        before = await sample(service, "handinhand_sms_failed_messages_total")
        await book(service)
        await book(service, "+84911111111")
        await sender_of(service).send_due()
        refused = await sample(service, "handinhand_sms_failed_messages_total")
        await service.status(
            {"MessageSid": "SM-b", "MessageStatus": "undelivered", "ErrorCode": "30003"}
        )
        undelivered = await sample(service, "handinhand_sms_failed_messages_total")

    assert (before, refused, undelivered) == (0.0, 1.0, 2.0)


async def fill_messages(store: EventStore, count: int) -> None:
    """`count` messages long sent, and five more: three in sending (started one, two and three
    minutes ago, still queued) and two failed."""
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO messages (message_id, version, cause_event_id, kind, "
                "recipient_phone, status, language, text, encoding, parts, stripped, "
                "parts_saved, urgent, attempts, next_attempt_at, queued_at, sending_since) "
                "SELECT 'message-' || n, 2, gen_random_uuid(), 'resident_booked', "
                "'+84912345678', CASE WHEN n <= 3 THEN 'sending' WHEN n <= 5 THEN 'failed' "
                "ELSE 'sent' END, 'vi', 'Hẹn gặp', 'ucs2', 1, false, 0, false, 1, "
                "CAST(:now AS timestamptz), CAST(:now AS timestamptz), "
                "CASE WHEN n <= 3 THEN CAST(:now AS timestamptz) - n * interval '1 minute' END "
                "FROM generate_series(1, :count) AS n"
            ),
            {"now": NOW, "count": count + 5},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO outgoing (message_id, due_at) "
                "SELECT 'message-' || n, CAST(:now AS timestamptz) - interval '5 minutes' "
                "FROM generate_series(1, 3) AS n"
            ),
            {"now": NOW},
        )


@postgres_only
async def test_the_sms_metrics_read_only_the_messages_they_count(settings: Settings) -> None:
    async with notifications(settings, clock=FixedClock(NOW), workers=False) as service:
        await fill_messages(service.store, 20_000)
        with statements_run(service.store.engine) as ran:
            measured = {m.name: m.value for m in await sms_metrics(service.service)}
        read = [await rows_read(service.store.engine, *statement) for statement in ran]

    assert measured == {
        "handinhand_sms_stuck_sending_messages": 2,  # the lease is a minute: 2 and 3 minutes
        "handinhand_sms_failed_messages_total": 2,
        "handinhand_sms_due_messages": 3,
        "handinhand_sms_oldest_due_seconds": 300,
    }
    assert len(read) == 3
    assert max(read) <= 2 * 3  # the rows counted (in the index, then the table), no others
