"""Where the SMS text is: every template in Vietnamese and English, filled from a typed context.

A context that does not fit its template (wrong type, blank or overlong value, naive time)
raises `TemplateContextError`; a text longer than `MAX_PARTS` raises `MessageTooLongError`.
Field length limits below are what keeps every template within `MAX_PARTS` (tests render each
one with values at those limits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from services.notifications.domain.encoding import compare_diacritics, measure
from services.notifications.domain.errors import MessageTooLongError, TemplateContextError
from shared.clock import VIETNAM
from shared.events.consent import CONSENT_WORDINGS, SmsConsentNotice
from shared.events.notifications import SmsEncoding, SmsKind, SmsLanguage
from shared.events.scheduler import CANCEL_REASON_MAX, RefusalCode

MAX_PARTS = 3

TOPIC_MAX = 40
VENUE_MAX = 50
NAME_MAX = 40
MAX_PENDING_CODES = 5
# The first answer to a help request by SMS adds what is kept and how to erase it (the
# consent notice, shared/events/consent.py): the room it takes comes off the topic and venue.
NOTICE_TOPIC_MAX = 25
NOTICE_VENUE_MAX = 32

TopicText = Annotated[str, msgspec.Meta(min_length=1, max_length=TOPIC_MAX)]
Venue = Annotated[str, msgspec.Meta(min_length=1, max_length=VENUE_MAX)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX)]
# A coordinator's reason for cancelling, said only when given ("" leaves no trace in the text).
CancelReason = Annotated[str, msgspec.Meta(max_length=CANCEL_REASON_MAX)]
ShortCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}$")]
MaskedPhone = Annotated[str, msgspec.Meta(min_length=4, max_length=16)]
Count = Annotated[int, msgspec.Meta(ge=0, le=999)]
When = Annotated[datetime, msgspec.Meta(tz=True)]


class TemplateContext(msgspec.Struct, frozen=True, kw_only=True):
    """The values one template needs; each template has its own subclass."""


class AssignmentProposedContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    venue: Venue
    starts_at: When
    short_code: ShortCode


class AssignmentReminderContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    venue: Venue
    starts_at: When


class AssignmentReleasedContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    starts_at: When
    cancel_reason: CancelReason = ""


class AssignmentChangedContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    venue: Venue
    starts_at: When
    short_code: ShortCode


class AssignmentAcceptedContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    venue: Venue
    starts_at: When


class ResidentBookedContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    venue: Venue
    starts_at: When
    consent_notice: SmsConsentNotice | None = None


class ResidentWaitlistedContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    consent_notice: SmsConsentNotice | None = None


class ResidentMovedContext(TemplateContext, frozen=True, kw_only=True):
    venue: Venue
    starts_at: When


class ResidentMovedToWaitlistContext(TemplateContext, frozen=True, kw_only=True):
    venue: Venue
    starts_at: When


class ResidentReminderContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    venue: Venue
    starts_at: When


class ResidentCancelledContext(TemplateContext, frozen=True, kw_only=True):
    venue: Venue
    starts_at: When
    cancel_reason: CancelReason = ""


class ResidentRescheduledContext(TemplateContext, frozen=True, kw_only=True):
    venue: Venue
    previous_starts_at: When
    starts_at: When


class UnderstaffingAlertContext(TemplateContext, frozen=True, kw_only=True):
    venue: Venue
    starts_at: When
    needed: Count


class DeliveryFailedAlertContext(TemplateContext, frozen=True, kw_only=True):
    recipient_name: PersonName
    masked_phone: MaskedPhone
    starts_at: When


class AcceptOkContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    starts_at: When


class DeclineOkContext(TemplateContext, frozen=True, kw_only=True):
    topic: TopicText
    starts_at: When


class StopConfirmedContext(TemplateContext, frozen=True, kw_only=True):
    pass


class ErasedContext(TemplateContext, frozen=True, kw_only=True):
    pass


class StartConfirmedContext(TemplateContext, frozen=True, kw_only=True):
    pass


class CopyGivenContext(TemplateContext, frozen=True, kw_only=True):
    given_at: When


class UnknownReplyContext(TemplateContext, frozen=True, kw_only=True):
    pass


class AmbiguousReplyContext(TemplateContext, frozen=True, kw_only=True):
    codes: Annotated[
        tuple[ShortCode, ...], msgspec.Meta(min_length=1, max_length=MAX_PENDING_CODES)
    ]


class HelpRefusedContext(TemplateContext, frozen=True, kw_only=True):
    reason: RefusalCode = RefusalCode.OTHER


class SignInCodeContext(TemplateContext, frozen=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]


class ErasureCodeContext(TemplateContext, frozen=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]
    minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 30


class ErasureCodeWrongContext(TemplateContext, frozen=True, kw_only=True):
    tries_left: Annotated[int, msgspec.Meta(ge=1, le=19)]


class ErasureCodeExpiredContext(TemplateContext, frozen=True, kw_only=True):
    pass


class ErasureCodeCancelledContext(TemplateContext, frozen=True, kw_only=True):
    pass


class NothingHeldContext(TemplateContext, frozen=True, kw_only=True):
    pass


class Template(msgspec.Struct, frozen=True, kw_only=True):
    """One kind of SMS: the context it needs and its text per language."""

    context: type[TemplateContext]
    texts: dict[SmsLanguage, str]


_CARRY = "Nhớ mang CCCD và điện thoại."
_CARRY_EN = "Please bring your ID card and phone."

TEMPLATES: dict[SmsKind, Template] = {
    # Written without diacritics on purpose: it names nobody, and in GSM-7 it is one part that
    # every phone shows, however old.
    SmsKind.SIGN_IN_CODE: Template(
        context=SignInCodeContext,
        texts={
            SmsLanguage.VI: "Ma dang nhap HandInHand: {code}. Dung trong 5 phut. "
            "Khong dua ma nay cho ai.",
            SmsLanguage.EN: "HandInHand sign-in code: {code}. Valid for 5 minutes. "
            "Do not share it with anyone.",
        },
    ),
    SmsKind.ASSIGNMENT_PROPOSED: Template(
        context=AssignmentProposedContext,
        texts={
            SmsLanguage.VI: "Mời bạn hỗ trợ buổi {topic} tại {venue}, {starts_at}. "
            "Trả lời C {short_code} để nhận, K {short_code} để từ chối.",
            SmsLanguage.EN: "Can you help with {topic} at {venue}, {starts_at}? "
            "Reply YES {short_code} to accept, NO {short_code} to decline.",
        },
    ),
    SmsKind.ASSIGNMENT_REMINDER: Template(
        context=AssignmentReminderContext,
        texts={
            SmsLanguage.VI: "Nhắc lịch: bạn hỗ trợ buổi {topic} tại {venue}, {starts_at}. "
            "Cảm ơn bạn!",
            SmsLanguage.EN: "Reminder: you help with {topic} at {venue}, {starts_at}. Thank you!",
        },
    ),
    SmsKind.ASSIGNMENT_RELEASED: Template(
        context=AssignmentReleasedContext,
        texts={
            SmsLanguage.VI: "Bạn không còn được phân công buổi {topic}, {starts_at}"
            "{cancel_reason}. Cảm ơn bạn đã sẵn sàng giúp đỡ!",
            SmsLanguage.EN: "You are no longer needed for {topic}, {starts_at}{cancel_reason}. "
            "Thank you for being ready to help!",
        },
    ),
    SmsKind.ASSIGNMENT_CHANGED: Template(
        context=AssignmentChangedContext,
        texts={
            SmsLanguage.VI: "Buổi {topic} bạn hỗ trợ (mã {short_code}) đã đổi sang {starts_at} "
            "tại {venue}. Nếu không đến được, vui lòng báo cán bộ xã.",
            SmsLanguage.EN: "Changed: {topic} (code {short_code}) is now {starts_at} at {venue}. "
            "Cannot come? Please tell your commune officer.",
        },
    ),
    SmsKind.ASSIGNMENT_ACCEPTED: Template(
        context=AssignmentAcceptedContext,
        texts={
            SmsLanguage.VI: "Đã xác nhận: bạn hỗ trợ buổi {topic} tại {venue}, {starts_at}. "
            "Cảm ơn bạn!",
            SmsLanguage.EN: "Confirmed: you help with {topic} at {venue}, {starts_at}. Thank you!",
        },
    ),
    SmsKind.RESIDENT_BOOKED: Template(
        context=ResidentBookedContext,
        texts={
            SmsLanguage.VI: "Bạn đã được hẹn hỗ trợ {topic} tại {venue}, {starts_at}. "
            + _CARRY
            + "{consent_notice}",
            SmsLanguage.EN: "You are booked for help with {topic} at {venue}, {starts_at}. "
            + _CARRY_EN
            + "{consent_notice}",
        },
    ),
    SmsKind.RESIDENT_WAITLISTED: Template(
        context=ResidentWaitlistedContext,
        texts={
            SmsLanguage.VI: "Chưa có buổi hỗ trợ {topic} nào còn chỗ. Bạn đã vào danh sách chờ; "
            "khi có chỗ, chúng tôi sẽ nhắn lịch hẹn cho bạn.{consent_notice}",
            SmsLanguage.EN: "No session for {topic} has a free place yet. You are on the waiting "
            "list; when a place opens we will text you the time.{consent_notice}",
        },
    ),
    SmsKind.RESIDENT_MOVED: Template(
        context=ResidentMovedContext,
        texts={
            SmsLanguage.VI: "Lịch hỗ trợ của bạn đã chuyển sang {starts_at} tại {venue}. " + _CARRY,
            SmsLanguage.EN: "Your help session moved to {starts_at} at {venue}. " + _CARRY_EN,
        },
    ),
    SmsKind.RESIDENT_MOVED_TO_WAITLIST: Template(
        context=ResidentMovedToWaitlistContext,
        texts={
            SmsLanguage.VI: "Xin lỗi, buổi hỗ trợ tại {venue}, {starts_at} phải bớt chỗ. Bạn được "
            "đưa về danh sách chờ, giữ thứ tự cũ, và sẽ được báo lịch mới.",
            SmsLanguage.EN: "Sorry, the help session at {venue}, {starts_at} has fewer places now. "
            "You are back on the waiting list in your old turn; we will text you a new date.",
        },
    ),
    SmsKind.RESIDENT_REMINDER: Template(
        context=ResidentReminderContext,
        texts={
            SmsLanguage.VI: "Nhắc lịch: hỗ trợ {topic} tại {venue}, {starts_at}. " + _CARRY,
            SmsLanguage.EN: "Reminder: help with {topic} at {venue}, {starts_at}. " + _CARRY_EN,
        },
    ),
    SmsKind.RESIDENT_CANCELLED: Template(
        context=ResidentCancelledContext,
        texts={
            SmsLanguage.VI: "Xin lỗi, buổi hỗ trợ tại {venue}, {starts_at} đã bị hủy"
            "{cancel_reason}. Chúng tôi sẽ báo lịch mới.",
            SmsLanguage.EN: "Sorry, the help session at {venue}, {starts_at} is cancelled"
            "{cancel_reason}. We will text you a new date.",
        },
    ),
    SmsKind.RESIDENT_RESCHEDULED: Template(
        context=ResidentRescheduledContext,
        texts={
            SmsLanguage.VI: "Buổi hỗ trợ của bạn đổi từ {previous_starts_at} sang {starts_at} "
            "tại {venue}.",
            SmsLanguage.EN: "Your help session changed from {previous_starts_at} "
            "to {starts_at} at {venue}.",
        },
    ),
    SmsKind.UNDERSTAFFING_ALERT: Template(
        context=UnderstaffingAlertContext,
        texts={
            SmsLanguage.VI: "Thiếu tình nguyện viên: buổi tại {venue}, {starts_at} cần {needed} "
            "người nhưng chưa đủ. Vui lòng sắp xếp thêm.",
            SmsLanguage.EN: "Understaffed: the session at {venue}, {starts_at} needs {needed} "
            "volunteers and is not fully staffed. Please find more.",
        },
    ),
    SmsKind.DELIVERY_FAILED_ALERT: Template(
        context=DeliveryFailedAlertContext,
        texts={
            SmsLanguage.VI: "Không gửi được tin nhắn cho {recipient_name} ({masked_phone}) về "
            "buổi {starts_at}. Vui lòng liên hệ trực tiếp.",
            SmsLanguage.EN: "Could not text {recipient_name} ({masked_phone}) about the session "
            "on {starts_at}. Please contact them directly.",
        },
    ),
    SmsKind.REPLY_ACCEPT_OK: Template(
        context=AcceptOkContext,
        texts={
            SmsLanguage.VI: "Cảm ơn bạn đã nhận hỗ trợ buổi {topic}, {starts_at}.",
            SmsLanguage.EN: "Thank you for accepting {topic}, {starts_at}.",
        },
    ),
    SmsKind.REPLY_DECLINE_OK: Template(
        context=DeclineOkContext,
        texts={
            SmsLanguage.VI: "Đã ghi nhận bạn không tham gia buổi {topic}, {starts_at}. Cảm ơn bạn.",
            SmsLanguage.EN: "Noted: you will not help with {topic}, {starts_at}. Thank you.",
        },
    ),
    SmsKind.REPLY_STOP_CONFIRMED: Template(
        context=StopConfirmedContext,
        texts={
            SmsLanguage.VI: "Bạn sẽ không nhận tin nhắn từ HandInHand nữa. Gửi BATDAU để nhận lại.",
            SmsLanguage.EN: "You will get no more messages from HandInHand. "
            "Send START to receive them again.",
        },
    ),
    SmsKind.REPLY_START_CONFIRMED: Template(
        context=StartConfirmedContext,
        texts={
            SmsLanguage.VI: "Bạn sẽ nhận lại tin nhắn từ HandInHand. Gửi HUY để ngừng.",
            SmsLanguage.EN: "You will receive HandInHand messages again. Send STOP to stop.",
        },
    ),
    SmsKind.REPLY_UNKNOWN: Template(
        context=UnknownReplyContext,
        texts={
            SmsLanguage.VI: "Chưa hiểu tin nhắn. Bạn có thể gửi: C hoặc K kèm mã để nhận/từ chối "
            "lời mời, GIUP VNEID để xin hỗ trợ, HUY để ngừng nhận tin.",
            SmsLanguage.EN: "Sorry, we did not understand. You can send: YES or NO with the code "
            "to answer an invitation, HELP VNEID to ask for help, STOP to stop messages.",
        },
    ),
    SmsKind.REPLY_AMBIGUOUS: Template(
        context=AmbiguousReplyContext,
        texts={
            SmsLanguage.VI: "Vui lòng trả lời kèm mã lời mời ({codes}), ví dụ "
            "C {codes_first} để nhận, K {codes_first} để từ chối.",
            SmsLanguage.EN: "Please reply with the invitation code ({codes}), "
            "e.g. YES {codes_first} to accept, NO {codes_first} to decline.",
        },
    ),
    SmsKind.RESIDENT_ERASED: Template(
        context=ErasedContext,
        texts={
            SmsLanguage.VI: "HandInHand: Theo yêu cầu, thông tin cá nhân của bạn đã được xóa. "
            "Bạn vẫn có thể nhắn GIUP để xin hỗ trợ lại.",
            SmsLanguage.EN: "HandInHand: As asked, your personal details have been erased. "
            "You can still text HELP to ask for help again.",
        },
    ),
    SmsKind.COPY_GIVEN: Template(
        context=CopyGivenContext,
        texts={
            SmsLanguage.VI: "HandInHand: Theo yêu cầu, bản sao dữ liệu cá nhân của bạn đã được "
            "giao cho cán bộ điều phối lúc {given_at}.",
            SmsLanguage.EN: "HandInHand: As asked, a copy of your personal data was handed to "
            "the coordinator on {given_at}.",
        },
    ),
    SmsKind.VOLUNTEER_ERASED: Template(
        context=ErasedContext,
        texts={
            SmsLanguage.VI: "HandInHand: Theo yêu cầu, thông tin cá nhân của bạn đã được xóa "
            "khỏi danh sách tình nguyện viên. Cảm ơn bạn đã đồng hành.",
            SmsLanguage.EN: "HandInHand: As asked, your personal details have been erased from "
            "the volunteer roster. Thank you for your help.",
        },
    ),
    # Without diacritics, like the sign-in code: one GSM-7 part every phone shows.
    SmsKind.ERASURE_CODE: Template(
        context=ErasureCodeContext,
        texts={
            SmsLanguage.VI: "HandInHand: Ma xac nhan xoa du lieu: {code}. De xoa, nhan "
            "XOA {code} trong {minutes} phut. Khong dua ma nay cho ai.",
            SmsLanguage.EN: "HandInHand: your erasure code is {code}. To erase your data, "
            "text XOA {code} within {minutes} minutes. Do not share it.",
        },
    ),
    SmsKind.ERASURE_CODE_WRONG: Template(
        context=ErasureCodeWrongContext,
        texts={
            SmsLanguage.VI: "Mã xác nhận không đúng, chưa xóa gì. Bạn còn {tries_left} lần thử.",
            SmsLanguage.EN: "That code is wrong; nothing was erased. {tries_left} tries left.",
        },
    ),
    SmsKind.ERASURE_CODE_EXPIRED: Template(
        context=ErasureCodeExpiredContext,
        texts={
            SmsLanguage.VI: "Mã xác nhận đã hết hạn hoặc không có, chưa xóa gì. "
            "Nhắn XOA để nhận mã mới.",
            SmsLanguage.EN: "That code has expired or none is pending; nothing was erased. "
            "Text XOA for a new code.",
        },
    ),
    SmsKind.ERASURE_CODE_CANCELLED: Template(
        context=ErasureCodeCancelledContext,
        texts={
            SmsLanguage.VI: "Sai mã quá nhiều lần: mã đã bị hủy, chưa xóa gì. "
            "Nhắn XOA để nhận mã mới.",
            SmsLanguage.EN: "Too many wrong codes: the code is cancelled, nothing was erased. "
            "Text XOA for a new code.",
        },
    ),
    SmsKind.RESIDENT_NOTHING_HELD: Template(
        context=NothingHeldContext,
        texts={
            SmsLanguage.VI: "HandInHand: Theo yêu cầu, số của bạn đã được xóa; không có yêu cầu "
            "hỗ trợ nào được lưu. Bạn vẫn có thể nhắn GIUP để xin hỗ trợ.",
            SmsLanguage.EN: "HandInHand: As asked, your number has been erased; no help "
            "request was held. You can still text HELP to ask for help.",
        },
    ),
    SmsKind.HELP_REQUEST_REFUSED: Template(
        context=HelpRefusedContext,
        texts={
            SmsLanguage.VI: "Chưa nhận được yêu cầu hỗ trợ của bạn: {reason}",
            SmsLanguage.EN: "We could not take your help request: {reason}",
        },
    ),
}

_WEEKDAYS = {
    SmsLanguage.VI: ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    SmsLanguage.EN: ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}

# What a refused help request must do instead, by why it was refused.
_REFUSALS = {
    SmsLanguage.VI: {
        RefusalCode.COMMUNE_UNKNOWN: "không rõ xã/phường của bạn. Gửi lại: GIUP VNEID XA "
        "<tên xã> hoặc kèm mã xã 5 số, hoặc gọi cán bộ xã.",
        RefusalCode.COMMUNE_AMBIGUOUS: "có nhiều xã/phường trùng tên. Gửi lại kèm mã xã 5 số, "
        "ví dụ GIUP VNEID 15835, hoặc gọi cán bộ xã.",
        RefusalCode.PHONE_INVALID: "số này không phải số di động Việt Nam. Vui lòng nhắn từ "
        "số di động của bạn hoặc gọi cán bộ xã.",
        RefusalCode.OTHER: "vui lòng gọi cán bộ xã để được hẹn lịch.",
    },
    SmsLanguage.EN: {
        RefusalCode.COMMUNE_UNKNOWN: "your commune is unclear. Send again: HELP VNEID XA "
        "<commune name> or its 5-digit code, or call your commune office.",
        RefusalCode.COMMUNE_AMBIGUOUS: "several communes share that name. Send again with the "
        "5-digit commune code, e.g. HELP VNEID 15835, or call your commune office.",
        RefusalCode.PHONE_INVALID: "this is not a Vietnamese mobile number. Please text from "
        "your mobile, or call your commune office.",
        RefusalCode.OTHER: "please call your commune office to book a time.",
    },
}
# How a cancellation's reason is said, after the sentence that says what was cancelled.
_CANCEL_REASON = {SmsLanguage.VI: " (lý do: {})", SmsLanguage.EN: " (reason: {})"}
# Kinds no longer sent, kept so that stored messages of that kind still read: a help request
# by SMS gets one answer, from what the scheduler decided, not a receipt first.
RETIRED_KINDS = frozenset({SmsKind.REPLY_HELP_RECEIVED})


class RenderedSms(msgspec.Struct, frozen=True, kw_only=True):
    """A finished SMS and its cost; `stripped` records that diacritics were removed by choice."""

    text: str
    encoding: SmsEncoding
    parts: int
    stripped: bool
    parts_saved: int


def clip(value: str, limit: int) -> str:
    """Shorten a long venue or topic openly (with "...", which GSM-7 has) to fit its limit."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    return value[: limit - 3].rstrip() + "..."


