from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications.domain.replies import (
    Accept,
    Decline,
    HelpRequest,
    InboundSms,
    Matched,
    NeedsShortCode,
    NothingPending,
    PendingAssignment,
    Reply,
    Start,
    Stop,
    Unknown,
    decide_inbound,
    inbound_id_for,
    intent_of,
    match_pending,
    normalize,
    parse_reply,
)
from services.notifications.domain.templates import AcceptOkContext, AmbiguousReplyContext
from shared.events.notifications import (
    AssignmentAnswer,
    AssignmentReplyReceived,
    HelpRequestedBySms,
    RecipientOptedIn,
    RecipientOptedOut,
    ReplyIntent,
    SmsKind,
    SmsReceived,
)
from shared.events.vocabulary import Topic

REPLIES: list[tuple[str, Reply]] = [
    # accept
    ("C", Accept()),
    ("c", Accept()),
    ("CO", Accept()),
    ("Có", Accept()),
    ("có", Accept()),
    (" Có. ", Accept()),
    ("YES", Accept()),
    ("yes!", Accept()),
    ("Yes", Accept()),
    ("1", Accept()),
    ("ok", Accept()),
    ("Ok nhé", Accept()),
    ("Dạ có ạ", Accept()),
    ("Đồng ý", Accept()),
    ("Vâng", Accept()),
    ("C 4821", Accept(short_code="4821")),
    ("c4821", Accept(short_code="4821")),
    ("Có 4821", Accept(short_code="4821")),
    ("CO-4821", Accept(short_code="4821")),
    ("c  4821 ", Accept(short_code="4821")),
    ("4821 C", Accept(short_code="4821")),
    ("YES 4821", Accept(short_code="4821")),
    ("1 4821", Accept(short_code="4821")),
    ("Dạ, có 4821 ạ", Accept(short_code="4821")),
    # decline
    ("K", Decline()),
    ("k", Decline()),
    ("KHONG", Decline()),
    ("Không", Decline()),
    ("không.", Decline()),
    ("ko", Decline()),
    ("NO", Decline()),
    ("no", Decline()),
    ("2", Decline()),
    ("Từ chối", Decline()),
    ("Không đi được ạ", Decline()),
    ("K 4821", Decline(short_code="4821")),
    ("k4821", Decline(short_code="4821")),
    ("Không 4821", Decline(short_code="4821")),
    ("KHONG4821", Decline(short_code="4821")),
    ("NO 4821", Decline(short_code="4821")),
    # stop / start
    ("HUY", Stop(keyword="HUY")),
    ("Hủy", Stop(keyword="HUY")),
    ("huỷ.", Stop(keyword="HUY")),
    ("STOP", Stop(keyword="STOP")),
    ("stop", Stop(keyword="STOP")),
    ("Hủy đăng ký", Stop(keyword="HUY DANG KY")),
    ("BATDAU", Start(keyword="BATDAU")),
    ("Bắt đầu", Start(keyword="BAT DAU")),
    ("bat dau", Start(keyword="BAT DAU")),
    ("START", Start(keyword="START")),
    # help
    ("GIUP", HelpRequest()),
    ("giúp", HelpRequest()),
    ("HELP", HelpRequest()),
    ("GIUP VNEID", HelpRequest(topic=Topic.VNEID_ACTIVATION)),
    ("Giúp VNeID", HelpRequest(topic=Topic.VNEID_ACTIVATION)),
    (
        "giup vneid thieu trung",
        HelpRequest(topic=Topic.VNEID_ACTIVATION, commune_text="THIEU TRUNG"),
    ),
    (
        "GIÚP VNEID Thiệu Trung",
        HelpRequest(topic=Topic.VNEID_ACTIVATION, commune_text="THIEU TRUNG"),
    ),
    (
        "Giúp đỡ dịch vụ công xã Thiệu Trung",
        HelpRequest(topic=Topic.ONLINE_PUBLIC_SERVICES, commune_text="THIEU TRUNG"),
    ),
    ("HELP VNEID 15835", HelpRequest(topic=Topic.VNEID_ACTIVATION, commune_code="15835")),
    ("Hỗ trợ thanh toán", HelpRequest(topic=Topic.CASHLESS_PAYMENT)),
    ("giup Thieu Hoa", HelpRequest(commune_text="THIEU HOA")),
    ("VNeID", HelpRequest(topic=Topic.VNEID_ACTIVATION)),
    # unknown: never a guess
    ("", Unknown(normalized="")),
    ("Không biết", Unknown(normalized="KHONG BIET")),
    ("Xin chào", Unknown(normalized="XIN CHAO")),
    ("4821", Unknown(normalized="4821")),
    ("C K", Unknown(normalized="C K")),
    ("C 4821 5930", Unknown(normalized="C 4821 5930")),
    ("12", Unknown(normalized="12")),
    ("Ai đấy?", Unknown(normalized="AI DAY")),
    ("Mấy giờ bắt đầu vậy", Unknown(normalized="MAY GIO BAT DAU VAY")),
    ("HUY 4821", Unknown(normalized="HUY 4821")),
    ("👍", Unknown(normalized="")),
]


def test_the_reply_table_is_large_enough() -> None:
    assert len(REPLIES) >= 40


@pytest.mark.parametrize(("text", "expected"), REPLIES)
def test_understands_a_real_looking_reply(text: str, expected: Reply) -> None:
    assert parse_reply(text) == expected


def test_normalizing_ignores_case_diacritics_spaces_and_punctuation() -> None:
    assert normalize("  Có,   4821!! ") == "CO 4821"
    assert normalize("Đồng ý") == "DONG Y"


