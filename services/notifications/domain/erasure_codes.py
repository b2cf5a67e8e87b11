"""Erasure asked by SMS: XOA gets a 6-digit code, XOA and the code confirm it.

The code is never kept: only its keyed hash, tied to the number (`code_digest`). It is good
for a limited time; a wrong code says how many tries are left, and too many wrong tries, like
a late code, cancel it (XOA again sends a new one). The right code is the resident's
confirmation (`resident.erasure_confirmed`); what follows (one SMS saying it is done) is the
erasure's, so nothing is answered here then.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec

from services.notifications.domain.replies import Answer, Erase
from services.notifications.domain.templates import (
    ErasureCodeCancelledContext,
    ErasureCodeExpiredContext,
    ErasureCodeWrongContext,
    UnknownReplyContext,
)
from shared.events.base import Event
from shared.events.fold import fold
from shared.events.notifications import (
    ErasureCodeIssued,
    ErasureCodeRejected,
    ErasureCodeRejection,
    InboundSmsId,
    ResidentErasureConfirmed,
    SmsKind,
    SmsLanguage,
)


class CodeRules(msgspec.Struct, frozen=True, kw_only=True):
    """How long a code is good for and how many wrong tries cancel it (settings)."""

    valid_for: timedelta = timedelta(minutes=30)
    max_tries: int = 5


class PendingCode(msgspec.Struct, frozen=True, kw_only=True):
    """The code last sent to the number, not yet used, expired or cancelled."""

    code_hash: str
    expires_at: datetime
    tries: int = 0


class ErasureByNumber(msgspec.Struct, frozen=True, kw_only=True):
    """What a number's erasure stream says: the code pending, if any."""

    pending: PendingCode | None = None


def code_digest(key: str, phone: str, code: str) -> str:
    """The only trace of a code: keyed (without the key a 6-digit code cannot be tried) and
    tied to the number, so a code sent to one number confirms nothing for another."""
    message = f"erasure-code:{phone}:{code}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def evolve(state: ErasureByNumber, event: Event) -> ErasureByNumber:
    match event:
        case ErasureCodeIssued(code_hash=code_hash, expires_at=expires_at):
            return ErasureByNumber(pending=PendingCode(code_hash=code_hash, expires_at=expires_at))
        case ErasureCodeRejected(cancelled=True) | ResidentErasureConfirmed():
            return ErasureByNumber()
        case ErasureCodeRejected(tries=tries) if state.pending is not None:
            return ErasureByNumber(pending=msgspec.structs.replace(state.pending, tries=tries))
        case _:
            return state


def erasure_state(events: Iterable[Event]) -> ErasureByNumber:
    return fold(evolve, events, ErasureByNumber())


class SendCode(msgspec.Struct, frozen=True, kw_only=True):
    """Send this code at once (never queued) and record `issued` once it was taken."""

    code: str
    issued: ErasureCodeIssued


class ErasureDecision(msgspec.Struct, frozen=True, kw_only=True):
    """What an XOA (with or without a code) leads to: facts, a code to send, an answer."""

    events: tuple[Event, ...] = ()
    send_code: SendCode | None = None
    answer: Answer | None = None


def decide_erasure_sms(
    state: ErasureByNumber,
    ask: Erase,
    *,
    phone: str,
    inbound_id: InboundSmsId,
    language: SmsLanguage | None,
    now: datetime,
    fresh_code: str,
    key: str,
    rules: CodeRules,
) -> ErasureDecision:
    """XOA: a new code (replacing any pending). XOA and a code: confirmed, or refused."""
    if ask.code is None:
        issued = ErasureCodeIssued(
            inbound_id=inbound_id,
            phone=phone,
            code_hash=code_digest(key, phone, fresh_code),
            expires_at=now + rules.valid_for,
            issued_at=now,
        )
        return ErasureDecision(send_code=SendCode(code=fresh_code, issued=issued))
    pending = state.pending
    if pending is None:
        if ask.bare:  # six digits and nothing pending: not an erasure code at all
            return ErasureDecision(
                answer=Answer(kind=SmsKind.REPLY_UNKNOWN, context=UnknownReplyContext())
            )
        return ErasureDecision(answer=_expired())
    if now >= pending.expires_at:
        rejected = ErasureCodeRejected(
            inbound_id=inbound_id,
            reason=ErasureCodeRejection.EXPIRED,
            tries=pending.tries,
            cancelled=True,
            rejected_at=now,
        )
        return ErasureDecision(events=(rejected,), answer=_expired())
    if hmac.compare_digest(code_digest(key, phone, ask.code), pending.code_hash):
        confirmed = ResidentErasureConfirmed(
            inbound_id=inbound_id, phone=phone, language=language, confirmed_at=now
        )
        return ErasureDecision(events=(confirmed,))
    tries = pending.tries + 1
    cancelled = tries >= rules.max_tries
    rejected = ErasureCodeRejected(
        inbound_id=inbound_id,
        reason=ErasureCodeRejection.WRONG,
        tries=tries,
        cancelled=cancelled,
        rejected_at=now,
    )
    answer = (
        Answer(kind=SmsKind.ERASURE_CODE_CANCELLED, context=ErasureCodeCancelledContext())
        if cancelled
        else Answer(
            kind=SmsKind.ERASURE_CODE_WRONG,
            context=ErasureCodeWrongContext(tries_left=rules.max_tries - tries),
        )
    )
    return ErasureDecision(events=(rejected,), answer=answer)


def _expired() -> Answer:
    return Answer(kind=SmsKind.ERASURE_CODE_EXPIRED, context=ErasureCodeExpiredContext())
