"""How the notifications service's own events update its read models, inline in the
transaction that appends them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.domain.messages import MessageStatus
from services.notifications.tables import (
    coordinator_communes,
    coordinators,
    messages,
    outgoing,
    pending_replies,
    recipients,
)
from services.notifications.views import queries
from shared.events.base import RecordedEvent
from shared.events.notifications import (
    AssignmentReplyAwaited,
    AssignmentReplyClosed,
    AssignmentReplyReceived,
    CoordinatorContactSet,
    NumberForgotten,
    RecipientOptedIn,
    RecipientOptedOut,
    RecipientPreferencesChanged,
    RecipientRegistered,
    ResidentForgotten,
    SmsAttemptFailed,
    SmsDelivered,
    SmsEncoding,
    SmsFailed,
    SmsLanguage,
    SmsLookupFailed,
    SmsQueued,
    SmsRetentionRan,
    SmsSendingStarted,
    SmsSent,
    SmsSuppressed,
    VolunteerForgotten,
)
from shared.events.personal import ERASED


async def project(conn: AsyncConnection, recorded: RecordedEvent) -> None:
    """Keep the read models in step with one appended event (same transaction)."""
    event = recorded.event
    version = recorded.stream_version
    match event:
        case SmsQueued() | SmsSendingStarted() | SmsSent():
            await _project_run(conn, [(event, version)])
        case SmsSuppressed():
            await _suppressed(conn, event, version)
        case SmsAttemptFailed():
            await _update(
                conn,
                event.message_id,
                version,
                status=MessageStatus.QUEUED.value,
                next_attempt_at=event.retry_at,
                sending_since=None,
                failure_reason=event.reason,
            )
            await conn.execute(
                outgoing.update()
                .where(outgoing.c.message_id == event.message_id)
                .values(due_at=event.retry_at, claimed_until=None, claimed_by=None)
            )
        case SmsLookupFailed():
            # Still `sending` (nobody knows yet whether the provider has it): asked again
            # when due, by whichever sender claims it then.
            await _update(
                conn,
                event.message_id,
                version,
                next_attempt_at=event.retry_at,
                failure_reason=event.reason,
            )
            await conn.execute(
                outgoing.update()
                .where(outgoing.c.message_id == event.message_id)
                .values(due_at=event.retry_at, claimed_until=None, claimed_by=None)
            )
        case SmsDelivered():
            await _update(
                conn,
                event.message_id,
                version,
                status=MessageStatus.DELIVERED.value,
                provider_message_id=event.provider_message_id,
                delivered_at=event.delivered_at,
            )
        case SmsFailed():
            await _update(
                conn,
                event.message_id,
                version,
                status=MessageStatus.FAILED.value,
                sending_since=None,
                failure_reason=event.reason,
                failed_at=event.failed_at,
            )
            await _settled(conn, event.message_id)
        case SmsRetentionRan():
            await _retained(conn, event)
        case _:
            await _project_recipients(conn, recorded)
            await _project_replies(conn, recorded)


# Runs of these are written with one statement per table (`project_many`); the statements
# are built once (SQLAlchemy then reuses their compiled form).
_BULK = (SmsQueued, SmsSendingStarted, SmsSent)
_Bulk = SmsQueued | SmsSendingStarted | SmsSent
_queued_message = messages.insert()
_queued_outgoing = outgoing.insert()
_started = (
    messages.update()
    .where(messages.c.message_id == sa.bindparam("b_message_id"))
    .values(
        version=sa.bindparam("b_version"),
        status=MessageStatus.SENDING.value,
        attempts=sa.bindparam("b_attempts"),
        sending_since=sa.bindparam("b_since"),
    )
)
_sent = (
    messages.update()
    .where(messages.c.message_id == sa.bindparam("b_message_id"))
    .values(
        version=sa.bindparam("b_version"),
        status=MessageStatus.SENT.value,
        sending_since=None,
        provider=sa.bindparam("b_provider"),
        provider_message_id=sa.bindparam("b_provider_message_id"),
        sent_at=sa.bindparam("b_sent_at"),
    )
)
_unqueue = outgoing.delete().where(
    outgoing.c.message_id.in_(sa.bindparam("b_message_ids", expanding=True))
)


# PostgreSQL: each pair of statements above as one, the second table's change in a CTE of
# the first's (one round trip instead of two).
_QUEUED_COLUMNS = (  # the keys of `_queued_row`
    "message_id",
    "version",
    "cause_event_id",
    "kind",
    "recipient_phone",
    "status",
    "language",
    "text",
    "encoding",
    "parts",
    "stripped",
    "parts_saved",
    "urgent",
    "attempts",
    "next_attempt_at",
    "queued_at",
    "commune_code",
    "reference",
    "recipient_name",
    "session_starts_at",
    "session_id",
)
_queued_cte = (
    messages.insert()
    .values(
        {name: sa.bindparam(f"q_{name}", type_=messages.c[name].type) for name in _QUEUED_COLUMNS}
    )
    .returning(messages.c.message_id, messages.c.next_attempt_at)
    .cte("queued")
)
_queued_both = outgoing.insert().from_select(
    ["message_id", "due_at"], sa.select(_queued_cte.c.message_id, _queued_cte.c.next_attempt_at)
)
_sent_cte = _sent.returning(messages.c.message_id).cte("sent")
_sent_and_unqueued = outgoing.delete().where(
    outgoing.c.message_id.in_(sa.select(_sent_cte.c.message_id))
)


def _one_or_many(rows: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """One row as plain parameters: an executemany of one costs more on asyncpg."""
    return rows[0] if len(rows) == 1 else rows


async def project_many(conn: AsyncConnection, recorded: Sequence[RecordedEvent]) -> None:
    """`project` for each event, in order; a run of queued, started or sent messages is
    written with one statement per table instead of one per message."""
    run: list[tuple[_Bulk, int]] = []
    seen: set[str] = set()
    for item in recorded:
        event = item.event
        if run and (
            not isinstance(event, _BULK)
            or type(event) is not type(run[0][0])
            or event.message_id in seen
        ):
            await _project_run(conn, run)
            run, seen = [], set()
        if isinstance(event, _BULK):
            run.append((event, item.stream_version))
            seen.add(event.message_id)
        else:
            await project(conn, item)
    if run:
        await _project_run(conn, run)


async def _project_run(conn: AsyncConnection, run: list[tuple[_Bulk, int]]) -> None:
    """Events of one kind, each about another message: one statement per table."""
    first = run[0][0]
    postgres = conn.dialect.name == "postgresql"
    if isinstance(first, SmsQueued):
        queued = [(event, version) for event, version in run if isinstance(event, SmsQueued)]
        rows = [_queued_row(event, version) for event, version in queued]
        if postgres:
            prefixed = [{f"q_{name}": value for name, value in row.items()} for row in rows]
            await conn.execute(_queued_both, _one_or_many(prefixed))
            return
        await conn.execute(_queued_message, _one_or_many(rows))
        await conn.execute(
            _queued_outgoing,
            _one_or_many([{"message_id": e.message_id, "due_at": e.send_after} for e, _ in queued]),
        )
    elif isinstance(first, SmsSendingStarted):
        await conn.execute(
            _started,
            _one_or_many(
                [
                    {
                        "b_message_id": event.message_id,
                        "b_version": version,
                        "b_attempts": event.attempt,
                        "b_since": event.started_at,
                    }
                    for event, version in run
                    if isinstance(event, SmsSendingStarted)
                ]
            ),
        )
    else:
        sent = [(event, version) for event, version in run if isinstance(event, SmsSent)]
        changes = [
            {
                "b_message_id": event.message_id,
                "b_version": version,
                "b_provider": event.provider,
                "b_provider_message_id": event.provider_message_id,
                "b_sent_at": event.sent_at,
            }
            for event, version in sent
        ]
        if postgres:
            await conn.execute(_sent_and_unqueued, _one_or_many(changes))
            return
        await conn.execute(_sent, _one_or_many(changes))
        await conn.execute(_unqueue, {"b_message_ids": [e.message_id for e, _ in sent]})


async def _project_recipients(conn: AsyncConnection, recorded: RecordedEvent) -> None:
    event = recorded.event
    match event:
        case RecipientRegistered():
            if not event.phone:
                return  # an erased number (a rebuild): `resident.forgotten` says what stays
            await _new_recipient(
                conn, event.phone, event.recipient_id, opted_out=False, at=event.registered_at
            )
        case RecipientOptedOut():
            await _recipient(conn, event.phone, opted_out=True, changed_at=event.opted_out_at)
        case ResidentForgotten() | VolunteerForgotten() | NumberForgotten():
            await _forget(conn, event)
        case RecipientOptedIn():
            await _recipient(conn, event.phone, opted_out=False, changed_at=event.opted_in_at)
        case RecipientPreferencesChanged():
            changes: dict[str, Any] = {"changed_at": event.changed_at}
            if event.language is not None:
                changes["language"] = event.language.value
            if event.strip_diacritics is not None:
                changes["strip_diacritics"] = event.strip_diacritics
            await _recipient(conn, event.phone, **changes)


async def _forget(
    conn: AsyncConnection, event: ResidentForgotten | VolunteerForgotten | NumberForgotten
) -> None:
    """An erased resident, volunteer or number: their SMS keep delivery facts only; their
    number goes, or stays as the keyed hash of an opted-out number."""
    if event.message_ids:
        await conn.execute(
            messages.update()
            .where(messages.c.message_id.in_(event.message_ids))
            .values(
                recipient_phone=ERASED,
                # as a rebuild opens it: an erased name reads "", no name stays none
                recipient_name=sa.case((messages.c.recipient_name.is_(None), None), else_=ERASED),
                text=ERASED,
            )
        )
    if event.recipient_id is None:
        return
    mine = recipients.c.recipient_id == event.recipient_id
    await conn.execute(recipients.delete().where(mine))
    if event.opted_out_hash is not None:
        await _new_recipient(
            conn, event.opted_out_hash, event.recipient_id, opted_out=True, at=event.forgotten_at
        )


async def _retained(conn: AsyncConnection, event: SmsRetentionRan) -> None:
    """A retention run: older SMS lose their text, answers to unmatched inbound SMS their number
    and text too; status, times, kind and provider ids stay."""
    await conn.execute(
        messages.update().where(queries.texts_due(event.texts_before)).values(text=ERASED)
    )
    await conn.execute(
        messages.update()
        .where(queries.unmatched_due(event.unmatched_before))
        .values(
            recipient_phone=ERASED,
            recipient_name=sa.case((messages.c.recipient_name.is_(None), None), else_=ERASED),
            text=ERASED,
        )
    )


async def _new_recipient(
    conn: AsyncConnection, phone: str, recipient_id: str, *, opted_out: bool, at: datetime
) -> None:
    await conn.execute(
        recipients.insert().values(
            phone=phone,
            recipient_id=recipient_id,
            opted_out=opted_out,
            language=None,
            strip_diacritics=None,
            changed_at=at,
        )
    )


async def _project_replies(conn: AsyncConnection, recorded: RecordedEvent) -> None:
    event = recorded.event
    match event:
        case AssignmentReplyAwaited():
            await _unpend(conn, event.assignment_id)  # a move restates what is awaited
            await conn.execute(
                pending_replies.insert().values(
                    assignment_id=event.assignment_id,
                    phone=event.volunteer_phone,
                    short_code=event.short_code,
                    topic=event.topic,
                    starts_at=event.starts_at,
                )
            )
        case AssignmentReplyClosed():
            await _unpend(conn, event.assignment_id)
        case AssignmentReplyReceived(assignment_id=assignment_id) if assignment_id is not None:
            await _unpend(conn, assignment_id)
        case CoordinatorContactSet():
            await _coordinator(conn, event)


def _queued_row(event: SmsQueued, version: int) -> dict[str, Any]:
    return {
        "message_id": event.message_id,
        "version": version,
        "cause_event_id": event.cause_event_id,
        "kind": event.kind.value,
        "recipient_phone": event.recipient_phone,
        "status": MessageStatus.QUEUED.value,
        "language": event.language.value,
        "text": event.text,
        "encoding": event.encoding.value,
        "parts": event.parts,
        "stripped": event.stripped,
        "parts_saved": event.parts_saved,
        "urgent": event.urgent,
        "attempts": 0,
        "next_attempt_at": event.send_after,
        "queued_at": event.queued_at,
        "commune_code": event.commune_code,
        "reference": event.reference,
        "recipient_name": event.recipient_name,
        "session_starts_at": event.session_starts_at,
        "session_id": event.session_id,
    }


async def _suppressed(conn: AsyncConnection, event: SmsSuppressed, version: int) -> None:
    if version > 1:
        await _update(
            conn,
            event.message_id,
            version,
            status=MessageStatus.SUPPRESSED.value,
            sending_since=None,
            failure_reason=event.reason,
        )
        await _settled(conn, event.message_id)
        return
    await conn.execute(
        messages.insert().values(
            message_id=event.message_id,
            version=version,
            cause_event_id=event.cause_event_id,
            kind=event.kind.value,
            recipient_phone=event.recipient_phone,
            status=MessageStatus.SUPPRESSED.value,
            language=SmsLanguage.VI.value,
            text="",
            encoding=SmsEncoding.GSM7.value,
            parts=0,
            stripped=False,
            parts_saved=0,
            urgent=False,
            attempts=0,
            next_attempt_at=event.suppressed_at,
            queued_at=event.suppressed_at,
            failure_reason=event.reason,
        )
    )


async def _update(conn: AsyncConnection, message_id: str, version: int, **values: Any) -> None:
    await conn.execute(
        messages.update()
        .where(messages.c.message_id == message_id)
        .values(version=version, **values)
    )


async def _settled(conn: AsyncConnection, message_id: str) -> None:
    await conn.execute(outgoing.delete().where(outgoing.c.message_id == message_id))


async def _recipient(conn: AsyncConnection, phone: str, **values: Any) -> None:
    await conn.execute(recipients.update().where(recipients.c.phone == phone).values(**values))


async def _unpend(conn: AsyncConnection, assignment_id: str) -> None:
    await conn.execute(
        pending_replies.delete().where(pending_replies.c.assignment_id == assignment_id)
    )


async def _coordinator(conn: AsyncConnection, event: CoordinatorContactSet) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(coordinators).values(
        coordinator_id=event.coordinator_id, phone=event.phone, language=event.language.value
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[coordinators.c.coordinator_id],
            set_={"phone": event.phone, "language": event.language.value},
        )
    )
    await conn.execute(
        coordinator_communes.delete().where(
            coordinator_communes.c.coordinator_id == event.coordinator_id
        )
    )
    if event.commune_codes:
        await conn.execute(
            coordinator_communes.insert(),
            [
                {"commune_code": code, "coordinator_id": event.coordinator_id}
                for code in sorted(set(event.commune_codes))
            ],
        )
