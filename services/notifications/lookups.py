"""Interrupted sends: ask the provider about each (outside any transaction), then turn its
answer into the message's events (`domain/interrupted.py`) inside the storing one.

A message is interrupted when it is still `sending` after its lease: its sender died, lost
the provider's answer, or could not store it before dying. The sender that claims it next
comes here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from services.notifications.domain.interrupted import (
    Finding,
    FoundAtProvider,
    ProviderUnsure,
    decide_recover_interrupted,
)
from services.notifications.domain.messages import Message, evolve, message_events
from services.notifications.providers.base import SentAttempt, SmsProvider, mask_phone
from services.notifications.settings import NotificationSettings
from services.notifications.tables import messages
from shared.events.base import Cause
from shared.events.fold import fold
from shared.events.notifications import SmsAttemptFailed, SmsLookupFailed, SmsSent
from shared.ids import uuid7
from shared.store.eventstore import Stream, StreamAppend, Transaction

log = logging.getLogger("handinhand.notifications.sender")

NOT_ASKED = ProviderUnsure(reason="not asked yet")

# Provider ids among a look-up's copies that other messages already hold.
_TAKEN = sa.select(messages.c.provider_message_id).where(
    messages.c.provider_message_id.in_(sa.bindparam("t_ids", expanding=True)),
    messages.c.message_id != sa.bindparam("t_own"),
)

_MEANING = {
    SmsSent: "found at the provider",
    SmsAttemptFailed: "not at the provider: sending again",
    SmsLookupFailed: "the provider could not say: asking again later",
}


@dataclasses.dataclass(frozen=True)
class Interrupted:
    """A message left `sending` past its lease, and what the provider says about it."""

    state: Message
    finding: Finding = NOT_ASKED


async def ask(
    provider: SmsProvider, interrupted: list[Interrupted], *, concurrency: int, now: datetime
) -> list[Interrupted]:
    """What the provider says about each interrupted send (found, not found, unsure)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Interrupted) -> Interrupted:
        state = item.state
        attempt = SentAttempt(
            message_id=state.message_id,
            to_e164=state.recipient_phone,
            text=state.text,
            started_at=state.sending_since or now,
        )
        async with gate:
            try:
                finding = await provider.find(attempt)
            except Exception as error:  # a look-up that broke says nothing either way
                finding = ProviderUnsure(reason=f"look-up failed: {error!r}"[:500])
        log.warning(
            "message %s to %s was interrupted mid-send; the provider says: %s",
            state.message_id,
            mask_phone(state.recipient_phone),
            type(finding).__name__,
        )
        return dataclasses.replace(item, finding=finding)

    return list(await asyncio.gather(*(one(item) for item in interrupted)))


async def decide_in(
    tx: Transaction,
    answer: Interrupted,
    *,
    provider: str,
    settings: NotificationSettings,
    random: Callable[[], float],
    now: datetime,
) -> StreamAppend | None:
    """The events the provider's answer calls for, at the message's current version (read
    in this transaction, so a receipt stored meanwhile is taken into account)."""
    message_id = answer.state.message_id
    stream = await tx.load(message_id)
    finding = answer.finding
    taken: frozenset[str] = frozenset()
    if isinstance(finding, FoundAtProvider):
        ids = [copy.provider_message_id for copy in finding.copies]
        taken = frozenset(await tx.conn.scalars(_TAKEN, {"t_ids": ids, "t_own": message_id}))
    events = decide_recover_interrupted(
        message_from(stream),
        now,
        finding,
        provider=provider,
        stale_after=settings.lease,
        lookups=settings.lookups,
        random=random,
        quiet=settings.quiet,
        taken=taken,
    )
    if not events:
        return None
    meaning = _MEANING.get(type(events[0]), "given up, not resent")
    log.warning("interrupted message %s: %s (%s)", message_id, events[0].event_type, meaning)
    return StreamAppend(message_id, stream.version, events, Cause(correlation_id=uuid7()))


def message_from(stream: Stream) -> Message:
    """The message folded from its whole stream."""
    folded = fold(evolve, message_events(recorded.event for recorded in stream.events))
    assert folded is not None
    return folded
