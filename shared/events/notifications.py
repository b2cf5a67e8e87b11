"""Events published by the notifications service: the contract other services consume.

Message streams are `sms-<uuid>` (the uuid derived from cause, recipient and kind), inbound
streams `inbound-<uuid>`, recipients `recipient-<uuid7>` (random: a hash of a 10-digit number
could be reversed), awaited replies `awaiting-<uuid>` and reminders `reminders-<uuid>` (both
derived from the assignment or booking id); phone numbers travel in event bodies only, never in
ids or subjects.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, NewType
from uuid import UUID

from shared.events.base import Event
from shared.events.catalog import Upcaster
from shared.events.personal import Personal
from shared.events.vocabulary import Topic

MessageId = NewType("MessageId", str)
InboundSmsId = NewType("InboundSmsId", str)


class SmsLanguage(StrEnum):
    """The language an SMS is written in (its templates exist in these two); Vietnamese unless
    the recipient chose English."""

    VI = "vi"
    EN = "en"


class SmsEncoding(StrEnum):
    """How the network carries the text: GSM-7 is cheap, UCS-2 is needed for diacritics."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


class SmsKind(StrEnum):
    """Which template an SMS was written from; part of its idempotency key."""

    ASSIGNMENT_PROPOSED = "assignment_proposed"
    ASSIGNMENT_REMINDER = "assignment_reminder"
    ASSIGNMENT_RELEASED = "assignment_released"
    ASSIGNMENT_CHANGED = "assignment_changed"
    ASSIGNMENT_ACCEPTED = "assignment_accepted"
    RESIDENT_BOOKED = "resident_booked"
    RESIDENT_WAITLISTED = "resident_waitlisted"
    RESIDENT_MOVED = "resident_moved"
    RESIDENT_MOVED_TO_WAITLIST = "resident_moved_to_waitlist"
    RESIDENT_REMINDER = "resident_reminder"
    RESIDENT_CANCELLED = "resident_cancelled"
    RESIDENT_RESCHEDULED = "resident_rescheduled"
    UNDERSTAFFING_ALERT = "understaffing_alert"
    DELIVERY_FAILED_ALERT = "delivery_failed_alert"
    REPLY_ACCEPT_OK = "reply_accept_ok"
    REPLY_DECLINE_OK = "reply_decline_ok"
    REPLY_STOP_CONFIRMED = "reply_stop_confirmed"
    REPLY_START_CONFIRMED = "reply_start_confirmed"
    REPLY_HELP_RECEIVED = "reply_help_received"  # no longer sent: kept for stored messages
    REPLY_UNKNOWN = "reply_unknown"
    REPLY_AMBIGUOUS = "reply_ambiguous"
    HELP_REQUEST_REFUSED = "help_request_refused"
    RESIDENT_ERASED = "resident_erased"  # a resident's data was erased, as they or staff asked
    VOLUNTEER_ERASED = "volunteer_erased"  # a volunteer's data was erased
    # Sent at once, never queued (the code is not stored): see `SignInCodeSent`.
    SIGN_IN_CODE = "sign_in_code"
    # Erasure asked by SMS (XOA): the code is sent at once, never queued (see ErasureCodeIssued).
    ERASURE_CODE = "erasure_code"
    ERASURE_CODE_WRONG = "erasure_code_wrong"
    ERASURE_CODE_EXPIRED = "erasure_code_expired"
    ERASURE_CODE_CANCELLED = "erasure_code_cancelled"
    RESIDENT_NOTHING_HELD = "resident_nothing_held"  # erased by SMS, no help request held
    COPY_GIVEN = "copy_given"  # a copy of a resident's data was handed to staff (issue 16)


class ReplyIntent(StrEnum):
    """What an inbound SMS was understood to mean."""

    ACCEPT = "accept"
    DECLINE = "decline"
    STOP = "stop"
    START = "start"
    HELP = "help"
    UNKNOWN = "unknown"
    ERASE = "erase"


class AssignmentAnswer(StrEnum):
    """A volunteer's answer to a proposed assignment."""

    ACCEPTED = "accepted"
    DECLINED = "declined"


class SmsQueued(Event, frozen=True, kw_only=True):
    """An SMS was written and stored before any provider call, so it is sent once at most."""

    event_type: ClassVar[str] = "sms.queued"
    person: ClassVar[str] = "~recipient_phone"
    message_id: MessageId
    cause_event_id: UUID
    kind: SmsKind
    recipient_phone: Personal
    language: SmsLanguage
    text: Personal
    encoding: SmsEncoding
    parts: int
    stripped: bool
    parts_saved: int
    urgent: bool
    send_after: datetime
    queued_at: datetime
    # Added later (defaults keep old events readable): what the SMS is about, for alerts.
    commune_code: str | None = None
    reference: str | None = None
    recipient_name: Personal | None = None
    session_starts_at: datetime | None = None
    # Added later: the support session the SMS is about (its residents', its volunteers', its
    # coordinators'), so a session's page lists its SMS; None for SMS about no session.
    session_id: str | None = None


