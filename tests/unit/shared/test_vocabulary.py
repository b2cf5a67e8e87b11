"""The one vocabulary: every word has both labels, languages are read in every spelling people
and old events use, and events stored with the old spellings read as ISO 639 codes."""

from __future__ import annotations

import pytest

from shared.events import build_catalog
from shared.events.scheduler import HelpRequested, ResidentBooked, SessionCancelled
from shared.events.scheduler import SessionScheduled as Scheduled
from shared.events.vocabulary import (
    LABELS,
    Accessibility,
    Language,
    Outcome,
    Skill,
    Topic,
    label,
    language_named,
    skill_for,
    topic_of,
)
from shared.events.volunteers import VolunteerRegistered, WeekendPlanned

VOCABULARIES = (Topic, Skill, Language, Accessibility, Outcome)
SLOT = (
    '"when":{"local_date":"2025-12-06","start_local":"08:00:00","end_local":"11:00:00",'
    '"starts_at":"2025-12-06T01:00:00Z","ends_at":"2025-12-06T04:00:00Z"}'
)
VENUE = '"venue":{"name":"Nhà văn hóa thôn 1","address":"Thôn 1","village_code":null}'


def resident(language: str) -> str:
    return (
        '{"request_id":"request-1","name":"Lò Thị Xuân","phone":"+84912345678",'
        f'"preferred_language":"{language}"}}'
    )


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_every_word_reads_in_vietnamese_and_english(vocabulary: type[Topic]) -> None:
    for word in vocabulary:
        assert LABELS[word].vi.strip()
        assert LABELS[word].en.strip()
    assert label(Topic.VNEID_ACTIVATION) == "kích hoạt VNeID"
    assert label(Language.HMN, english=True) == "Hmong"


def test_every_topic_is_a_skill_and_back() -> None:
    for topic in Topic:
        assert topic_of(skill_for(topic)) is topic
    assert topic_of(Skill.INTERPRETING) is None


def test_the_languages_are_the_iso_codes_of_the_domain() -> None:
    assert {language.value for language in Language} == {
        "vi", "hmn", "tyz", "blt", "twh", "mtq", "ium", "nut", "khm", "cjm",
        "hab", "haf", "hos",
        "kjg",  # Khơ Mú, which volunteers had been registered with
        "en",  # residents may read their SMS in English
    }  # fmt: skip


@pytest.mark.parametrize(
    ("written", "language"),
    [
        ("hmn", Language.HMN),
        ("H'Mông", Language.HMN),
        ("hmong", Language.HMN),
        ("Thái", Language.BLT),
        ("thai", Language.BLT),
        ("tai-dam", Language.BLT),
        ("Thái trắng", Language.TWH),
        ("tai-don", Language.TWH),
        ("Mường", Language.MTQ),
        ("Dao", Language.IUM),
        ("TÀY", Language.TYZ),
        ("kho_mu", Language.KJG),
        ("sign", Language.HAB),
        ("Tiếng Việt", Language.VI),
        ("en", Language.EN),
    ],
)
def test_a_language_is_read_by_code_name_or_old_spelling(written: str, language: Language) -> None:
    assert language_named(written) is language


def test_a_word_that_names_no_language_is_not_guessed() -> None:
    assert language_named("Klingon") is None
    assert language_named("fr") is None


def test_a_volunteer_stored_with_the_old_names_reads_with_iso_codes() -> None:
    stored = (
        b'{"volunteer_id":"v1","group_id":"g1","name":"L\xc3\xb2 V\xc4\x83n Minh",'
        b'"phone":"+84912000001","commune_code":"15835","village":"",'
        b'"skills":["vneid_activation"],"languages":["vi","thai","hmong","sign","kho_mu"],'
        b'"preferred_language":"thai","availability":{"saturday":["morning"],"sunday":[]},'
        b'"monthly_limit":4,"registered_at":"2025-12-01T00:00:00Z"}'
    )

    event = build_catalog().decode("volunteer.registered", 1, stored)

    assert isinstance(event, VolunteerRegistered)
    assert event.languages == (Language.VI, Language.BLT, Language.HMN, Language.HAB, Language.KJG)
    assert event.preferred_language is Language.BLT


