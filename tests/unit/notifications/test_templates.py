from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.notifications.domain.encoding import measure
from services.notifications.domain.errors import MessageTooLongError, TemplateContextError
from services.notifications.domain.templates import (
    MAX_PARTS,
    MAX_PENDING_CODES,
    NAME_MAX,
    RETIRED_KINDS,
    TEMPLATES,
    TOPIC_MAX,
    VENUE_MAX,
    AssignmentProposedContext,
    AssignmentReleasedContext,
    HelpRefusedContext,
    ResidentBookedContext,
    ResidentCancelledContext,
    TemplateContext,
    clip,
    format_when,
    render,
)
from shared.events.consent import SmsConsentNotice
from shared.events.notifications import SmsEncoding, SmsKind, SmsLanguage
from shared.events.scheduler import CANCEL_REASON_MAX, RefusalCode

SATURDAY_8AM = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)  # 08:00 in Asia/Ho_Chi_Minh
SUNDAY_2PM = datetime(2025, 12, 7, 7, 30, tzinfo=UTC)

# Real names and places, padded with more real words to the field limits: the longest values
# a context accepts. Every template must stay within MAX_PARTS with them.
LONGEST_REALISTIC: dict[str, Any] = {
    "topic": "Cài đặt và kích hoạt tài khoản VNeID mức độ 2"[:TOPIC_MAX],
    "venue": "Nhà văn hóa thôn Đồng Xuân, xã Thiệu Trung, Thanh Hóa"[:VENUE_MAX],
    "recipient_name": "Nguyễn Thị Phượng Hoàng Ngọc Quỳnh Hương"[:NAME_MAX],
    "masked_phone": "+84*****5678",
    "short_code": "4821",
    "starts_at": SUNDAY_2PM,
    "previous_starts_at": SUNDAY_2PM,
    "position": 999,
    "assigned": 999,
    "needed": 999,
    "codes": ("4821", "5930", "6017", "7342", "8855")[:MAX_PENDING_CODES],
    "code": "482193",
    "minutes": 1440,
    "tries_left": 19,
    "cancel_reason": "Hội trường thôn bị ngập sau mưa lũ, dời sang tuần sau"[:CANCEL_REASON_MAX],
    # The first answer to a request by SMS: its longest form.
    "consent_notice": SmsConsentNotice.HELP_SMS_V1,
    "given_at": SUNDAY_2PM,
}


SENT_KINDS = [kind for kind in SmsKind if kind not in RETIRED_KINDS]


def longest_context(kind: SmsKind) -> TemplateContext:
    context_type = TEMPLATES[kind].context
    if context_type is HelpRefusedContext:
        return HelpRefusedContext(reason=RefusalCode.COMMUNE_UNKNOWN)
    fields = context_type.__struct_fields__
    return context_type(**{name: LONGEST_REALISTIC[name] for name in fields})


def test_every_kind_still_sent_has_a_template_in_every_language() -> None:
    assert set(TEMPLATES) == set(SENT_KINDS)
    for template in TEMPLATES.values():
        assert set(template.texts) == set(SmsLanguage)


def test_the_longest_values_are_at_the_field_limits() -> None:
    assert len(LONGEST_REALISTIC["topic"]) == TOPIC_MAX
    assert len(LONGEST_REALISTIC["venue"]) == VENUE_MAX
    assert len(LONGEST_REALISTIC["recipient_name"]) == NAME_MAX
    assert len(LONGEST_REALISTIC["cancel_reason"]) == CANCEL_REASON_MAX


@pytest.mark.parametrize("strip", [False, True], ids=["diacritics", "stripped"])
@pytest.mark.parametrize("language", list(SmsLanguage))
@pytest.mark.parametrize("kind", SENT_KINDS)
def test_every_template_fits_with_the_longest_values(
    kind: SmsKind, language: SmsLanguage, strip: bool
) -> None:
    sms = render(kind, language, longest_context(kind), strip_diacritics=strip)
    assert sms.parts <= MAX_PARTS
    assert measure(sms.text).parts == sms.parts
    assert "{" not in sms.text
    assert "}" not in sms.text
    if strip:
        assert sms.encoding is SmsEncoding.GSM7


def test_proposal_tells_the_volunteer_how_to_answer_in_vietnamese() -> None:
    sms = render(
        SmsKind.ASSIGNMENT_PROPOSED,
        SmsLanguage.VI,
        AssignmentProposedContext(
            topic="VNeID", venue="Nhà văn hóa thôn 3", starts_at=SATURDAY_8AM, short_code="4821"
        ),
        strip_diacritics=True,
    )
    assert sms.text == (
        "Moi ban ho tro buoi VNeID tai Nha van hoa thon 3, Thu Bay 06/12, 08:00. "
        "Tra loi C 4821 de nhan, K 4821 de tu choi."
    )
    assert sms.stripped
    assert sms.encoding is SmsEncoding.GSM7
    assert sms.parts == 1
    assert sms.parts_saved == 1


