"""What an inbound SMS means: accept/decline (with an optional short code), stop, start, help,
erase (XOA, then XOA and the confirmation code: services/notifications/domain/erasure_codes.py).

Every inbound SMS gets one answer. A request for help is answered by what the scheduler does
with it (booked, waiting, or refused with the reason), not here: a receipt first and the
booking after would be two answers, the first promising a call that never comes.

Residents and volunteers type on feature phones, with or without diacritics, in any case, with
stray spaces and punctuation, sometimes with polite particles ("Dạ có ạ"). Anything that is not
clearly one of the known answers is `Unknown`, never a guess: "Không biết" is not a decline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import msgspec
from unidecode import unidecode

from services.notifications.domain.templates import (
    MAX_PENDING_CODES,
    TOPIC_MAX,
    AcceptOkContext,
    AmbiguousReplyContext,
    DeclineOkContext,
    StartConfirmedContext,
    StopConfirmedContext,
    TemplateContext,
    UnknownReplyContext,
    clip,
)
from shared.events.base import Event
from shared.events.notifications import (
    AssignmentAnswer,
    AssignmentReplyReceived,
    HelpRequestedBySms,
    InboundSmsId,
    RecipientOptedIn,
    RecipientOptedOut,
    ReplyIntent,
    SmsKind,
    SmsReceived,
)
from shared.events.vocabulary import Topic
from shared.ids import derived_id


class Accept(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer says yes to a proposed assignment."""

    short_code: str | None = None


