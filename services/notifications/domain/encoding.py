"""What an SMS costs: GSM-7 or UCS-2, how many parts, and what removing diacritics saves."""

from __future__ import annotations

import msgspec
from unidecode import unidecode

from shared.events.notifications import SmsEncoding

# GSM 03.38 default alphabet (the escape code 0x1B is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each costs an escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_PER_PART = 153
UCS2_SINGLE = 70
UCS2_PER_PART = 67

# unidecode gives ASCII; these ASCII characters are missing from GSM 03.38.
_ASCII_TO_GSM7 = {"`": "'", "\t": " "}


class SmsMeasure(msgspec.Struct, frozen=True, kw_only=True):
    """A text as the network counts it: septets for GSM-7, UTF-16 code units for UCS-2."""

    encoding: SmsEncoding
    units: int
    parts: int


class DiacriticsChoice(msgspec.Struct, frozen=True, kw_only=True):
    """The same text with and without diacritics, so the cheaper one can be chosen openly."""

    original: str
    original_measure: SmsMeasure
    stripped: str
    stripped_measure: SmsMeasure

    @property
    def parts_saved(self) -> int:
        return self.original_measure.parts - self.stripped_measure.parts


def is_gsm7(text: str) -> bool:
    """Whether every character is in the GSM 03.38 alphabet or its extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_weight(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _ucs2_weight(ch: str) -> int:
    # Characters beyond the Basic Multilingual Plane take a UTF-16 surrogate pair.
    return 2 if ord(ch) > 0xFFFF else 1


def _parts(weights: list[int], single: int, per_part: int) -> int:
    total = sum(weights)
    if total == 0:
        return 1
    if total <= single:
        return 1
    # A character (an escaped septet pair or a surrogate pair) is never split between parts.
    parts, used = 1, 0
    for weight in weights:
        if used + weight > per_part:
            parts += 1
            used = 0
        used += weight
    return parts


def measure(text: str) -> SmsMeasure:
    """Measure a text as GSM-7 when it fits the alphabet, else as UCS-2."""
    if is_gsm7(text):
        weights = [_gsm7_weight(ch) for ch in text]
        return SmsMeasure(
            encoding=SmsEncoding.GSM7,
            units=sum(weights),
            parts=_parts(weights, GSM7_SINGLE, GSM7_PER_PART),
        )
    weights = [_ucs2_weight(ch) for ch in text]
    return SmsMeasure(
        encoding=SmsEncoding.UCS2,
        units=sum(weights),
        parts=_parts(weights, UCS2_SINGLE, UCS2_PER_PART),
    )


def strip_diacritics(text: str) -> str:
    """Fold Vietnamese to plain letters (đ→d, Đ→D, tones dropped) that always fit GSM-7."""
    folded = []
    for ch in text:
        if ch in GSM7_BASIC and ch.isascii():
            folded.append(ch)
            continue
        for out in unidecode(ch):
            if out in GSM7_BASIC or out in GSM7_EXTENSION:
                folded.append(out)
            else:
                folded.append(_ASCII_TO_GSM7.get(out, "?"))
    return "".join(folded)


def compare_diacritics(text: str) -> DiacriticsChoice:
    """Both versions of a text and their cost, for a recipient or deployment to choose from."""
    stripped = strip_diacritics(text)
    return DiacriticsChoice(
        original=text,
        original_measure=measure(text),
        stripped=stripped,
        stripped_measure=measure(stripped),
    )
