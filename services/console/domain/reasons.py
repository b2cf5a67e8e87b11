"""Why a volunteer was asked, in plain Vietnamese: the volunteers service explains each
assignment in a short English line (`services/volunteers/domain/assignment.py` `explain`:
parts joined by "; "); the console reads those parts back in its reader's words. A part it
does not know stays as it came, so a new kind of reason is shown, not lost."""

from __future__ import annotations

import re

from services.console.domain.communes import commune
from shared.events.vocabulary import Language, Skill, Topic, label

_ROLE = re.compile(r"^(required skill|speaks|teaches) (\S+)$")
_AWAY = re.compile(r"^(\d+) communes? away \((\w+)\)$")
_LOAD = re.compile(r"^(\d+) recent assignments?(?:, (\d+) more this weekend)?$")
_ROLES = {"required skill": "cần kỹ năng", "speaks": "nói", "teaches": "hướng dẫn"}


def _word(value: str) -> str:
    for kind in (Skill, Topic, Language):
        if value in kind._value2member_map_:
            return label(kind(value))
    return value


_FIXED = {"same commune": "cùng xã", "host team": "thuộc nhóm sở tại"}


def _matched(text: str) -> str | None:
    if found := _ROLE.match(text):
        return f"{_ROLES[found.group(1)]} {_word(found.group(2))}"
    if found := _AWAY.match(text):
        place = commune(found.group(2))
        where = place.name if place is not None else found.group(2)
        return f"cách {found.group(1)} xã ({where})"
    if found := _LOAD.match(text):
        load = f"{found.group(1)} lần được phân công gần đây"
        return load + (f", thêm {found.group(2)} lần cuối tuần này" if found.group(2) else "")
    return None


def _part(text: str) -> str:
    if text in _FIXED:
        return _FIXED[text]
    if text.startswith("also knows "):
        known = text.removeprefix("also knows ").split(", ")
        return "cũng biết " + ", ".join(_word(k) for k in known)
    return _matched(text) or text


def in_vietnamese(explanation: str) -> str:
    """The volunteers service's reason for an assignment, written in Vietnamese."""
    return "; ".join(_part(p.strip()) for p in explanation.split(";") if p.strip())
