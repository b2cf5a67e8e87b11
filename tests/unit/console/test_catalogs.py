"""Every word of the console is in its gettext catalogs, translated into Vietnamese (the
default), with the same placeholders in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

CONSOLE = Path(__file__).parents[3] / "services" / "console"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "N_": None}
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def extracted() -> set[str]:
    found = extract_from_dir(str(CONSOLE), METHODS, OPTIONS, keywords=KEYWORDS)
    # No plural forms in the console yet: every message is one string.
    return {str(message) for _file, _line, message, _comments, _context in found}


def catalog(language: str) -> dict[str, str]:
    path = CONSOLE / "locale" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return {m.id: m.string for m in read_po(source) if m.id}  # type: ignore[misc]


def test_every_message_in_the_code_is_in_both_catalogs() -> None:
    messages = extracted()
    assert messages, "nothing extracted: the extraction itself is broken"
    for language in ("vi", "en"):
        assert messages - set(catalog(language)) == set(), language


def test_every_message_has_a_vietnamese_translation_with_the_same_placeholders() -> None:
    for message, translation in catalog("vi").items():
        assert translation, message
        assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(message))
