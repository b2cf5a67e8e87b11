"""The words every service shares: topics, skills, languages, accessibility needs, outcomes.

Each is defined here once, as the values events carry on the wire, with how it reads in
Vietnamese and English (SMS, reports, forms). A service that needs one of these words imports
it from here; no service keeps a list of its own, so a value one service emits is always one
the others understand (tests/unit/test_contracts.py checks every consumer against every
value its producer can emit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

from unidecode import unidecode


class Label(NamedTuple):
    """How a word reads for people: Vietnamese (the default) and English."""

    vi: str
    en: str


class Topic(StrEnum):
    """What a resident is helped with; the movement's standard tasks."""

    VNEID_ACTIVATION = "vneid_activation"
    ONLINE_PUBLIC_SERVICES = "online_public_services"
    CASHLESS_PAYMENT = "cashless_payment"
    SMARTPHONE_BASICS = "smartphone_basics"
    SCREEN_READER = "screen_reader"
    BUSINESS_APPS = "business_apps"
    ONLINE_LEARNING = "online_learning"


class Skill(StrEnum):
    """What a volunteer can guide residents through: every topic, plus two support skills."""

    VNEID_ACTIVATION = "vneid_activation"
    ONLINE_PUBLIC_SERVICES = "online_public_services"
    CASHLESS_PAYMENT = "cashless_payment"
    SMARTPHONE_BASICS = "smartphone_basics"
    SCREEN_READER = "screen_reader"
    BUSINESS_APPS = "business_apps"
    ONLINE_LEARNING = "online_learning"
    SCREEN_READER_HELP = "screen_reader_help"
    INTERPRETING = "interpreting"


class Language(StrEnum):
    """A language residents and volunteers speak, by its ISO 639 code.

    Vietnamese, the minority languages of the province and the country, Vietnam's sign
    languages, and English (an SMS can be read in English).
    """

    VI = "vi"
    HMN = "hmn"  # H'Mông
    TYZ = "tyz"  # Tày
    BLT = "blt"  # Thái (Tai Dam)
    TWH = "twh"  # Thái trắng (Tai Don)
    MTQ = "mtq"  # Mường
    IUM = "ium"  # Dao (Iu Mien)
    NUT = "nut"  # Nùng
    KHM = "khm"  # Khmer
    CJM = "cjm"  # Chăm
    KJG = "kjg"  # Khơ Mú: spoken in western Thanh Hóa, and stored before the codes were ISO
    HAB = "hab"  # Hà Nội sign language
    HAF = "haf"  # Hải Phòng sign language
    HOS = "hos"  # Ho Chi Minh City sign language
    EN = "en"


class Accessibility(StrEnum):
    """What a venue offers, and what a resident needs, to take part."""

    STEP_FREE = "step_free"
    SCREEN_READER_HELP = "screen_reader_help"
    SIGN_INTERPRETER = "sign_interpreter"
    MINORITY_LANGUAGE_INTERPRETER = "minority_language_interpreter"


class Outcome(StrEnum):
    """A task that got done for a resident during an attendance or visit."""

    VNEID_ACTIVATED = "vneid_activated"
    APPLICATION_SUBMITTED = "application_submitted"
    PAYMENT_SET_UP = "payment_set_up"
    APP_INSTALLED = "app_installed"
    SMARTPHONE_SKILLS = "smartphone_skills"
    OTHER = "other"


Word = Topic | Skill | Language | Accessibility | Outcome

