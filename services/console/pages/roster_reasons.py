"""Why a line of a roster CSV was refused, in the reader's language: the volunteers service
names each wrong line (`line N`) with its reasons in short English sentences joined by "; "
(`services/volunteers/domain/roster_csv.py`, and `handlers.py` for a phone already
registered); the console reads each reason back and words it through the catalogs. A reason
it does not know stays as it came, so a new kind is shown, not lost."""

from __future__ import annotations

import re

from services.console.i18n import N_
from services.console.i18n import gettext as _

# The volunteers service's sentence, and the console's wording of it (its groups by name).
_KNOWN = (
    (re.compile(r"^name is empty$"), N_("the name is empty")),
    (
        re.compile(r"^phone (?P<value>.+) is not a valid phone number$"),
        N_("the phone %(value)s is not a Vietnamese mobile number"),
    ),
    (
        re.compile(r"^phone repeats line (?P<line>\d+)$"),
        N_("the phone is the same as on line %(line)s"),
    ),
    (
        re.compile(r"^phone already belongs to a registered volunteer$"),
        N_("the phone already belongs to a registered volunteer"),
    ),
    (re.compile(r"^unknown skill (?P<value>.+)$"), N_("unknown skill %(value)s")),
    (re.compile(r"^unknown language (?P<value>.+)$"), N_("unknown language %(value)s")),
    (
        re.compile(
            r"^(?P<column>\w+) (?P<value>.+) must be morning, afternoon, evening, both or empty$"
        ),
        N_("%(column)s %(value)s must be morning, afternoon, evening, both or empty"),
    ),
    (
        re.compile(r"^monthly_limit (?P<value>.+) is not a whole number$"),
        N_("monthly_limit %(value)s is not a whole number"),
    ),
    (
        re.compile(r"^monthly_limit must be between 0 and (?P<most>\d+)$"),
        N_("monthly_limit must be between 0 and %(most)s"),
    ),
    (re.compile(r"^missing column\(s\): (?P<columns>.+)$"), N_("missing columns: %(columns)s")),
    (re.compile(r"^the file has no members$"), N_("the file has no members")),
    (
        re.compile(
            r"^consent (?P<value>.+) must be yes \(the member agrees to us keeping their details\)$"
        ),
        N_("consent %(value)s must be yes: the member must agree that we keep their details"),
    ),
)


def _reason(text: str) -> str:
    for pattern, message in _KNOWN:
        if found := pattern.match(text):
            return _(message) % found.groupdict()
    return text


def roster_line_reasons(message: str) -> str:
    """A refused line's reasons (the volunteers service's `message`) in the reader's words."""
    return "; ".join(_reason(part.strip()) for part in message.split(";") if part.strip())
