"""What the SMS about another service's event says: the topic a volunteer is asked for, and
why a help request was refused."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from services.notifications.domain.labels import refusal_code
from services.notifications.domain.templates import render
from services.notifications.domain.wording import proposed
from shared.events.notifications import SmsKind, SmsLanguage
from shared.events.scheduler import CommuneCode, HelpRequestId, HelpRequestRefused, RefusalCode
from shared.events.scheduler import RefusalReason as Reason
from shared.events.vocabulary import Language, Skill, Topic
from shared.events.volunteers import (
    AssignmentId,
    AssignmentProposed,
    SlotId,
    SlotKind,
    VolunteerId,
    proposal_topic,
)

NOW = datetime(2025, 12, 1, 2, 0, tzinfo=UTC)
PROPOSAL = AssignmentProposed(
    assignment_id=AssignmentId("assignment-1"),
    slot_id=SlotId("session-1"),
    slot_kind=SlotKind.SESSION,
    volunteer_id=VolunteerId("volunteer-1"),
    volunteer_name="Lê Văn An",
    phone="+84912345678",
    preferred_language=Language.VI,
    place="Nhà văn hóa thôn 1",
    commune_code=CommuneCode("15835"),
    starts_at=datetime(2025, 12, 6, 1, 0, tzinfo=UTC),
    ends_at=datetime(2025, 12, 6, 4, 0, tzinfo=UTC),
    short_code="4821",
    explanation="teaches smartphone_basics",
    role="topic:smartphone_basics",
    answer_by=NOW,
    proposed_at=NOW,
    skills=(Skill.CASHLESS_PAYMENT, Skill.ONLINE_PUBLIC_SERVICES, Skill.SMARTPHONE_BASICS),
    topics=(Topic.VNEID_ACTIVATION, Topic.SMARTPHONE_BASICS),
    designated_topic=Topic.SMARTPHONE_BASICS,
)


def text(event: AssignmentProposed) -> str:
    context = proposed(event)(SmsLanguage.VI)
    return render(SmsKind.ASSIGNMENT_PROPOSED, SmsLanguage.VI, context, strip_diacritics=False).text


def test_a_proposal_names_the_topic_the_volunteer_guides_never_their_own_skills() -> None:
    assert proposal_topic(PROPOSAL) == "smartphone_basics"
    assert "buổi sử dụng điện thoại" in text(PROPOSAL)
    assert "thanh toán" not in text(PROPOSAL)


def test_chosen_for_a_skill_or_language_the_volunteer_hears_the_sessions_first_topic() -> None:
    for_language = msgspec.structs.replace(PROPOSAL, designated_topic=None, role="language:hmn")

    assert "buổi kích hoạt VNeID" in text(for_language)


def test_a_proposal_recorded_before_it_carried_topics_reads_its_topic_role() -> None:
    old = msgspec.structs.replace(PROPOSAL, topics=(), designated_topic=None)
    older = msgspec.structs.replace(old, role="")

    assert proposal_topic(old) == "smartphone_basics"
    assert "buổi kỹ năng số" in text(older)  # nothing named: "digital skills"


def refused(*reasons: Reason) -> HelpRequestRefused:
    return HelpRequestRefused(
        request_id=HelpRequestId("request-1"),
        inbound_id="inbound-1",
        resident_phone="+14155550100",
        reasons=reasons,
        refused_at=NOW,
    )


def test_a_refusal_answers_the_reason_that_matters_most() -> None:
    commune = Reason(field="commune_code", message="", code=RefusalCode.COMMUNE_AMBIGUOUS)
    phone = Reason(field="phone", message="", code=RefusalCode.PHONE_INVALID)

    assert refusal_code(refused(commune)) is RefusalCode.COMMUNE_AMBIGUOUS
    assert refusal_code(refused(commune, phone)) is RefusalCode.PHONE_INVALID


def test_a_refusal_stored_before_reasons_had_codes_is_read_by_its_field() -> None:
    assert refusal_code(refused(Reason(field="commune_code", message="?"))) is (
        RefusalCode.COMMUNE_UNKNOWN
    )
    assert refusal_code(refused(Reason(field="phone", message="?"))) is RefusalCode.PHONE_INVALID
    assert refusal_code(refused()) is RefusalCode.OTHER
