"""Erasure asked by SMS (XOA): the code sent at once, the code checked, the confirmation
recorded for the scheduler (`resident.erasure_confirmed`).

A number's erasure stream is `erasure-<keyed hash of the number>`: found again from the number
alone, naming no number. The code goes to the provider directly, like a sign-in code: the
outbox and the sender would keep its text (and retry it). A provider that does not take it
fails the webhook (503), so the provider delivers the XOA again and a new code is made.
"""

from __future__ import annotations

import logging
import secrets

import msgspec

from services.notifications.domain.erasure_codes import decide_erasure_sms, erasure_state
from services.notifications.domain.replies import Answer, Erase, InboundSms
from services.notifications.domain.templates import ErasureCodeContext, render
from services.notifications.optouts import keyed
from services.notifications.providers.base import ProviderError, SmsProvider
from services.notifications.settings import NotificationSettings
from services.notifications.sign_in import CodeNotSentError
from shared.events.base import Cause, Event
from shared.events.notifications import InboundSmsId, MessageId, SmsKind, SmsLanguage
from shared.ids import uuid7
from shared.phones import mask_phone
from shared.store.eventstore import Transaction

log = logging.getLogger("handinhand.notifications.erasure")


def erasure_stream(settings: NotificationSettings, phone: str) -> str:
    return "erasure-" + keyed(settings, f"erasure:{phone}")[:26]


def new_code() -> str:
    """Six random digits, from the operating system's secure source."""
    return f"{secrets.randbelow(1_000_000):06d}"


async def erasure_asked_by_sms(
    tx: Transaction,
    sms: InboundSms,
    ask: Erase,
    *,
    inbound_id: InboundSmsId,
    language: SmsLanguage,
    provider: SmsProvider,
    settings: NotificationSettings,
    cause: Cause,
) -> Answer | None:
    """Send a code, or check the one sent back; the answer to queue, if any."""
    stream_id = erasure_stream(settings, sms.from_phone)
    stream = await tx.load(stream_id)
    decision = decide_erasure_sms(
        erasure_state(recorded.event for recorded in stream.events),
        ask,
        phone=sms.from_phone,
        inbound_id=inbound_id,
        language=language,
        now=sms.received_at,
        fresh_code=new_code(),
        key=settings.opt_out_key,
        rules=settings.erasure_codes,
    )
    events: list[Event] = list(decision.events)
    if decision.send_code is not None:
        code, issued = decision.send_code.code, decision.send_code.issued
        minutes = settings.erasure_code_minutes
        text = render(
            SmsKind.ERASURE_CODE,
            language,
            ErasureCodeContext(code=code, minutes=minutes),
            strip_diacritics=False,
        ).text
        message_id = MessageId(str(uuid7()))
        try:
            receipt = await provider.send(sms.from_phone, text, message_id)
        except ProviderError as error:
            # The error names the provider's status, never the text.
            log.warning(
                "erasure code to %s not taken: %s", mask_phone(sms.from_phone), type(error).__name__
            )
            raise CodeNotSentError("the SMS provider did not take the code") from None
        sent = msgspec.structs.replace(
            issued, provider=provider.name, provider_message_id=receipt.provider_message_id
        )
        events.append(sent)
    if events:
        await tx.append(stream_id, stream.version, events, cause)
    return decision.answer