def test_intent_is_recorded_for_every_reply() -> None:
    assert intent_of(Accept()) is ReplyIntent.ACCEPT
    assert intent_of(Decline()) is ReplyIntent.DECLINE
    assert intent_of(Stop(keyword="HUY")) is ReplyIntent.STOP
    assert intent_of(Start(keyword="START")) is ReplyIntent.START
    assert intent_of(HelpRequest()) is ReplyIntent.HELP
    assert intent_of(Unknown(normalized="?")) is ReplyIntent.UNKNOWN


SATURDAY = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)
FIRST = PendingAssignment(
    assignment_id="assignment-1", short_code="4821", topic="VNeID", starts_at=SATURDAY
)
SECOND = PendingAssignment(
    assignment_id="assignment-2", short_code="5930", topic="Dịch vụ công", starts_at=SATURDAY
)


def test_an_answer_without_code_goes_to_the_only_pending_assignment() -> None:
    assert match_pending(Accept(), [FIRST]) == Matched(assignment=FIRST)


def test_an_answer_without_code_is_ambiguous_with_several_pending() -> None:
    assert match_pending(Decline(), [SECOND, FIRST]) == NeedsShortCode(codes=("4821", "5930"))


def test_a_short_code_picks_the_assignment() -> None:
    assert match_pending(Accept(short_code="5930"), [FIRST, SECOND]) == Matched(assignment=SECOND)


def test_an_unknown_short_code_is_asked_again_never_guessed() -> None:
    assert match_pending(Accept(short_code="1111"), [FIRST]) == NeedsShortCode(codes=("4821",))


def test_an_answer_with_nothing_pending_matches_nothing() -> None:
    assert match_pending(Accept(), []) == NothingPending()


def inbound(text: str, sid: str = "SM1") -> InboundSms:
    return InboundSms(
        provider_message_id=sid,
        from_phone="+84912345678",
        to_phone="+84900000000",
        text=text,
        received_at=SATURDAY,
    )


def test_an_accept_by_sms_is_passed_to_the_volunteers_service_and_thanked() -> None:
    decision = decide_inbound(inbound("Có"), [FIRST], opted_out=False)
    received, reply = decision.events
    assert isinstance(received, SmsReceived)
    assert received.intent is ReplyIntent.ACCEPT
    assert reply == AssignmentReplyReceived(
        inbound_id=inbound_id_for("SM1"),
        volunteer_phone="+84912345678",
        answer=AssignmentAnswer.ACCEPTED,
        assignment_id="assignment-1",
        short_code="4821",
        received_at=SATURDAY,
    )
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.REPLY_ACCEPT_OK
    assert decision.answer.context == AcceptOkContext(topic="VNeID", starts_at=SATURDAY)


def test_an_ambiguous_answer_asks_for_the_short_code_and_passes_nothing_on() -> None:
    decision = decide_inbound(inbound("K"), [FIRST, SECOND], opted_out=False)
    assert [type(e) for e in decision.events] == [SmsReceived]
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.REPLY_AMBIGUOUS
    assert decision.answer.context == AmbiguousReplyContext(codes=("4821", "5930"))


def test_stop_opts_out_and_is_confirmed() -> None:
    decision = decide_inbound(inbound("Hủy"), [], opted_out=False)
    assert isinstance(decision.events[1], RecipientOptedOut)
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.REPLY_STOP_CONFIRMED


def test_stop_again_is_confirmed_without_a_second_opt_out() -> None:
    decision = decide_inbound(inbound("STOP"), [], opted_out=True)
    assert [type(e) for e in decision.events] == [SmsReceived]
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.REPLY_STOP_CONFIRMED


def test_start_opts_back_in() -> None:
    decision = decide_inbound(inbound("Bắt đầu"), [], opted_out=True)
    assert isinstance(decision.events[1], RecipientOptedIn)
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.REPLY_START_CONFIRMED


def test_an_opted_out_sender_gets_no_answer_but_their_reply_still_counts() -> None:
    decision = decide_inbound(inbound("C 4821"), [FIRST], opted_out=True)
    assert any(isinstance(e, AssignmentReplyReceived) for e in decision.events)
    assert decision.answer is None


def test_a_help_keyword_becomes_a_help_request_for_the_scheduler() -> None:
    decision = decide_inbound(inbound("GIUP VNEID THIEU TRUNG"), [], opted_out=False)
    request = decision.events[1]
    assert isinstance(request, HelpRequestedBySms)
    assert request.topic is Topic.VNEID_ACTIVATION
    assert request.commune_text == "THIEU TRUNG"
    assert request.resident_phone == "+84912345678"


def test_a_help_request_is_not_answered_before_the_scheduler_decides() -> None:
    decision = decide_inbound(inbound("GIUP VNEID THIEU TRUNG"), [], opted_out=False)

    assert decision.answer is None  # booked, waiting or refused: the scheduler's answer


def test_anything_else_gets_the_list_of_what_can_be_sent() -> None:
    decision = decide_inbound(inbound("alo alo"), [FIRST], opted_out=False)
    assert [type(e) for e in decision.events] == [SmsReceived]
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.REPLY_UNKNOWN


def test_a_redelivered_webhook_names_the_same_inbound_sms() -> None:
    first = decide_inbound(inbound("C", sid="SM9"), [FIRST], opted_out=False)
    again = decide_inbound(inbound("C", sid="SM9"), [FIRST], opted_out=False)
    assert first.events == again.events
    assert inbound_id_for("SM9").startswith("inbound-")