def format_when(at: datetime, language: SmsLanguage) -> str:
    """A session time the way a Vietnamese reader expects it: "Thứ Bảy 06/12, 08:00" local."""
    if at.tzinfo is None:
        raise TemplateContextError("a session time must be timezone-aware", field="starts_at")
    local = at.astimezone(VIETNAM)
    weekday = _WEEKDAYS[language][local.weekday()]
    return f"{weekday} {local:%d/%m, %H:%M}"


def _values(context: TemplateContext, language: SmsLanguage) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in context.__struct_fields__:
        value: Any = getattr(context, name)
        if isinstance(value, datetime):
            values[name] = format_when(value, language)
        elif isinstance(value, RefusalCode):
            values[name] = _REFUSALS[language][value]
        elif name == "consent_notice":
            values[name] = _notice(value, language)
        elif name == "cancel_reason":
            # The sentence already ends with "."; the coordinator's own full stop is not doubled.
            said = " ".join(value.split()).rstrip(" .")
            values[name] = _CANCEL_REASON[language].format(said) if said else ""
        elif isinstance(value, tuple):
            values[name] = ", ".join(value)
            values[f"{name}_first"] = value[0]
        elif isinstance(value, str):
            # A newline or tab in a name would break the SMS layout; one space reads the same.
            values[name] = " ".join(value.split())
            if not values[name]:
                raise TemplateContextError(f"{name} is blank", field=name)
        else:
            values[name] = str(value)
    return values


