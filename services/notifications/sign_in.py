"""Console sign-in codes: written and handed to the provider at once, urgent, never queued.

The code is in no event, table, subject or log line: the outbox and the sender would keep the
text (and retry it), so this path sends directly and records only the delivery fact
(`SignInCodeSent`). A provider that does not take it is a 503: the console says try again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from services.notifications.delivery import SmsChannel
from services.notifications.domain.templates import SignInCodeContext, render
from services.notifications.providers.base import ProviderError
from shared.events.base import Cause
from shared.events.notifications import MessageId, SignInCodeSent, SmsKind, SmsLanguage
from shared.ids import uuid7
from shared.phones import mask_phone
from shared.store.eventstore import EventStore

log = logging.getLogger("handinhand.notifications.sign_in")


class CodeNotSentError(Exception):
    """The provider did not take the sign-in code (503: ask for a new one)."""


async def send_sign_in_code(
    store: EventStore,
    channel: SmsChannel,
    phone: str,
    code: str,
    language: SmsLanguage,
    *,
    now: datetime,
    cause: Cause,
) -> SignInCodeSent:
    message_id = MessageId(str(uuid7()))
    sms = render(
        SmsKind.SIGN_IN_CODE, language, SignInCodeContext(code=code), strip_diacritics=False
    )
    try:
        receipt = await channel.provider.send(phone, sms.text, message_id)
    except ProviderError as error:
        # The error names the provider's status, never the text.
        log.warning("sign-in code to %s not taken: %s", mask_phone(phone), type(error).__name__)
        raise CodeNotSentError("the SMS provider did not take the code; try again") from None
    sent = SignInCodeSent(
        message_id=message_id,
        phone=phone,
        provider=channel.provider.name,
        provider_message_id=receipt.provider_message_id,
        sent_at=now,
    )
    await store.append(f"signin-{message_id}", 0, [sent], cause)
    return sent