_TOPICS: dict[Topic, Label] = {
    Topic.VNEID_ACTIVATION: Label("kích hoạt VNeID", "VNeID activation"),
    Topic.ONLINE_PUBLIC_SERVICES: Label("dịch vụ công trực tuyến", "online public services"),
    Topic.CASHLESS_PAYMENT: Label("thanh toán không tiền mặt", "cashless payments"),
    Topic.SMARTPHONE_BASICS: Label("sử dụng điện thoại", "smartphone basics"),
    Topic.SCREEN_READER: Label("điện thoại đọc màn hình", "screen reader phones"),
    Topic.BUSINESS_APPS: Label("ứng dụng kinh doanh", "business apps"),
    Topic.ONLINE_LEARNING: Label("học trực tuyến", "online learning"),
}
_SKILLS: dict[Skill, Label] = {
    **{Skill(topic.value): label for topic, label in _TOPICS.items()},
    Skill.SCREEN_READER_HELP: Label("hỗ trợ người khiếm thị", "help for blind residents"),
    Skill.INTERPRETING: Label("phiên dịch", "interpreting"),
}
_LANGUAGES: dict[Language, Label] = {
    Language.VI: Label("Tiếng Việt", "Vietnamese"),
    Language.HMN: Label("H'Mông", "Hmong"),
    Language.TYZ: Label("Tày", "Tay"),
    Language.BLT: Label("Thái", "Tai Dam"),
    Language.TWH: Label("Thái trắng", "Tai Don"),
    Language.MTQ: Label("Mường", "Muong"),
    Language.IUM: Label("Dao", "Iu Mien"),
    Language.NUT: Label("Nùng", "Nung"),
    Language.KHM: Label("Khmer", "Khmer"),
    Language.CJM: Label("Chăm", "Cham"),
    Language.KJG: Label("Khơ Mú", "Khmu"),
    Language.HAB: Label("Ngôn ngữ ký hiệu Hà Nội", "Hanoi Sign Language"),
    Language.HAF: Label("Ngôn ngữ ký hiệu Hải Phòng", "Haiphong Sign Language"),
    Language.HOS: Label("Ngôn ngữ ký hiệu TP HCM", "Ho Chi Minh City Sign Language"),
    Language.EN: Label("Tiếng Anh", "English"),
}
_ACCESSIBILITY: dict[Accessibility, Label] = {
    Accessibility.STEP_FREE: Label("lối đi không bậc thềm", "step-free access"),
    Accessibility.SCREEN_READER_HELP: Label("hỗ trợ người khiếm thị", "help for blind residents"),
    Accessibility.SIGN_INTERPRETER: Label("phiên dịch ngôn ngữ ký hiệu", "sign interpreter"),
    Accessibility.MINORITY_LANGUAGE_INTERPRETER: Label(
        "phiên dịch tiếng dân tộc", "minority language interpreter"
    ),
}
_OUTCOMES: dict[Outcome, Label] = {
    Outcome.VNEID_ACTIVATED: Label("đã kích hoạt VNeID", "VNeID activated"),
    Outcome.APPLICATION_SUBMITTED: Label("đã nộp hồ sơ trực tuyến", "application submitted"),
    Outcome.PAYMENT_SET_UP: Label("đã cài thanh toán", "payment set up"),
    Outcome.APP_INSTALLED: Label("đã cài ứng dụng", "app installed"),
    Outcome.SMARTPHONE_SKILLS: Label("biết dùng điện thoại", "smartphone skills"),
    Outcome.OTHER: Label("việc khác", "other"),
}
LABELS: dict[Word, Label] = {}
for _table in (_TOPICS, _SKILLS, _LANGUAGES, _ACCESSIBILITY, _OUTCOMES):
    LABELS.update(_table.items())
# A topic nobody named reads as this.
DIGITAL_SKILLS = Label("kỹ năng số", "digital skills")

SIGN_LANGUAGES = frozenset({Language.HAB, Language.HAF, Language.HOS})
# A sign interpreter asked for without naming the sign language: the Hà Nội variety, which the
# north and north-central provinces (Thanh Hóa among them) sign in.
DEFAULT_SIGN_LANGUAGE = Language.HAB


def label(word: Word, english: bool = False) -> str:
    """How a word reads in Vietnamese, or in English."""
    found = LABELS[word]
    return found.en if english else found.vi


def skill_for(topic: Topic) -> Skill:
    """Each topic is also the skill of guiding residents through it."""
    return Skill(topic.value)


def topic_of(skill: Skill) -> Topic | None:
    """The topic a skill teaches; support skills (interpreting, screen-reader help) teach none."""
    return _TOPIC_VALUES.get(skill.value)


_TOPIC_VALUES = {topic.value: topic for topic in Topic}


# Spellings stored or sent before every service used the ISO codes: the volunteers service's
# names and the scheduler's tags. Read by the upcasters of stored events and by the roster CSV.
_OLD_SPELLINGS: dict[str, Language] = {
    "hmong": Language.HMN,
    "mong": Language.HMN,
    "thai": Language.BLT,
    "taidam": Language.BLT,
    "thaiden": Language.BLT,
    "taidon": Language.TWH,
    "thaitrang": Language.TWH,
    "muong": Language.MTQ,
    "dao": Language.IUM,
    "iumien": Language.IUM,
    "mien": Language.IUM,
    "tay": Language.TYZ,
    "nung": Language.NUT,
    "khmer": Language.KHM,
    "cham": Language.CJM,
    "khomu": Language.KJG,
    "khmu": Language.KJG,
    "sign": Language.HAB,
    "kyhieu": Language.HAB,
    "ngonngukyhieu": Language.HAB,
    "tiengviet": Language.VI,
    "viet": Language.VI,
    "kinh": Language.VI,
    "vietnamese": Language.VI,
    "tienganh": Language.EN,
    "english": Language.EN,
}
_NOT_LETTER = re.compile(r"[^a-z0-9]")


def _folded(text: str) -> str:
    """ASCII lower case without spaces or marks, so "H'Mông", "hmong" and "HMÔNG" meet."""
    return _NOT_LETTER.sub("", unidecode(text).lower())


_NAMES: dict[str, Language] = {
    **_OLD_SPELLINGS,
    **{_folded(name): language for language, names in _LANGUAGES.items() for name in names},
    **{language.value: language for language in Language},
}


def language_named(text: str) -> Language | None:
    """A language from its ISO code, its Vietnamese or English name, or an old spelling
    ("hmn", "H'Mông", "Hmong", "hmong", "tai-dam"); None when it names no language we know."""
    return _NAMES.get(_folded(text))


def upgraded_language(old: str) -> str | None:
    """The ISO code for a language tag as it was stored before the codes were ISO, or None
    when it names none (the scheduler once took any tag, such as "fr")."""
    found = language_named(old)
    return None if found is None else found.value


def upgraded_languages(old: Iterable[str]) -> list[str]:
    """Stored tags as ISO codes, in their order, without repeats or tags that name none."""
    return list(dict.fromkeys(tag for tag in map(upgraded_language, old) if tag is not None))
