"""The notifications' daily retention run: after 7 days the answer to an inbound SMS that
matched nothing loses its number and text, after 30 days every settled SMS its text; delivery
facts stay, each run says what it blanked (`sms_retention.ran`), a run again blanks nothing
twice, and a rebuild from the log gives the same SMS log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from services.notifications.domain.messages import MessageStatus
from services.notifications.tables import READ_MODELS, timers
from shared.clock import FixedClock
from shared.events.notifications import SmsKind, SmsRetentionRan
from shared.settings import Retention, Settings
from shared.store.rebuild import rebuild_read_models
from tests.api.notifications.test_webhooks import sms
from tests.integration.notifications.harness import RESIDENT_PHONE, VOLUNTEER_PHONE, Service
from tests.integration.notifications.harness import notifications as running
from tests.support.waiting import eventually

WEDNESDAY_10AM = datetime(2025, 12, 3, 3, 0, tzinfo=UTC)
SETTLED = {MessageStatus.SENT.value, MessageStatus.DELIVERED.value}


async def log_of(service: Service) -> dict[str, Any]:
    """Each SMS by kind: what the SMS log keeps of it."""
    return {
        row.kind: {
            "phone": row.recipient_phone,
            "text": row.text,
            "status": row.status,
            "provider_message_id": row.provider_message_id,
            "sent_at": row.sent_at,
        }
        for row in await service.messages()
    }


async def runs(service: Service, count: int) -> list[SmsRetentionRan]:
    async def found() -> list[SmsRetentionRan]:
        return [e for e in await service.events() if isinstance(e, SmsRetentionRan)]

    return await eventually(found, lambda ran: len(ran) >= count)


async def test_old_texts_and_unmatched_answers_are_blanked_and_delivery_facts_stay(
    settings: Settings,
) -> None:
    clock = FixedClock(WEDNESDAY_10AM)
    retaining = msgspec.structs.replace(settings, retention=Retention())
    async with running(retaining, clock=clock) as service:
        await service.inbound(sms("SM-unknown", "xin chao", sender=RESIDENT_PHONE))
        await service.inbound(sms("SM-stop", "STOP", sender=VOLUNTEER_PHONE))
        sent = await eventually(
            lambda: log_of(service),
            lambda log: len(log) == 2 and all(m["status"] in SETTLED for m in log.values()),
        )
        unknown, stopped = SmsKind.REPLY_UNKNOWN.value, SmsKind.REPLY_STOP_CONFIRMED.value

        clock.advance(timedelta(days=8))  # past the 7 days of an unmatched SMS
        [first] = await runs(service, 1)
        after_a_week = await log_of(service)

        clock.advance(timedelta(days=23))  # 31 days: past the 30 days of every text
        second = (await runs(service, 2))[1]
        after_a_month = await log_of(service)
        async with service.store.reader.connect() as conn:
            due = await conn.scalar(timers.select().with_only_columns(timers.c.due_at))
        live = await service.messages()
        await rebuild_read_models(service.store, READ_MODELS)
        rebuilt = await service.messages()

    assert (first.texts_blanked, first.unmatched_blanked, first.more_due) == (0, 1, False)
    assert first.unmatched_before == WEDNESDAY_10AM + timedelta(days=1)
    assert after_a_week[unknown] == sent[unknown] | {"phone": "", "text": ""}
    assert after_a_week[stopped] == sent[stopped]
    assert (second.texts_blanked, second.unmatched_blanked) == (1, 0)  # nothing twice
    assert after_a_month[stopped] == sent[stopped] | {"text": ""}  # the number stays
    assert after_a_month[unknown] == after_a_week[unknown]
    assert due == datetime(2026, 1, 3, 20, 0, tzinfo=UTC)  # the next night, 03:00 local
    assert rebuilt == live
