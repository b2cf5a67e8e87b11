"""Upcasters that several events share: language tags as stored before they were ISO codes.

Schema version 1 of every event carrying a language held the spelling its publisher used
(the scheduler took any tag, `hmn` or `tai-dam`; the volunteers service its own names,
`hmong` or `thai`); version 2 holds the ISO 639 codes of `shared.events.vocabulary.Language`.
A path names where the languages are in the body: keys, with `*` for every item of a list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.events.catalog import Upcaster
from shared.events.vocabulary import Language, upgraded_language, upgraded_languages

Path = tuple[str, ...]
EACH = "*"


def _at(node: Any, path: Path, change: Callable[[Any], Any]) -> Any:
    """`node` with `change` applied to what `path` names (nothing when it is absent)."""
    if not path:
        return change(node)
    head, rest = path[0], path[1:]
    if head == EACH:
        return [_at(item, rest, change) for item in node] if isinstance(node, list) else node
    if isinstance(node, dict) and head in node:
        return {**node, head: _at(node[head], rest, change)}
    return node


def _one(old: Any) -> Any:
    # A preference for a language we cannot name falls back to Vietnamese, the SMS default.
    return (upgraded_language(old) or Language.VI.value) if isinstance(old, str) else old


def _many(old: Any) -> Any:
    # A tag that names no language (the scheduler once took any, such as "fr") is dropped.
    return upgraded_languages(old) if isinstance(old, list) else old


def iso_languages(*, one: tuple[Path, ...] = (), many: tuple[Path, ...] = ()) -> Upcaster:
    """v1 -> v2: the single languages at `one` and the lists at `many` become ISO codes."""

    def upcast(raw: dict[str, Any]) -> dict[str, Any]:
        for path in one:
            raw = _at(raw, path, _one)
        for path in many:
            raw = _at(raw, path, _many)
        return raw

    return upcast


RESIDENT: Path = ("resident", "preferred_language")
AFFECTED: Path = ("affected", EACH, "resident", "preferred_language")
