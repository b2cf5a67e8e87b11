"""How the words other services send read in an SMS: topics by the shared vocabulary's labels
in the reader's language, and why a help request was refused."""

from __future__ import annotations

from collections.abc import Iterable

from services.notifications.domain.templates import TOPIC_MAX, clip
from shared.events.notifications import SmsLanguage
from shared.events.scheduler import HelpRequestRefused, RefusalCode
from shared.events.vocabulary import DIGITAL_SKILLS, Skill, Topic, label

_WORDS: dict[str, Topic | Skill] = {**{s.value: s for s in Skill}, **{t.value: t for t in Topic}}


def topic_label(codes: Iterable[str], language: SmsLanguage) -> str:
    """The first known topic (or skill) in the reader's language; none reads as digital skills."""
    english = language is SmsLanguage.EN
    for code in codes:
        word = _WORDS.get(code)
        if word is not None:
            return label(word, english)
    return DIGITAL_SKILLS.en if english else DIGITAL_SKILLS.vi


def topic_codes(text: str) -> tuple[str, ...]:
    """A stored topic is either known codes (joined by commas) or free text to show as is."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def readable_topic(text: str, language: SmsLanguage) -> str:
    """A stored topic for an SMS: known codes are translated, free text is clipped."""
    codes = topic_codes(text)
    if not text.strip() or (codes and all(code in _WORDS for code in codes)):
        return topic_label(codes, language)
    return clip(text, TOPIC_MAX)


# Which refusal an SMS answers first: a number we cannot book outweighs an unclear commune.
_FIRST = (
    RefusalCode.PHONE_INVALID,
    RefusalCode.COMMUNE_AMBIGUOUS,
    RefusalCode.COMMUNE_UNKNOWN,
    RefusalCode.OTHER,
)
# Refusals recorded before they carried a code said only which field was wrong.
_CODE_OF_FIELD = {"commune_code": RefusalCode.COMMUNE_UNKNOWN, "phone": RefusalCode.PHONE_INVALID}


def refusal_code(event: HelpRequestRefused) -> RefusalCode:
    """The reason a refused help request's answer gives, so the sender knows what to do."""
    codes = {
        reason.code or _CODE_OF_FIELD.get(reason.field, RefusalCode.OTHER)
        for reason in event.reasons
    }
    return next((code for code in _FIRST if code in codes), RefusalCode.OTHER)