def _room_for_notice(values: dict[str, str]) -> dict[str, str]:
    """With a consent notice, the topic and venue are clipped shorter: the SMS stays within
    its parts."""
    if values.get("consent_notice"):
        for name, limit in (("topic", NOTICE_TOPIC_MAX), ("venue", NOTICE_VENUE_MAX)):
            if name in values:
                values[name] = clip(values[name], limit)
    return values


def _notice(notice: SmsConsentNotice | None, language: SmsLanguage) -> str:
    """The consent wording of that version, as the SMS's last sentence ("" for none)."""
    if notice is None:
        return ""
    wording = CONSENT_WORDINGS[notice.value]
    return " " + (wording.vi if language is SmsLanguage.VI else wording.en)


def _validated(kind: SmsKind, context: TemplateContext) -> TemplateContext:
    expected = TEMPLATES[kind].context
    if type(context) is not expected:
        raise TemplateContextError(
            f"{kind.value} needs {expected.__name__}, got {type(context).__name__}",
            field="context",
        )
    try:
        return msgspec.convert(msgspec.structs.asdict(context), expected)
    except msgspec.ValidationError as error:
        field = str(error).rpartition("$.")[2].rstrip("`").split("[")[0] or None
        raise TemplateContextError(f"{kind.value}: {error}", field=field) from error


def render(
    kind: SmsKind,
    language: SmsLanguage,
    context: TemplateContext,
    strip_diacritics: bool,
    max_parts: int = MAX_PARTS,
) -> RenderedSms:
    """Write one SMS; diacritics are removed only when the recipient or deployment chose it."""
    template = TEMPLATES[kind]
    values = _room_for_notice(_values(_validated(kind, context), language))
    try:
        text = template.texts[language].format_map(values)
    except (KeyError, IndexError) as error:
        raise TemplateContextError(
            f"{kind.value}/{language.value} needs {error}", field="context"
        ) from error
    if strip_diacritics:
        choice = compare_diacritics(text)
        final, final_measure = choice.stripped, choice.stripped_measure
        stripped = choice.stripped != choice.original
        parts_saved = choice.parts_saved
    else:
        final, final_measure = text, measure(text)
        stripped, parts_saved = False, 0
    if final_measure.parts > max_parts:
        raise MessageTooLongError(
            f"{kind.value}/{language.value} needs {final_measure.parts} parts, "
            f"at most {max_parts} allowed",
            field="context",
        )
    return RenderedSms(
        text=final,
        encoding=final_measure.encoding,
        parts=final_measure.parts,
        stripped=stripped,
        parts_saved=parts_saved,
    )
