"""Consent records of help requests (issue 16): what the resident agreed to, where, to which
wording and noted by whom; sensitive needs only with explicit consent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.scheduler.domain.booking import decide_book_resident
from services.scheduler.domain.errors import HelpRequestRejectedError
from services.scheduler.domain.requests import decide_request_help, decide_waitlist_request
from services.scheduler.domain.sms import request_from_sms
from shared.events.consent import (
    CONSENT_WORDINGS,
    HELP_SMS_WORDING,
    HELP_WORDING,
    ConsentActor,
    ConsentChannel,
    ConsentPurpose,
    ConsentRecord,
)
from shared.events.notifications import HelpRequestedBySms, InboundSmsId
from shared.events.scheduler import (
    BookingId,
    HelpRequested,
    HelpRequestId,
    ResidentBooked,
    ResidentWaitlisted,
)
from shared.events.vocabulary import Accessibility, Language, Topic
from tests.unit.scheduler.builders import (
    NOW,
    fold_request,
    request_command,
    scheduled,
)


def _refused_fields(**changes: object) -> list[str]:
    with pytest.raises(HelpRequestRejectedError) as error:
        decide_request_help(request_command(**changes), now=NOW)
    return [p.field for p in error.value.problems]


def test_a_request_keeps_the_consent_record_of_the_coordinator_who_noted_it() -> None:
    [event] = decide_request_help(
        request_command(
            filed_by="coordinator-7",
            consent_channel=ConsentChannel.CONSOLE,
            consent_by=ConsentActor.COORDINATOR,
            sensitive_consent_given=False,
        ),
        now=NOW,
    )
    assert isinstance(event, HelpRequested)
    assert event.consent == ConsentRecord(
        purpose=ConsentPurpose.HELP_SESSIONS,
        channel=ConsentChannel.CONSOLE,
        wording_version=HELP_WORDING,
        recorded_by=ConsentActor.COORDINATOR,
        recorded_by_id="coordinator-7",
        sensitive=False,
        given_at=NOW,
    )
    assert fold_request(None, [event]).consent == event.consent


@pytest.mark.parametrize(
    ("need", "named"),
    [
        ({"disabled": True}, "disabled"),
        ({"minority": True}, "minority"),
        ({"accessibility_needs": (Accessibility.STEP_FREE,)}, "accessibility_needs"),
        ({"preferred_language": Language.HMN}, "preferred_language"),
    ],
)
def test_a_sensitive_need_without_explicit_consent_is_refused_naming_the_field(
    need: dict[str, object], named: str
) -> None:
    with pytest.raises(HelpRequestRejectedError) as error:
        decide_request_help(request_command(sensitive_consent_given=False, **need), now=NOW)
    [problem] = error.value.problems
    assert problem.field == "sensitive_consent_given"
    assert named in problem.message


def test_a_sensitive_need_with_explicit_consent_is_kept_and_the_record_says_so() -> None:
    [event] = decide_request_help(
        request_command(disabled=True, minority=True, sensitive_consent_given=True), now=NOW
    )
    assert isinstance(event, HelpRequested)
    assert (event.disabled, event.minority) == (True, True)
    assert event.consent is not None
    assert event.consent.sensitive


def test_elderly_alone_needs_no_explicit_consent() -> None:
    [event] = decide_request_help(
        request_command(elderly=True, sensitive_consent_given=False), now=NOW
    )
    assert isinstance(event, HelpRequested)


def test_refuses_a_wording_that_was_never_shown_for_help_requests() -> None:
    assert _refused_fields(consent_wording="help-v99") == ["consent_wording"]
    assert _refused_fields(consent_wording="volunteer-v1") == ["consent_wording"]
    by_sms = {"consent_channel": ConsentChannel.SMS, "consent_wording": HELP_WORDING}
    assert _refused_fields(**by_sms) == ["consent_wording"]  # the SMS answer says no form's text


def test_no_consent_is_refused_as_before() -> None:
    assert _refused_fields(consent_given=False) == ["consent_given"]


def test_a_request_by_sms_is_consented_by_the_resident_to_the_sms_wording() -> None:
    sms = HelpRequestedBySms(
        inbound_id=InboundSmsId("inbound-1"),
        resident_phone="+84912345678",
        topic=Topic.VNEID_ACTIVATION,
        commune_code="15835",
        text="GIUP VNEID 15835",
        received_at=NOW,
    )
    [event] = decide_request_help(request_from_sms(sms, HelpRequestId("request-9")), now=NOW)
    assert isinstance(event, HelpRequested)
    assert event.consent is not None
    assert (event.consent.channel, event.consent.recorded_by) == (
        ConsentChannel.SMS,
        ConsentActor.RESIDENT,
    )
    assert event.consent.wording_version == HELP_SMS_WORDING
    assert (event.disabled, event.minority, event.accessibility_needs) == (False, False, ())
    assert event.preferred_language is Language.VI


def test_only_the_first_answer_to_a_request_by_sms_carries_the_consent_notice() -> None:
    by_sms = fold_request(
        None,
        decide_request_help(
            request_command(
                consent_channel=ConsentChannel.SMS,
                consent_wording=HELP_SMS_WORDING,
                sensitive_consent_given=False,
            ),
            now=NOW,
        ),
    )
    [waiting] = decide_waitlist_request(by_sms, now=NOW)
    assert isinstance(waiting, ResidentWaitlisted)
    assert waiting.consent_notice == HELP_SMS_WORDING
    later = datetime(2026, 3, 3, tzinfo=UTC)
    [booked] = decide_book_resident(
        scheduled(), fold_request(by_sms, [waiting]), booking_id=BookingId("b-1"), now=later
    )
    assert isinstance(booked, ResidentBooked)
    assert booked.consent_notice is None  # the waiting SMS said it already
    [first] = decide_book_resident(scheduled(), by_sms, booking_id=BookingId("b-2"), now=NOW)
    assert isinstance(first, ResidentBooked)
    assert first.consent_notice == HELP_SMS_WORDING


def test_a_request_from_a_form_gets_no_sms_notice() -> None:
    request = fold_request(None, decide_request_help(request_command(), now=NOW))
    [booked] = decide_book_resident(scheduled(), request, booking_id=BookingId("b-1"), now=NOW)
    assert isinstance(booked, ResidentBooked)
    assert booked.consent_notice is None


def test_every_wording_says_how_to_erase_and_has_both_languages() -> None:
    for version, wording in CONSENT_WORDINGS.items():
        assert wording.vi.strip(), version
        assert wording.en.strip(), version
        assert bool(wording.sensitive_vi) == bool(wording.sensitive_en), version
    assert "XOA" in CONSENT_WORDINGS[HELP_SMS_WORDING].vi
    assert "XOA" in CONSENT_WORDINGS[HELP_SMS_WORDING].en