def test_names_keep_their_diacritics_unless_stripping_was_chosen() -> None:
    context = ResidentBookedContext(
        topic="VNeID", venue="Nhà văn hóa Đồng Xuân", starts_at=SATURDAY_8AM
    )
    kept = render(SmsKind.RESIDENT_BOOKED, SmsLanguage.EN, context, strip_diacritics=False)
    assert "Nhà văn hóa Đồng Xuân" in kept.text
    assert not kept.stripped
    assert kept.parts_saved == 0
    assert kept.encoding is SmsEncoding.UCS2
    stripped = render(SmsKind.RESIDENT_BOOKED, SmsLanguage.EN, context, strip_diacritics=True)
    assert "Nha van hoa Dong Xuan" in stripped.text
    assert stripped.stripped
    assert stripped.parts_saved == kept.parts - stripped.parts


def test_stripping_plain_text_records_no_stripping() -> None:
    sms = render(
        SmsKind.RESIDENT_BOOKED,
        SmsLanguage.EN,
        ResidentBookedContext(topic="VNeID", venue="Culture House 3", starts_at=SATURDAY_8AM),
        strip_diacritics=True,
    )
    assert not sms.stripped
    assert sms.parts_saved == 0


def test_dates_are_written_the_vietnamese_way_in_local_time() -> None:
    assert format_when(SATURDAY_8AM, SmsLanguage.VI) == "Thứ Bảy 06/12, 08:00"
    assert format_when(SATURDAY_8AM, SmsLanguage.EN) == "Sat 06/12, 08:00"
    assert format_when(SUNDAY_2PM, SmsLanguage.VI) == "Chủ Nhật 07/12, 14:30"
    # 23:30 UTC on Friday is already Saturday morning in Vietnam.
    late = datetime(2025, 12, 5, 23, 30, tzinfo=UTC)
    assert format_when(late, SmsLanguage.VI) == "Thứ Bảy 06/12, 06:30"


def test_a_naive_session_time_is_refused() -> None:
    with pytest.raises(TemplateContextError) as caught:
        render(
            SmsKind.RESIDENT_CANCELLED,
            SmsLanguage.VI,
            ResidentCancelledContext(venue="Nhà văn hóa", starts_at=datetime(2025, 12, 6, 8)),  # noqa: DTZ001
            strip_diacritics=False,
        )
    assert caught.value.field == "starts_at"


def test_a_context_for_another_template_is_refused() -> None:
    with pytest.raises(TemplateContextError) as caught:
        render(
            SmsKind.RESIDENT_BOOKED,
            SmsLanguage.VI,
            ResidentCancelledContext(venue="Nhà văn hóa", starts_at=SATURDAY_8AM),
            strip_diacritics=False,
        )
    assert caught.value.field == "context"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("venue", "x" * (VENUE_MAX + 1)),
        ("venue", ""),
        ("venue", "   "),
        ("topic", "t" * (TOPIC_MAX + 1)),
        ("short_code", "48210"),
        ("short_code", "ABCD"),
    ],
)
def test_a_value_that_cannot_fill_the_template_fails_loudly(field: str, value: str) -> None:
    values = {"topic": "VNeID", "venue": "Nhà văn hóa", "short_code": "4821"} | {field: value}
    context = AssignmentProposedContext(starts_at=SATURDAY_8AM, **values)
    with pytest.raises(TemplateContextError) as caught:
        render(SmsKind.ASSIGNMENT_PROPOSED, SmsLanguage.VI, context, strip_diacritics=False)
    assert caught.value.field == field


def test_an_sms_longer_than_the_deployment_allows_is_refused() -> None:
    with pytest.raises(MessageTooLongError):
        render(
            SmsKind.ASSIGNMENT_PROPOSED,
            SmsLanguage.VI,
            longest_context(SmsKind.ASSIGNMENT_PROPOSED),
            strip_diacritics=False,
            max_parts=1,
        )


def test_newlines_in_a_value_become_one_space() -> None:
    sms = render(
        SmsKind.RESIDENT_CANCELLED,
        SmsLanguage.EN,
        ResidentCancelledContext(venue="Nhà văn\n hóa", starts_at=SATURDAY_8AM),
        strip_diacritics=False,
    )
    assert "Nhà văn hóa" in sms.text