def test_a_session_stored_with_the_schedulers_tags_reads_with_iso_codes() -> None:
    stored = (
        '{"session_id":"session-1","commune_code":"15835","province_code":"38",'
        f"{VENUE},{SLOT},"
        '"topics":["vneid_activation"],"capacity":10,"volunteers_needed":1,'
        '"languages":["vi","hmn","tai-dam","tai-dam","fr"],"accessibility":[],'
        '"coordinator_id":"c1","scheduled_at":"2025-12-01T00:00:00Z"}'
    ).encode()

    event = build_catalog().decode("session.scheduled", 1, stored)

    assert isinstance(event, Scheduled)
    # "fr" named no language the services know: it was never staffed, and is dropped.
    assert event.languages == (Language.VI, Language.HMN, Language.BLT)


def test_residents_stored_with_old_tags_read_with_iso_codes() -> None:
    catalog = build_catalog()
    booked = (
        '{"session_id":"session-1","booking_id":"booking-1",'
        f'"resident":{resident("TAI-DAM")},"topics":["vneid_activation"],'
        f'"commune_code":"15835",{VENUE},{SLOT},"booked_at":"2025-12-01T00:00:00Z"}}'
    ).encode()
    cancelled = (
        f'{{"session_id":"session-1","commune_code":"15835",{VENUE},{SLOT},'
        '"reason":"Mất điện","coordinator_id":"c1",'
        f'"affected":[{{"booking_id":"booking-1","resident":{resident("hmn")}}},'
        f'{{"booking_id":"booking-2","resident":{resident("zz")}}}],'
        '"cancelled_at":"2025-12-01T00:00:00Z"}'
    ).encode()
    requested = (
        '{"request_id":"request-1","resident_name":"Lò Thị Xuân","phone":"+84912345678",'
        '"commune_code":"15835","province_code":"38","topics":["vneid_activation"],'
        '"preferred_language":"muong","channel":"web","requested_at":"2025-12-01T00:00:00Z"}'
    ).encode()

    booking = catalog.decode("resident.booked", 1, booked)
    cancellation = catalog.decode("session.cancelled", 1, cancelled)
    request = catalog.decode("help.requested", 1, requested)

    assert isinstance(booking, ResidentBooked)
    assert booking.resident.preferred_language is Language.BLT
    assert isinstance(cancellation, SessionCancelled)
    # A preference naming no language we know falls back to Vietnamese, the SMS default.
    assert [a.resident.preferred_language for a in cancellation.affected] == [
        Language.HMN,
        Language.VI,
    ]
    assert isinstance(request, HelpRequested)
    assert request.preferred_language is Language.MTQ


def test_a_weekend_plan_stored_with_old_names_reads_its_gaps_with_iso_codes() -> None:
    stored = (
        b'{"saturday":"2025-12-06","slots":1,"open_places":1,"proposed":0,"objective":5,'
        b'"uncovered_requirements":1,"unfilled":1,"topic_roles":0,"hops":0,"load":0,"team":0,'
        b'"gaps":[{"slot_id":"session-1","missing_count":1,"missing_languages":["hmong"]}],'
        b'"planned_at":"2025-12-01T00:00:00Z"}'
    )

    event = build_catalog().decode("weekend.planned", 1, stored)

    assert isinstance(event, WeekendPlanned)
    assert event.gaps[0].missing_languages == (Language.HMN,)


def test_every_event_that_moved_to_the_codes_reads_its_version_1() -> None:
    catalog = build_catalog()
    for kind in catalog:
        if kind.version == 2:
            assert (kind.name, 1) in catalog._upcasters, kind.name