class Decline(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer says no to a proposed assignment."""

    short_code: str | None = None


class Stop(msgspec.Struct, frozen=True, kw_only=True):
    """The sender wants no more SMS."""

    keyword: str


class Start(msgspec.Struct, frozen=True, kw_only=True):
    """The sender wants SMS again after stopping."""

    keyword: str


class HelpRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A resident asks for help, maybe naming a topic and their commune (as typed, or its code)."""

    topic: Topic | None = None
    commune_text: str | None = None
    commune_code: str | None = None


class Erase(msgspec.Struct, frozen=True, kw_only=True):
    """The sender asks that everything about their number be erased (no code: send one), or
    confirms it with the code they were sent; `bare`: only the code, which counts as one only
    while a code is pending for the number."""

    code: str | None = None
    bare: bool = False


class Unknown(msgspec.Struct, frozen=True, kw_only=True):
    """Nothing we understand; the sender gets a list of what can be sent."""

    normalized: str


Reply = Accept | Decline | Stop | Start | HelpRequest | Erase | Unknown

ACCEPT_WORDS = frozenset(
    {"C", "CO", "YES", "Y", "1", "OK", "OKE", "OKAY", "DONG Y", "VANG", "NHAN", "CO NHAN"}
)
DECLINE_WORDS = frozenset(
    {
        "K",
        "KO",
        "KG",
        "KHG",
        "KHONG",
        "NO",
        "N",
        "2",
        "TU CHOI",
        "KHONG NHAN",
        "KHONG DI DUOC",
        "KHONG THE",
        "KHONG THAM GIA",
    }
)
STOP_WORDS = frozenset(
    {"HUY", "STOP", "DUNG", "NGUNG", "STOPALL", "UNSUBSCRIBE", "HUY DANG KY", "HUY NHAN TIN"}
)
START_WORDS = frozenset({"BATDAU", "BAT DAU", "START", "UNSTOP", "DANG KY LAI"})
HELP_WORDS = ("GIUP DO", "GIUPDO", "GIUP", "HELP", "HO TRO", "HOTRO", "TRO GIUP")
# Polite particles and greetings that change nothing about the answer.
FILLER_WORDS = frozenset(
    {"A", "AH", "AK", "DA", "NHE", "NHA", "NHEN", "EM", "ANH", "CHI", "CAM ON", "CAMON", "XIN"}
)
# The keywords residents type for a topic, folded to ASCII upper case: the first that begins
# the text names its topic.
HELP_TOPICS: tuple[tuple[str, Topic], ...] = (
    ("VNEID", Topic.VNEID_ACTIVATION),
    ("VNE ID", Topic.VNEID_ACTIVATION),
    ("VNID", Topic.VNEID_ACTIVATION),
    ("DINH DANH", Topic.VNEID_ACTIVATION),
    ("CCCD", Topic.VNEID_ACTIVATION),
    ("DICH VU CONG", Topic.ONLINE_PUBLIC_SERVICES),
    ("DICHVUCONG", Topic.ONLINE_PUBLIC_SERVICES),
    ("DVC", Topic.ONLINE_PUBLIC_SERVICES),
    ("HO SO", Topic.ONLINE_PUBLIC_SERVICES),
    ("THANH TOAN", Topic.CASHLESS_PAYMENT),
    ("THANHTOAN", Topic.CASHLESS_PAYMENT),
    ("CHUYEN KHOAN", Topic.CASHLESS_PAYMENT),
    ("NGAN HANG", Topic.CASHLESS_PAYMENT),
    ("QR", Topic.CASHLESS_PAYMENT),
    ("DIEN THOAI", Topic.SMARTPHONE_BASICS),
    ("DIENTHOAI", Topic.SMARTPHONE_BASICS),
    ("SMARTPHONE", Topic.SMARTPHONE_BASICS),
)
COMMUNE_PREFIXES = ("XA ", "PHUONG ", "P ", "X ")
# "Erase my data" (XÓA, XÓA DỮ LIỆU folded), alone or followed by the 6-digit code.
ERASE_WORDS = frozenset({"XOA", "XOA DU LIEU", "XOADULIEU", "ERASE"})

_NOT_WORD = re.compile(r"[^A-Z0-9]+")
_GLUED_CODE = re.compile(r"^([A-Z]+)([0-9]{4})$|^([0-9]{4})([A-Z]+)$")
_SHORT_CODE = re.compile(r"^[0-9]{4}$")
_COMMUNE_CODE = re.compile(r"^[0-9]{5}$")
_ERASURE_CODE = re.compile(r"^[0-9]{6}$")


def normalize(text: str) -> str:
    """Upper-case ASCII words separated by single spaces: "  Có, 4821!" -> "CO 4821"."""
    folded = unidecode(text).upper()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def _split_glued(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        glued = _GLUED_CODE.match(token)
        if glued:
            out.extend(part for part in glued.groups() if part)
        else:
            out.append(token)
    return out


def _drop_fillers(tokens: list[str]) -> list[str]:
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        pair = " ".join(tokens[i : i + 2])
        if pair in FILLER_WORDS:
            i += 2
            continue
        if tokens[i] not in FILLER_WORDS:
            kept.append(tokens[i])
        i += 1
    return kept


def _answer(tokens: list[str]) -> Accept | Decline | None:
    codes = [t for t in tokens if _SHORT_CODE.match(t)]
    if len(codes) > 1:
        return None
    words = _drop_fillers([t for t in tokens if not _SHORT_CODE.match(t)])
    phrase = " ".join(words)
    code = codes[0] if codes else None
    if phrase in ACCEPT_WORDS:
        return Accept(short_code=code)
    if phrase in DECLINE_WORDS:
        return Decline(short_code=code)
    return None


def _help(normalized: str) -> HelpRequest | None:
    rest: str | None = None
    for word in HELP_WORDS:
        if normalized == word or normalized.startswith(word + " "):
            rest = normalized[len(word) :].strip()
            break
    topic: Topic | None = None
    for keyword, candidate in HELP_TOPICS:
        probe = normalized if rest is None else rest
        if probe == keyword or probe.startswith(keyword + " "):
            topic = candidate
            rest = probe[len(keyword) :].strip()
            break
    if rest is None:
        return None
    for prefix in COMMUNE_PREFIXES:
        if rest.startswith(prefix):
            rest = rest[len(prefix) :]
            break
    if not rest:
        return HelpRequest(topic=topic)
    if _COMMUNE_CODE.match(rest):
        return HelpRequest(topic=topic, commune_code=rest)
    return HelpRequest(topic=topic, commune_text=rest)


def _erase(normalized: str) -> Erase | None:
    if normalized in ERASE_WORDS:
        return Erase()
    if _ERASURE_CODE.match(normalized):
        return Erase(code=normalized, bare=True)
    words, _, last = normalized.rpartition(" ")
    if not words:  # glued: "XOA123456"
        words, last = normalized[:-6], normalized[-6:]
    if words in ERASE_WORDS and _ERASURE_CODE.match(last):
        return Erase(code=last)
    return None


def without_code(text: str) -> str:
    """The text of an SMS as recorded: an erasure code is kept nowhere, so digits go."""
    return re.sub(r"[0-9]", "*", text)


def parse_reply(text: str) -> Reply:
    """Understand an inbound SMS without caring for case, diacritics, spaces or punctuation."""
    normalized = normalize(text)
    if normalized in STOP_WORDS:
        return Stop(keyword=normalized)
    if normalized in START_WORDS:
        return Start(keyword=normalized)
    erase = _erase(normalized)
    if erase is not None:
        return erase
    answer = _answer(_split_glued(normalized.split()))
    if answer is not None:
        return answer
    request = _help(normalized)
    if request is not None:
        return request
    return Unknown(normalized=normalized)


_INTENTS: dict[type[Reply], ReplyIntent] = {
    Accept: ReplyIntent.ACCEPT,
    Decline: ReplyIntent.DECLINE,
    Stop: ReplyIntent.STOP,
    Start: ReplyIntent.START,
    HelpRequest: ReplyIntent.HELP,
    Erase: ReplyIntent.ERASE,
    Unknown: ReplyIntent.UNKNOWN,
}


def intent_of(reply: Reply) -> ReplyIntent:
    """The intent recorded on `sms.received`."""
    return _INTENTS[type(reply)]


class PendingAssignment(msgspec.Struct, frozen=True, kw_only=True):
    """An assignment proposed to a volunteer by SMS and not answered yet."""

    assignment_id: str
    short_code: str
    topic: str
    starts_at: datetime


class Matched(msgspec.Struct, frozen=True, kw_only=True):
    """The answer belongs to exactly this pending assignment."""

    assignment: PendingAssignment


class NeedsShortCode(msgspec.Struct, frozen=True, kw_only=True):
    """Several are pending and the answer did not say which, or its code matched none: ask."""

    codes: tuple[str, ...]


class NothingPending(msgspec.Struct, frozen=True, kw_only=True):
    """The volunteer has no pending assignment to answer."""


AnswerMatch = Matched | NeedsShortCode | NothingPending


def match_pending(answer: Accept | Decline, pending: Sequence[PendingAssignment]) -> AnswerMatch:
    """Which pending assignment an accept/decline is for: by short code, or the only one."""
    codes = tuple(sorted(a.short_code for a in pending))[:MAX_PENDING_CODES]
    if not pending:
        return NothingPending()
    if answer.short_code is not None:
        for assignment in pending:
            if assignment.short_code == answer.short_code:
                return Matched(assignment=assignment)
        # A code that matches nothing open may be a typo or an answered one: ask, never guess.
        return NeedsShortCode(codes=codes)
    if len(pending) == 1:
        return Matched(assignment=pending[0])
    return NeedsShortCode(codes=codes)


class InboundSms(msgspec.Struct, frozen=True, kw_only=True):
    """An SMS that arrived through a provider webhook whose signature was checked."""

    provider_message_id: str
    from_phone: str
    to_phone: str
    text: str
    received_at: datetime


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """The SMS to send back to the sender of an inbound SMS."""

    kind: SmsKind
    context: TemplateContext


class InboundDecision(msgspec.Struct, frozen=True, kw_only=True):
    """What an inbound SMS leads to: facts to append, and the answer to send (if any)."""

    events: tuple[Event, ...]
    answer: Answer | None
    erase: Erase | None = None  # an erasure asked or confirmed: its own rules answer


def inbound_id_for(provider_message_id: str) -> InboundSmsId:
    """A webhook the provider delivers twice names the same inbound SMS, so it counts once."""
    return InboundSmsId(f"inbound-{derived_id('inbound', provider_message_id)}")


def _assignment_answer(
    reply: Accept | Decline,
    sms: InboundSms,
    inbound_id: InboundSmsId,
    pending: Sequence[PendingAssignment],
) -> tuple[list[Event], Answer]:
    match match_pending(reply, pending):
        case Matched(assignment=assignment):
            accepted = isinstance(reply, Accept)
            event = AssignmentReplyReceived(
                inbound_id=inbound_id,
                volunteer_phone=sms.from_phone,
                answer=AssignmentAnswer.ACCEPTED if accepted else AssignmentAnswer.DECLINED,
                assignment_id=assignment.assignment_id,
                short_code=assignment.short_code,
                received_at=sms.received_at,
            )
            topic = clip(assignment.topic, TOPIC_MAX)
            context: TemplateContext = (
                AcceptOkContext(topic=topic, starts_at=assignment.starts_at)
                if accepted
                else DeclineOkContext(topic=topic, starts_at=assignment.starts_at)
            )
            kind = SmsKind.REPLY_ACCEPT_OK if accepted else SmsKind.REPLY_DECLINE_OK
            return [event], Answer(kind=kind, context=context)
        case NeedsShortCode(codes=codes):
            return [], Answer(
                kind=SmsKind.REPLY_AMBIGUOUS, context=AmbiguousReplyContext(codes=codes)
            )
        case NothingPending():
            return [], Answer(kind=SmsKind.REPLY_UNKNOWN, context=UnknownReplyContext())


def decide_inbound(
    sms: InboundSms, pending: Sequence[PendingAssignment], opted_out: bool
) -> InboundDecision:
    """Record an inbound SMS, pass on what it asks for, and choose the answer.

    `pending` are the sender's unanswered assignments this service proposed. An opted-out
    sender's answers still count, but they get no SMS back unless they opt in again.
    """
    reply = parse_reply(sms.text)
    inbound_id = inbound_id_for(sms.provider_message_id)
    received = SmsReceived(
        inbound_id=inbound_id,
        provider_message_id=sms.provider_message_id,
        from_phone=sms.from_phone,
        text=without_code(sms.text) if isinstance(reply, Erase) else sms.text,
        intent=intent_of(reply),
        short_code=reply.short_code if isinstance(reply, Accept | Decline) else None,
        received_at=sms.received_at,
    )
    events: list[Event] = [received]
    answer: Answer | None
    match reply:
        case Stop(keyword=keyword):
            if not opted_out:
                events.append(
                    RecipientOptedOut(
                        phone=sms.from_phone, keyword=keyword, opted_out_at=sms.received_at
                    )
                )
            return InboundDecision(
                events=tuple(events),
                answer=Answer(kind=SmsKind.REPLY_STOP_CONFIRMED, context=StopConfirmedContext()),
            )
        case Start(keyword=keyword):
            if opted_out:
                events.append(
                    RecipientOptedIn(
                        phone=sms.from_phone, keyword=keyword, opted_in_at=sms.received_at
                    )
                )
            return InboundDecision(
                events=tuple(events),
                answer=Answer(kind=SmsKind.REPLY_START_CONFIRMED, context=StartConfirmedContext()),
            )
        case Accept() | Decline():
            more, answer = _assignment_answer(reply, sms, inbound_id, pending)
            events.extend(more)
        case HelpRequest(topic=topic, commune_text=commune_text, commune_code=commune_code):
            events.append(
                HelpRequestedBySms(
                    inbound_id=inbound_id,
                    resident_phone=sms.from_phone,
                    topic=topic,
                    commune_text=commune_text,
                    commune_code=commune_code,
                    text=sms.text,
                    received_at=sms.received_at,
                )
            )
            answer = None  # the scheduler's decision is the answer (module docstring)
        case Erase():
            answer = None  # the erasure's rules answer (receive_sms, domain/erasure_codes.py)
        case Unknown():
            answer = Answer(kind=SmsKind.REPLY_UNKNOWN, context=UnknownReplyContext())
    return InboundDecision(
        events=tuple(events),
        answer=None if opted_out else answer,
        erase=reply if isinstance(reply, Erase) else None,
    )
