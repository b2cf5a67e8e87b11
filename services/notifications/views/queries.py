"""What the API, the handlers and the sender read from the notifications service's read models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.domain.messages import Message, MessageStatus
from services.notifications.domain.replies import PendingAssignment
from services.notifications.domain.retention import SETTLED, UNMATCHED
from services.notifications.tables import (
    coordinator_communes,
    coordinators,
    messages,
    pending_replies,
    recipients,
)
from shared.events.notifications import (
    MessageId,
    SmsEncoding,
    SmsKind,
    SmsLanguage,
)
from shared.events.personal import ERASED


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """A phone number's own stream and choices."""

    phone: str
    recipient_id: str
    opted_out: bool
    language: SmsLanguage | None
    strip_diacritics: bool | None
    changed_at: datetime


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    """One SMS as coordinators see it: text, cost, where it stands."""

    message_id: str
    kind: str
    recipient_phone: str
    status: str
    language: str
    text: str
    encoding: str
    parts: int
    stripped: bool
    parts_saved: int
    urgent: bool
    attempts: int
    next_attempt_at: datetime
    queued_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    failure_reason: str | None = None
    commune_code: str | None = None
    reference: str | None = None
    recipient_name: str | None = None
    session_starts_at: datetime | None = None
    session_id: str | None = None


_recipient_by_phone = sa.select(recipients).where(recipients.c.phone == sa.bindparam("v_phone"))
_recipients_by_phone = sa.select(recipients).where(
    recipients.c.phone.in_(sa.bindparam("v_phones", expanding=True))
)


async def recipient(conn: AsyncConnection, phone: str) -> Recipient | None:
    row = (await conn.execute(_recipient_by_phone, {"v_phone": phone})).first()
    return None if row is None else _recipient_of(row)


def _recipient_of(row: Any) -> Recipient:
    return Recipient(
        phone=row.phone,
        recipient_id=row.recipient_id,
        opted_out=row.opted_out,
        language=None if row.language is None else SmsLanguage(row.language),
        strip_diacritics=row.strip_diacritics,
        changed_at=row.changed_at,
    )


# Keys named in one IN (...) list.
_CHUNK = 1000


def _chunks(values: Iterable[str]) -> list[list[str]]:
    unique = sorted(set(values))
    return [unique[start : start + _CHUNK] for start in range(0, len(unique), _CHUNK)]


async def recipients_by_phone(conn: AsyncConnection, phones: Iterable[str]) -> dict[str, Recipient]:
    """The recipients among these numbers (numbers without a stream are left out)."""
    found: dict[str, Recipient] = {}
    for chunk in _chunks(phones):
        rows = await conn.execute(_recipients_by_phone, {"v_phones": chunk})
        found.update({row.phone: _recipient_of(row) for row in rows})
    return found


async def pending_for(conn: AsyncConnection, phone: str) -> list[PendingAssignment]:
    rows = await conn.execute(
        sa.select(pending_replies)
        .where(pending_replies.c.phone == phone)
        .order_by(pending_replies.c.starts_at)
    )
    return [
        PendingAssignment(
            assignment_id=row.assignment_id,
            short_code=row.short_code,
            topic=row.topic,
            starts_at=row.starts_at,
        )
        for row in rows
    ]


def _view(row: Any) -> MessageView:
    return MessageView(
        message_id=row.message_id,
        kind=row.kind,
        recipient_phone=row.recipient_phone,
        status=row.status,
        language=row.language,
        text=row.text,
        encoding=row.encoding,
        parts=row.parts,
        stripped=row.stripped,
        parts_saved=row.parts_saved,
        urgent=row.urgent,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        queued_at=row.queued_at,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        failed_at=row.failed_at,
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        failure_reason=row.failure_reason,
        commune_code=row.commune_code,
        reference=row.reference,
        recipient_name=row.recipient_name,
        session_starts_at=row.session_starts_at,
        session_id=row.session_id,
    )


async def message(conn: AsyncConnection, message_id: str) -> MessageView | None:
    row = (
        await conn.execute(sa.select(messages).where(messages.c.message_id == message_id))
    ).first()
    return None if row is None else _view(row)