class SmsSuppressed(Event, frozen=True, kw_only=True):
    """An SMS was not sent because its recipient opted out; kept so a coordinator can see it."""

    event_type: ClassVar[str] = "sms.suppressed"
    person: ClassVar[str] = "~recipient_phone"
    message_id: MessageId
    cause_event_id: UUID
    kind: SmsKind
    recipient_phone: Personal
    reason: str
    suppressed_at: datetime


class SmsSendingStarted(Event, frozen=True, kw_only=True):
    """A send attempt began; after a crash this says the provider may already have the SMS."""

    event_type: ClassVar[str] = "sms.sending_started"
    message_id: MessageId
    attempt: int
    started_at: datetime


class SmsAttemptFailed(Event, frozen=True, kw_only=True):
    """A send attempt failed for a reason that may pass (timeout, 5xx, rate limit)."""

    event_type: ClassVar[str] = "sms.attempt_failed"
    message_id: MessageId
    attempt: int
    reason: str
    retry_at: datetime
    failed_at: datetime


class SmsSent(Event, frozen=True, kw_only=True):
    """The provider accepted the SMS; the cost is visible in encoding, parts and parts saved."""

    event_type: ClassVar[str] = "sms.sent"
    message_id: MessageId
    provider: str
    provider_message_id: str
    attempt: int
    encoding: SmsEncoding
    parts: int
    stripped: bool
    parts_saved: int
    sent_at: datetime
    # The sender was interrupted and learned this by asking the provider afterwards.
    found_by_lookup: bool = False


class SmsLookupFailed(Event, frozen=True, kw_only=True):
    """The provider could not say whether it has an interrupted SMS; it is asked again at
    `retry_at`, never resent blindly."""

    event_type: ClassVar[str] = "sms.lookup_failed"
    message_id: MessageId
    attempt: int
    lookup: int
    reason: str
    retry_at: datetime
    failed_at: datetime


class SmsDelivered(Event, frozen=True, kw_only=True):
    """The network reported the SMS reached the handset."""

    event_type: ClassVar[str] = "sms.delivered"
    message_id: MessageId
    provider_message_id: str
    delivered_at: datetime


class SmsFailed(Event, frozen=True, kw_only=True):
    """The SMS will not arrive; coordinators are alerted to reach the person another way."""

    event_type: ClassVar[str] = "sms.failed"
    person: ClassVar[str] = "~recipient_phone"
    message_id: MessageId
    cause_event_id: UUID
    kind: SmsKind
    recipient_phone: Personal
    reason: str
    attempts: int
    failed_at: datetime


class SmsReceived(Event, frozen=True, kw_only=True):
    """An SMS came in through a signed webhook, with what it was understood to mean."""

    event_type: ClassVar[str] = "sms.received"
    person: ClassVar[str] = "~from_phone"
    inbound_id: InboundSmsId
    provider_message_id: str
    from_phone: Personal
    text: Personal
    intent: ReplyIntent
    short_code: str | None = None
    received_at: datetime


class RecipientOptedOut(Event, frozen=True, kw_only=True):
    """A phone number asked to receive no more SMS (only the confirmation of this is sent)."""

    event_type: ClassVar[str] = "recipient.opted_out"
    person: ClassVar[str] = "~phone"
    phone: Personal
    keyword: str
    opted_out_at: datetime


class RecipientOptedIn(Event, frozen=True, kw_only=True):
    """A phone number that had opted out asked to receive SMS again."""

    event_type: ClassVar[str] = "recipient.opted_in"
    person: ClassVar[str] = "~phone"
    phone: Personal
    keyword: str
    opted_in_at: datetime


class AssignmentReplyReceived(Event, frozen=True, kw_only=True):
    """A volunteer accepted or declined an assignment by SMS; the volunteers service decides."""

    event_type: ClassVar[str] = "assignment.reply_received"
    person: ClassVar[str] = "~volunteer_phone"
    inbound_id: InboundSmsId
    volunteer_phone: Personal
    answer: AssignmentAnswer
    assignment_id: str | None = None
    short_code: str | None = None
    received_at: datetime


