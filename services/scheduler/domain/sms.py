"""Help asked for by SMS: which commune the sender means, and which session topic fits.

A resident texts a keyword, maybe a commune code or name ("VNEID 15835", "GIUP THIEU TRUNG");
the notifications service passes on what it read. A commune is accepted only when exactly one
commune or ward matches; otherwise the request is refused so the sender can be asked again.
"""

from __future__ import annotations

import re
from functools import cache

from unidecode import unidecode
from vietnam_provinces import Ward

from services.scheduler.domain.places import Commune, find_commune
from shared.events.notifications import HelpTopic
from shared.events.scheduler import Topic

# The name of a resident who asked by SMS: the text carries none, and SMS replies address them
# with it ("Người dân" reads as "dear resident").
SMS_RESIDENT_NAME = "Người dân"

TOPIC_OF_SMS: dict[HelpTopic, Topic] = {
    HelpTopic.VNEID: Topic.VNEID_ACTIVATION,
    HelpTopic.PUBLIC_SERVICES: Topic.ONLINE_PUBLIC_SERVICES,
    HelpTopic.CASHLESS_PAYMENT: Topic.CASHLESS_PAYMENT,
    HelpTopic.SMARTPHONE_BASICS: Topic.SMARTPHONE_BASICS,
    HelpTopic.OTHER: Topic.SMARTPHONE_BASICS,
}
_CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{5})(?!\d)")
_PREFIXES = ("xa ", "phuong ", "dac khu ", "thi tran ")


def topic_from_sms(topic: HelpTopic | None) -> Topic:
    """The session topic for an SMS keyword; no keyword or 'other' means smartphone basics."""
    return TOPIC_OF_SMS.get(topic, Topic.SMARTPHONE_BASICS) if topic else Topic.SMARTPHONE_BASICS


def fold_name(text: str) -> str:
    """A commune name as typed on a basic phone: no diacritics, lower case, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", unidecode(text).lower()).split())


@cache
def _communes_by_name() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for ward in Ward.iter_all():
        full = fold_name(ward.name)
        short = next((full.removeprefix(p) for p in _PREFIXES if full.startswith(p)), full)
        code = str(ward.code.value).zfill(5)
        for key in {full, short}:
            index.setdefault(key, []).append(code)
    return {name: tuple(codes) for name, codes in index.items()}


def commune_from_sms(code: str | None, commune_text: str | None, text: str = "") -> Commune | None:
    """The one commune an SMS names by code or by name, or None when unknown or ambiguous."""
    for candidate in (
        code,
        *_CODE_IN_TEXT.findall(commune_text or ""),
        *_CODE_IN_TEXT.findall(text),
    ):
        if candidate and (commune := find_commune(candidate)) is not None:
            return commune
    if commune_text:
        codes = _communes_by_name().get(fold_name(commune_text), ())
        if len(codes) == 1:
            return find_commune(codes[0])
    return None