async def list_messages(
    conn: AsyncConnection,
    *,
    recipient_phone: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    commune_codes: tuple[str, ...] | None = None,
    limit: int = 100,
) -> list[MessageView]:
    query = sa.select(messages)
    if recipient_phone is not None:
        query = query.where(messages.c.recipient_phone == recipient_phone)
    if kind is not None:
        query = query.where(messages.c.kind == kind)
    if status is not None:
        query = query.where(messages.c.status == status)
    if commune_codes is not None:
        query = query.where(messages.c.commune_code.in_(commune_codes))
    query = query.order_by(messages.c.queued_at.desc(), messages.c.message_id).limit(limit)
    return [_view(row) for row in await conn.execute(query)]


async def session_messages(
    conn: AsyncConnection, session_id: str, *, limit: int
) -> list[MessageView]:
    """The SMS about one support session, in the order they were queued."""
    query = (
        sa.select(messages)
        .where(messages.c.session_id == session_id)
        .order_by(messages.c.queued_at, messages.c.message_id)
        .limit(limit)
    )
    return [_view(row) for row in await conn.execute(query)]


async def message_by_provider_id(conn: AsyncConnection, provider_message_id: str) -> str | None:
    found = await conn.scalar(
        sa.select(messages.c.message_id)
        .where(messages.c.provider_message_id == provider_message_id)
        .limit(1)
    )
    return None if found is None else str(found)


def message_state(row: Any) -> Message:
    """The domain's view of a message, read from its row instead of folding its stream."""
    return Message(
        message_id=MessageId(row.message_id),
        cause_event_id=row.cause_event_id,
        kind=SmsKind(row.kind),
        recipient_phone=row.recipient_phone,
        status=MessageStatus(row.status),
        next_attempt_at=row.next_attempt_at,
        language=SmsLanguage(row.language),
        text=row.text,
        encoding=SmsEncoding(row.encoding),
        parts=row.parts,
        stripped=row.stripped,
        parts_saved=row.parts_saved,
        urgent=row.urgent,
        attempts=row.attempts,
        sending_since=row.sending_since,
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        failure_reason=row.failure_reason,
    )


class AlertContact(msgspec.Struct, frozen=True, kw_only=True):
    coordinator_id: str
    phone: str
    language: SmsLanguage


async def coordinators_for(
    conn: AsyncConnection, *, coordinator_id: str | None, commune_code: str | None
) -> list[AlertContact]:
    """The named coordinator when known, else every coordinator of the commune."""
    rows: list[Any] = []
    if coordinator_id is not None:
        rows = list(
            await conn.execute(
                sa.select(coordinators).where(coordinators.c.coordinator_id == coordinator_id)
            )
        )
    if not rows and commune_code is not None:
        rows = list(
            await conn.execute(
                sa.select(coordinators)
                .join(
                    coordinator_communes,
                    coordinator_communes.c.coordinator_id == coordinators.c.coordinator_id,
                )
                .where(coordinator_communes.c.commune_code == commune_code)
                .order_by(coordinators.c.coordinator_id)
            )
        )
    return [
        AlertContact(
            coordinator_id=row.coordinator_id, phone=row.phone, language=SmsLanguage(row.language)
        )
        for row in rows
    ]


def texts_due(before: datetime) -> sa.ColumnElement[bool]:
    """The SMS whose text a retention run reaching back to `before` blanks
    (`domain.retention.text_due`, as SQL)."""
    return sa.and_(
        messages.c.text != ERASED,
        messages.c.queued_at < before,
        messages.c.status.in_([status.value for status in SETTLED]),
    )


def unmatched_due(before: datetime) -> sa.ColumnElement[bool]:
    """The answers to unmatched inbound SMS that lose their number and text
    (`domain.retention.unmatched_due`, as SQL)."""
    return sa.and_(
        messages.c.kind.in_([kind.value for kind in UNMATCHED]),
        messages.c.queued_at < before,
        messages.c.recipient_phone != ERASED,
        messages.c.status.in_([status.value for status in SETTLED]),
    )


async def oldest_due(
    conn: AsyncConnection, due: sa.ColumnElement[bool], *, limit: int
) -> list[datetime]:
    """The queue times of the oldest `limit` messages `due` picks, oldest first."""
    query = sa.select(messages.c.queued_at).where(due).order_by(messages.c.queued_at).limit(limit)
    return list((await conn.scalars(query)).all())


async def count_due(conn: AsyncConnection, due: sa.ColumnElement[bool]) -> int:
    found = await conn.scalar(sa.select(sa.func.count()).select_from(messages).where(due))
    return int(found or 0)