class HelpRequestedBySms(Event, frozen=True, kw_only=True):
    """A resident asked for help by SMS keyword; the scheduler turns it into a help request.

    `topic` is the session topic the keyword names (none: no keyword). Version 1 carried a
    keyword vocabulary of its own (`vneid`, `public_services`, ..., `other`).
    """

    event_type: ClassVar[str] = "help.requested_by_sms"
    person: ClassVar[str] = "~resident_phone"
    schema_version: ClassVar[int] = 2
    inbound_id: InboundSmsId
    resident_phone: Personal
    topic: Topic | None = None
    commune_text: Personal | None = None
    commune_code: str | None = None
    text: Personal
    received_at: datetime


class RecipientRegistered(Event, frozen=True, kw_only=True):
    """A phone number got a stream of its own (a random id, so the id reveals no number)."""

    event_type: ClassVar[str] = "recipient.registered"
    person: ClassVar[str] = "~phone"
    recipient_id: str
    phone: Personal
    registered_at: datetime


class RecipientPreferencesChanged(Event, frozen=True, kw_only=True):
    """A recipient chose a language or plain letters without diacritics (cheaper SMS)."""

    event_type: ClassVar[str] = "recipient.preferences_changed"
    person: ClassVar[str] = "~phone"
    phone: Personal
    language: SmsLanguage | None = None
    strip_diacritics: bool | None = None
    changed_at: datetime


class AssignmentReplyAwaited(Event, frozen=True, kw_only=True):
    """A proposal went out by SMS; a reply from this phone may answer it (by its short code)."""

    event_type: ClassVar[str] = "sms.reply_awaited"
    person: ClassVar[str] = "~volunteer_phone"
    assignment_id: str
    slot_id: str = ""
    volunteer_phone: Personal
    volunteer_name: Personal = ""
    short_code: str
    topic: str
    venue: str
    starts_at: datetime
    commune_code: str | None = None
    awaited_at: datetime


class AssignmentReplyClosed(Event, frozen=True, kw_only=True):
    """A proposal was answered, expired or released: replies can no longer be matched to it."""

    event_type: ClassVar[str] = "sms.reply_closed"
    assignment_id: str
    reason: str
    closed_at: datetime


class RemindersPlanned(Event, frozen=True, kw_only=True):
    """Reminder SMS for a booking or assignment are due at these times (replaces earlier plans)."""

    event_type: ClassVar[str] = "sms.reminders_planned"
    person: ClassVar[str] = "~recipient_phone"
    target_id: str
    kind: SmsKind
    recipient_phone: Personal
    recipient_name: Personal = ""
    language: SmsLanguage | None = None
    topic: str
    venue: str
    commune_code: str | None = None
    starts_at: datetime
    due_at: tuple[datetime, ...] = ()
    planned_at: datetime
    session_id: str | None = None  # added later: the session the reminders are about


class RemindersCancelled(Event, frozen=True, kw_only=True):
    """A booking or assignment ended, so its reminders will not be sent."""

    event_type: ClassVar[str] = "sms.reminders_cancelled"
    target_id: str
    reason: str
    cancelled_at: datetime


class CoordinatorContactSet(Event, frozen=True, kw_only=True):
    """Where a coordinator gets staffing and delivery-failure alerts, for which communes."""

    event_type: ClassVar[str] = "sms.coordinator_contact_set"
    person: ClassVar[str] = "~phone"
    coordinator_id: str
    phone: Personal
    language: SmsLanguage = SmsLanguage.VI
    commune_codes: tuple[str, ...] = ()
    set_at: datetime


class SignInCodeSent(Event, frozen=True, kw_only=True):
    """A console sign-in code left for the provider, urgent (quiet hours never hold it).

    Only the fact is kept: the code is in no event, table, subject or log line; it was handed
    to the provider at once, so nothing is queued or retried (the console asks again).
    """

    event_type: ClassVar[str] = "sms.sign_in_code_sent"
    person: ClassVar[str] = "~phone"
    message_id: MessageId
    phone: Personal
    provider: str
    provider_message_id: str
    sent_at: datetime


class ResidentForgotten(Event, frozen=True, kw_only=True):
    """The notifications service forgot a resident the scheduler is erasing: the texts and
    numbers of their messages are blanked (their delivery facts stay), their recipient row is
    gone, or kept only as `opted_out_hash` (a keyed hash of the number) so a STOP they sent
    is still honoured. Stream `forgotten-<request id>`; the scheduler then destroys their key."""

    event_type: ClassVar[str] = "resident.forgotten"
    request_id: str
    recipient_id: str | None = None
    message_ids: tuple[str, ...] = ()
    opted_out_hash: str | None = None
    forgotten_at: datetime


