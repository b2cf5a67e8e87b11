"""Erasure asked by SMS: what XOA and a code mean, and the code's rules (domain only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.domain.erasure_codes import (
    CodeRules,
    ErasureByNumber,
    ErasureDecision,
    code_digest,
    decide_erasure_sms,
    erasure_state,
)
from services.notifications.domain.replies import (
    Erase,
    InboundSms,
    Unknown,
    decide_inbound,
    parse_reply,
)
from shared.events.base import Event
from shared.events.notifications import (
    ErasureCodeIssued,
    ErasureCodeRejected,
    ErasureCodeRejection,
    InboundSmsId,
    ReplyIntent,
    ResidentErasureConfirmed,
    SmsKind,
    SmsReceived,
)

PHONE = "+84912345678"
KEY = "deployment-key"
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
RULES = CodeRules(valid_for=timedelta(minutes=30), max_tries=3)


@pytest.mark.parametrize("text", ["XOA", "xóa", " Xoá! ", "XÓA DỮ LIỆU", "xoa du lieu", "ERASE"])
def test_xoa_in_any_spelling_asks_for_a_code(text: str) -> None:
    assert parse_reply(text) == Erase()


@pytest.mark.parametrize("text", ["XOA 482193", "Xóa: 482193", "XOA482193", "xóa dữ liệu 482193"])
def test_xoa_and_six_digits_is_a_code(text: str) -> None:
    assert parse_reply(text) == Erase(code="482193")


def test_six_digits_alone_are_a_bare_code() -> None:
    assert parse_reply(" 482193 ") == Erase(code="482193", bare=True)


@pytest.mark.parametrize(
    "text", ["XOA 4821", "XOA 4821934", "XOA ABC", "XOAN", "XOA, 482-193", "12345"]
)
def test_anything_else_is_not_understood(text: str) -> None:
    assert isinstance(parse_reply(text), Unknown)


def test_an_answer_with_a_short_code_stays_an_answer() -> None:
    assert not isinstance(parse_reply("C 4821"), Erase)


def test_the_recorded_sms_keeps_no_code() -> None:
    sms = InboundSms(
        provider_message_id="SM1",
        from_phone=PHONE,
        to_phone="+84900000000",
        text="XOA 482193",
        received_at=NOW,
    )
    decision = decide_inbound(sms, [], opted_out=False)
    [received] = decision.events
    assert isinstance(received, SmsReceived)
    assert (received.text, received.intent) == ("XOA ******", ReplyIntent.ERASE)
    assert (decision.answer, decision.erase) == (None, Erase(code="482193"))


def decide(
    history: list[Event], ask: Erase, *, now: datetime = NOW, fresh: str = "111111"
) -> ErasureDecision:
    return decide_erasure_sms(
        erasure_state(history),
        ask,
        phone=PHONE,
        inbound_id=InboundSmsId("inbound-2"),
        language=None,
        now=now,
        fresh_code=fresh,
        key=KEY,
        rules=RULES,
    )


def issued(code: str = "482193", *, at: datetime = NOW) -> ErasureCodeIssued:
    return ErasureCodeIssued(
        inbound_id=InboundSmsId("inbound-1"),
        phone=PHONE,
        code_hash=code_digest(KEY, PHONE, code),
        expires_at=at + RULES.valid_for,
        issued_at=at,
    )


def test_xoa_sends_a_fresh_code_kept_only_as_its_keyed_hash() -> None:
    decision = decide([], Erase(), fresh="482193")

    assert decision.send_code is not None
    assert decision.send_code.code == "482193"
    sent = decision.send_code.issued
    assert sent.expires_at == NOW + timedelta(minutes=30)
    assert "482193" not in sent.code_hash
    assert sent.code_hash == code_digest(KEY, PHONE, "482193")
    assert (decision.events, decision.answer) == ((), None)


def test_the_hash_is_tied_to_the_number_and_the_key() -> None:
    digest = code_digest(KEY, PHONE, "482193")
    assert digest != code_digest(KEY, "+84912345679", "482193")
    assert digest != code_digest("another-key", PHONE, "482193")


def test_the_right_code_confirms_and_is_answered_by_the_erasure() -> None:
    decision = decide([issued()], Erase(code="482193"), now=NOW + timedelta(minutes=29))

    [confirmed] = decision.events
    assert isinstance(confirmed, ResidentErasureConfirmed)
    assert confirmed.phone == PHONE
    assert decision.answer is None


def test_a_bare_code_confirms_while_one_is_pending() -> None:
    [confirmed] = decide([issued()], Erase(code="482193", bare=True)).events
    assert isinstance(confirmed, ResidentErasureConfirmed)


def test_a_wrong_code_changes_nothing_and_says_how_many_tries_are_left() -> None:
    decision = decide([issued()], Erase(code="000000"))

    [rejected] = decision.events
    assert isinstance(rejected, ErasureCodeRejected)
    assert (rejected.reason, rejected.tries, rejected.cancelled) == (
        ErasureCodeRejection.WRONG,
        1,
        False,
    )
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.ERASURE_CODE_WRONG
    assert erasure_state([issued(), rejected]).pending is not None


def test_too_many_wrong_tries_cancel_the_code_even_the_right_one_after() -> None:
    history: list[Event] = [issued()]
    for _ in range(RULES.max_tries):
        history.extend(decide(history, Erase(code="000000")).events)
    last = history[-1]
    assert isinstance(last, ErasureCodeRejected)
    assert last.cancelled
    assert erasure_state(history) == ErasureByNumber()

    after = decide(history, Erase(code="482193"))
    assert after.events == ()
    assert after.answer is not None
    assert after.answer.kind is SmsKind.ERASURE_CODE_EXPIRED


def test_the_last_wrong_try_says_the_code_is_cancelled() -> None:
    history: list[Event] = [issued()]
    for _ in range(RULES.max_tries - 1):
        history.extend(decide(history, Erase(code="000000")).events)
    answer = decide(history, Erase(code="000000")).answer
    assert answer is not None
    assert answer.kind is SmsKind.ERASURE_CODE_CANCELLED


def test_an_expired_code_is_refused_and_cancelled() -> None:
    decision = decide([issued()], Erase(code="482193"), now=NOW + timedelta(minutes=30))

    [rejected] = decision.events
    assert isinstance(rejected, ErasureCodeRejected)
    assert (rejected.reason, rejected.cancelled) == (ErasureCodeRejection.EXPIRED, True)
    assert decision.answer is not None
    assert decision.answer.kind is SmsKind.ERASURE_CODE_EXPIRED


def test_a_code_with_none_pending_is_refused_a_bare_one_is_not_understood() -> None:
    with_word = decide([], Erase(code="482193"))
    bare = decide([], Erase(code="482193", bare=True))

    assert (with_word.events, bare.events) == ((), ())
    assert with_word.answer is not None
    assert with_word.answer.kind is SmsKind.ERASURE_CODE_EXPIRED
    assert bare.answer is not None
    assert bare.answer.kind is SmsKind.REPLY_UNKNOWN


def test_a_new_xoa_replaces_the_pending_code() -> None:
    history: list[Event] = [issued("482193")]
    new = decide(history, Erase(), fresh="999999").send_code
    assert new is not None
    history.append(new.issued)

    assert isinstance(decide(history, Erase(code="482193")).events[0], ErasureCodeRejected)
    assert isinstance(decide(history, Erase(code="999999")).events[0], ResidentErasureConfirmed)


def test_a_code_once_confirmed_confirms_nothing_again() -> None:
    history: list[Event] = [issued(), *decide([issued()], Erase(code="482193")).events]
    assert decide(history, Erase(code="482193")).events == ()
