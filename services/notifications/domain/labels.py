"""How a session's topic reads in an SMS: the scheduler's topics and the volunteers' skills."""

from __future__ import annotations

from collections.abc import Iterable

from services.notifications.domain.templates import TOPIC_MAX, clip
from shared.events.notifications import Language

# Keys are the wire values of shared.events.scheduler.Topic and shared.events.volunteers.Skill.
_LABELS: dict[str, tuple[str, str]] = {
    "vneid_activation": ("kích hoạt VNeID", "VNeID activation"),
    "online_public_services": ("dịch vụ công trực tuyến", "online public services"),
    "cashless_payment": ("thanh toán không tiền mặt", "cashless payments"),
    "smartphone_basics": ("sử dụng điện thoại", "smartphone basics"),
    "screen_reader": ("điện thoại đọc màn hình", "screen reader phones"),
    "business_apps": ("ứng dụng kinh doanh", "business apps"),
    "online_learning": ("học trực tuyến", "online learning"),
    "screen_reader_help": ("hỗ trợ người khiếm thị", "help for blind residents"),
    "interpreting": ("phiên dịch", "interpreting"),
}
_GENERAL = ("kỹ năng số", "digital skills")


def topic_label(codes: Iterable[str], language: Language) -> str:
    """The first known topic in the reader's language; unknown codes read as digital skills."""
    index = 0 if language is Language.VI else 1
    for code in codes:
        if code in _LABELS:
            return _LABELS[code][index]
    return _GENERAL[index]


def topic_codes(text: str) -> tuple[str, ...]:
    """A stored topic is either known codes (joined by commas) or free text to show as is."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def readable_topic(text: str, language: Language) -> str:
    """A stored topic for an SMS: known codes are translated, free text is clipped."""
    codes = topic_codes(text)
    if codes and all(code in _LABELS for code in codes):
        return topic_label(codes, language)
    return clip(text, TOPIC_MAX) if text.strip() else _GENERAL[language is not Language.VI]