class VolunteerForgotten(Event, frozen=True, kw_only=True):
    """The notifications service forgot a volunteer the volunteers service is erasing, as it
    forgets a resident (`resident.forgotten`). Stream `forgotten-<volunteer id>`; the volunteers
    service then destroys their key."""

    event_type: ClassVar[str] = "volunteer.forgotten"
    volunteer_id: str
    recipient_id: str | None = None
    message_ids: tuple[str, ...] = ()
    opted_out_hash: str | None = None
    forgotten_at: datetime


class ErasureCodeRejection(StrEnum):
    """Why an erasure code sent by SMS did not confirm anything."""

    WRONG = "wrong"
    EXPIRED = "expired"


class ErasureCodeIssued(Event, frozen=True, kw_only=True):
    """A number texted XOA: a confirmation code went to it at once (never queued), and only
    its keyed hash is kept. Stream `erasure-<keyed hash of the number>`; a new code replaces
    the one pending."""

    event_type: ClassVar[str] = "resident.erasure_code_issued"
    person: ClassVar[str] = "~phone"
    inbound_id: InboundSmsId
    phone: Personal
    code_hash: str
    provider: str = ""
    provider_message_id: str = ""
    expires_at: datetime
    issued_at: datetime


class ErasureCodeRejected(Event, frozen=True, kw_only=True):
    """A code sent back was wrong or too late; `cancelled`: the pending code no longer works
    (expired, or too many wrong tries)."""

    event_type: ClassVar[str] = "resident.erasure_code_rejected"
    inbound_id: InboundSmsId
    reason: ErasureCodeRejection
    tries: int
    cancelled: bool = False
    rejected_at: datetime


class ResidentErasureConfirmed(Event, frozen=True, kw_only=True):
    """The owner of a number sent back the right code: everything about the number is to be
    erased. The scheduler erases each help request of the number (`resident.erasure_requested`
    with `confirmation_id` = this event's id, so the resident gets one SMS)."""

    event_type: ClassVar[str] = "resident.erasure_confirmed"
    person: ClassVar[str] = "~phone"
    inbound_id: InboundSmsId
    phone: Personal
    language: SmsLanguage | None = None
    confirmed_at: datetime


class NumberForgotten(Event, frozen=True, kw_only=True):
    """A number erased by SMS that no help request held is forgotten as a resident's is
    (`resident.forgotten`): texts and numbers of its SMS blanked, its recipient row gone or
    kept only as `opted_out_hash`. On the erasure stream (`erasure-<keyed hash>`)."""

    event_type: ClassVar[str] = "number.forgotten"
    confirmation_id: UUID
    recipient_id: str | None = None
    message_ids: tuple[str, ...] = ()
    opted_out_hash: str | None = None
    forgotten_at: datetime


class SmsRetentionRan(Event, frozen=True, kw_only=True):
    """The daily retention run blanked, in the SMS log, the texts of settled SMS queued before
    `texts_before`, and the text and number of answers to inbound SMS that matched nothing
    queued before `unmatched_before`; delivery facts stay. At most a batch of each a run: with
    `more_due` the next follows within minutes. Stream `retention`."""

    event_type: ClassVar[str] = "sms_retention.ran"
    texts_before: datetime
    texts_blanked: int
    unmatched_before: datetime
    unmatched_blanked: int
    more_due: bool
    ran_at: datetime


EVENTS: tuple[type[Event], ...] = (
    SmsQueued,
    SmsSuppressed,
    SmsSendingStarted,
    SmsAttemptFailed,
    SmsSent,
    SmsLookupFailed,
    SmsDelivered,
    SmsFailed,
    SmsReceived,
    RecipientOptedOut,
    RecipientOptedIn,
    AssignmentReplyReceived,
    HelpRequestedBySms,
    RecipientRegistered,
    RecipientPreferencesChanged,
    AssignmentReplyAwaited,
    AssignmentReplyClosed,
    RemindersPlanned,
    RemindersCancelled,
    CoordinatorContactSet,
    SignInCodeSent,
    ResidentForgotten,
    VolunteerForgotten,
    SmsRetentionRan,
    ErasureCodeIssued,
    ErasureCodeRejected,
    ResidentErasureConfirmed,
    NumberForgotten,
)

# help.requested_by_sms v1 named its topic by SMS keyword; v2 by the topic itself.
_TOPIC_OF_KEYWORD = {
    "vneid": Topic.VNEID_ACTIVATION.value,
    "public_services": Topic.ONLINE_PUBLIC_SERVICES.value,
    "cashless_payment": Topic.CASHLESS_PAYMENT.value,
    "smartphone_basics": Topic.SMARTPHONE_BASICS.value,
}


def _topic_named_by_keyword(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "topic": _TOPIC_OF_KEYWORD.get(raw.get("topic") or "")}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("help.requested_by_sms", 1): _topic_named_by_keyword,
}