def test_a_cancellation_says_the_coordinators_reason_to_residents_and_volunteers() -> None:
    resident = render(
        SmsKind.RESIDENT_CANCELLED,
        SmsLanguage.VI,
        ResidentCancelledContext(
            venue="Nhà văn hóa thôn 3", starts_at=SATURDAY_8AM, cancel_reason="Mất điện cả xã."
        ),
        strip_diacritics=False,
    )
    volunteer = render(
        SmsKind.ASSIGNMENT_RELEASED,
        SmsLanguage.EN,
        AssignmentReleasedContext(
            topic="VNeID", starts_at=SATURDAY_8AM, cancel_reason="Mất điện cả xã"
        ),
        strip_diacritics=False,
    )
    assert resident.text == (
        "Xin lỗi, buổi hỗ trợ tại Nhà văn hóa thôn 3, Thứ Bảy 06/12, 08:00 đã bị hủy "
        "(lý do: Mất điện cả xã). Chúng tôi sẽ báo lịch mới."
    )
    assert volunteer.text == (
        "You are no longer needed for VNeID, Sat 06/12, 08:00 (reason: Mất điện cả xã). "
        "Thank you for being ready to help!"
    )


def test_without_a_reason_the_cancellation_reads_as_before() -> None:
    sms = render(
        SmsKind.RESIDENT_CANCELLED,
        SmsLanguage.VI,
        ResidentCancelledContext(venue="Nhà văn hóa thôn 3", starts_at=SATURDAY_8AM),
        strip_diacritics=False,
    )
    assert sms.text == (
        "Xin lỗi, buổi hỗ trợ tại Nhà văn hóa thôn 3, Thứ Bảy 06/12, 08:00 đã bị hủy. "
        "Chúng tôi sẽ báo lịch mới."
    )


def test_a_reason_longer_than_the_limit_is_refused_naming_it() -> None:
    with pytest.raises(TemplateContextError) as error:
        render(
            SmsKind.RESIDENT_CANCELLED,
            SmsLanguage.VI,
            ResidentCancelledContext(
                venue="Nhà văn hóa",
                starts_at=SATURDAY_8AM,
                cancel_reason="x" * (CANCEL_REASON_MAX + 1),
            ),
            strip_diacritics=False,
        )
    assert error.value.field == "cancel_reason"


def test_clip_shortens_openly_and_stays_gsm7() -> None:
    assert clip("Nhà văn hóa", 40) == "Nhà văn hóa"
    clipped = clip("Nhà văn hóa thôn Đồng Xuân, xã Thiệu Trung", 20)
    assert len(clipped) <= 20
    assert clipped.endswith("...")


@pytest.mark.parametrize("language", list(SmsLanguage))
@pytest.mark.parametrize("reason", list(RefusalCode))
def test_a_refusal_says_why_and_what_to_send_instead_within_the_parts(
    reason: RefusalCode, language: SmsLanguage
) -> None:
    context = HelpRefusedContext(reason=reason)
    sms = render(SmsKind.HELP_REQUEST_REFUSED, language, context, strip_diacritics=False)

    assert sms.parts <= MAX_PARTS
    assert "{" not in sms.text


def test_a_refusal_for_an_unclear_commune_asks_for_it_and_one_for_a_phone_does_not() -> None:
    commune = HelpRefusedContext(reason=RefusalCode.COMMUNE_UNKNOWN)
    phone = HelpRefusedContext(reason=RefusalCode.PHONE_INVALID)

    vi_commune = render(
        SmsKind.HELP_REQUEST_REFUSED, SmsLanguage.VI, commune, strip_diacritics=False
    ).text
    vi_phone = render(
        SmsKind.HELP_REQUEST_REFUSED, SmsLanguage.VI, phone, strip_diacritics=False
    ).text

    assert "xã/phường" in vi_commune
    assert "xã/phường" not in vi_phone
    assert "số di động" in vi_phone


def test_stop_confirmation_is_a_single_part_either_way() -> None:
    for language in SmsLanguage:
        for strip in (False, True):
            sms = render(
                SmsKind.REPLY_STOP_CONFIRMED,
                language,
                TEMPLATES[SmsKind.REPLY_STOP_CONFIRMED].context(),
                strip_diacritics=strip,
            )
            assert sms.parts == 1


def test_the_first_answer_to_a_request_by_sms_says_what_is_kept_and_how_to_erase_it() -> None:
    plain = ResidentBookedContext(
        topic="kích hoạt VNeID", venue="Nhà văn hóa thôn 3", starts_at=SATURDAY_8AM
    )
    noticed = ResidentBookedContext(
        topic="kích hoạt VNeID",
        venue="Nhà văn hóa thôn 3",
        starts_at=SATURDAY_8AM,
        consent_notice=SmsConsentNotice.HELP_SMS_V1,
    )
    before = render(SmsKind.RESIDENT_BOOKED, SmsLanguage.VI, plain, strip_diacritics=False)
    after = render(SmsKind.RESIDENT_BOOKED, SmsLanguage.VI, noticed, strip_diacritics=False)
    assert "XOA" not in before.text
    assert after.text == before.text + " Lưu SĐT, xã, nhu cầu chỉ để hẹn hỗ trợ; nhắn XOA để xóa."
    assert after.parts <= MAX_PARTS
