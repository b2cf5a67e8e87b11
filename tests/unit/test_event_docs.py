"""docs/events.md lists every event of the catalog, so the docs never drift from the code."""

from __future__ import annotations

from pathlib import Path

from shared.events import build_catalog

DOC = Path(__file__).parents[2] / "docs" / "events.md"


def test_every_event_in_the_catalog_is_described() -> None:
    text = DOC.read_text()
    missing = [t.name for t in build_catalog() if f"| `{t.name}` |" not in text]
    assert missing == [], f"add these events to docs/events.md: {missing}"


def test_every_event_has_a_docstring_saying_what_happened() -> None:
    assert [t.name for t in build_catalog() if not (t.cls.__doc__ or "").strip()] == []
