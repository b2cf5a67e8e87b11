"""Import of a group's members from the CSV coordinators already keep: all rows or none.

Columns (header row required, UTF-8, comma-separated; names in English):

    name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent

- name: full name, required.
- phone: a Vietnamese mobile as typed ("0912 345 678", "+84912345678"); stored as E.164.
- village: thôn / bản / tổ dân phố, optional.
- skills: `;`-separated skill codes, e.g. `vneid_activation;screen_reader_help` (see `Skill`).
- languages: `;`-separated ISO 639 codes or names in Vietnamese or English (`vi;blt`,
  `Tiếng Việt;H'Mông`; the names the service used before the codes, such as `hmong` or
  `thai`, still read); empty means Vietnamese. The first one is the preferred language for SMS.
- saturday, sunday: `morning`, `afternoon`, `evening`, `both` (or `sáng`, `chiều`, `tối`,
  `cả ngày`); empty means not free. Optional columns monday ... friday, the same way, for
  weekday evenings (home visits, holiday sessions); missing means not free.
- monthly_limit: assignments a month, 0-31; empty means 4.
- consent: `yes` (or `có`, `đồng ý`) when the member agreed to us keeping these details, to
  the volunteers' consent wording (docs/volunteers.md, "Consent"); required on every row.

The result is either every row as a `RegisterVolunteer` command, or every rejected row with
all its reasons, so a coordinator can fix the file in one go; nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import msgspec
from unidecode import unidecode

from services.volunteers.domain.registry import (
    MAX_MONTHLY_LIMIT,
    RegisterVolunteer,
)
from shared.events.consent import ConsentChannel
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill, language_named
from shared.events.volunteers import GroupId, HalfDay, VolunteerId, WeeklyAvailability
from shared.phones import InvalidPhoneError, normalize_phone

WEEKDAY_COLUMNS = ("monday", "tuesday", "wednesday", "thursday", "friday")
COLUMNS = (
    "name",
    "phone",
    "village",
    "skills",
    "languages",
    "saturday",
    "sunday",
    "monthly_limit",
    "consent",
)
CONSENT_WORDS = frozenset({"yes", "y", "co", "dongy", "x", "1", "true"})
DEFAULT_MONTHLY_LIMIT = 4

_HALF_WORDS: dict[str, tuple[HalfDay, ...]] = {
    "": (),
    "no": (),
    "khong": (),
    "morning": (HalfDay.MORNING,),
    "sang": (HalfDay.MORNING,),
    "afternoon": (HalfDay.AFTERNOON,),
    "chieu": (HalfDay.AFTERNOON,),
    "both": (HalfDay.MORNING, HalfDay.AFTERNOON),
    "cangay": (HalfDay.MORNING, HalfDay.AFTERNOON),
    "morning;afternoon": (HalfDay.MORNING, HalfDay.AFTERNOON),
    "sang;chieu": (HalfDay.MORNING, HalfDay.AFTERNOON),
    "evening": (HalfDay.EVENING,),
    "toi": (HalfDay.EVENING,),
    "morning;evening": (HalfDay.MORNING, HalfDay.EVENING),
    "sang;toi": (HalfDay.MORNING, HalfDay.EVENING),
}


class RejectedRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row that cannot be imported, with every reason."""

    line: int
    reasons: tuple[str, ...]


class RosterAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """Every row is valid: one registration per member."""

    volunteers: tuple[RegisterVolunteer, ...]


class RosterRejected(msgspec.Struct, frozen=True, kw_only=True):
    """At least one row is wrong: nothing is imported; here is every wrong row."""

    rows: tuple[RejectedRow, ...]


def _fold(text: str) -> str:
    return unidecode(text).lower().replace(" ", "").replace("'", "").replace("-", "")


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.replace("|", ";").replace(",", ";").split(";")]


def _phone(cell: str, reasons: list[str]) -> str:
    try:
        return normalize_phone(cell)
    except InvalidPhoneError:
        reasons.append(f"phone {cell!r} is not a valid phone number")
        return ""


def _skills(cell: str, reasons: list[str]) -> tuple[Skill, ...]:
    skills: list[Skill] = []
    for part in _split(cell):
        if not part:
            continue
        try:
            skills.append(Skill(part.lower()))
        except ValueError:
            reasons.append(f"unknown skill {part!r}")
    return tuple(dict.fromkeys(skills))


def _languages(cell: str, reasons: list[str]) -> tuple[Language, ...]:
    languages: list[Language] = []
    for part in _split(cell):
        if not part:
            continue
        language = language_named(part)
        if language is None:
            reasons.append(f"unknown language {part!r}")
        else:
            languages.append(language)
    return tuple(dict.fromkeys(languages)) or (Language.VI,)


def _halves(column: str, cell: str, reasons: list[str]) -> tuple[HalfDay, ...]:
    halves = _HALF_WORDS.get(_fold(cell).replace(",", ";"))
    if halves is None:
        reasons.append(f"{column} {cell!r} must be morning, afternoon, evening, both or empty")
        return ()
    return halves


def _limit(cell: str, reasons: list[str]) -> int:
    if not cell.strip():
        return DEFAULT_MONTHLY_LIMIT
    try:
        limit = int(cell)
    except ValueError:
        reasons.append(f"monthly_limit {cell!r} is not a whole number")
        return 0
    if not 0 <= limit <= MAX_MONTHLY_LIMIT:
        reasons.append(f"monthly_limit must be between 0 and {MAX_MONTHLY_LIMIT}")
    return limit


def _consent(cell: str, reasons: list[str]) -> None:
    if _fold(cell) not in CONSENT_WORDS:
        reasons.append(
            f"consent {cell!r} must be yes (the member agrees to us keeping their details)"
        )


def parse_roster(
    text: str,
    group_id: GroupId,
    commune_code: CommuneCode,
    new_ids: Iterator[VolunteerId],
    recorded_by: str | None = None,
) -> RosterAccepted | RosterRejected:
    """Read a group's member list; all rows become registrations, or none do."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        reason = "missing column(s): " + ", ".join(missing)
        return RosterRejected(rows=(RejectedRow(line=1, reasons=(reason,)),))
    reader.fieldnames = header
    accepted: list[RegisterVolunteer] = []
    rejected: list[RejectedRow] = []
    phones: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        row = {key: (value or "").strip() for key, value in raw.items() if key is not None}
        if not any(row.values()):
            continue
        reasons: list[str] = []
        name = row["name"]
        if not name:
            reasons.append("name is empty")
        phone = _phone(row["phone"], reasons)
        if phone and phone in phones:
            reasons.append(f"phone repeats line {phones[phone]}")
        elif phone:
            phones[phone] = line
        skills = _skills(row["skills"], reasons)
        languages = _languages(row["languages"], reasons)
        saturday = _halves("saturday", row["saturday"], reasons)
        sunday = _halves("sunday", row["sunday"], reasons)
        weekdays = {day: _halves(day, row.get(day, ""), reasons) for day in WEEKDAY_COLUMNS}
        limit = _limit(row["monthly_limit"], reasons)
        _consent(row["consent"], reasons)
        if reasons:
            rejected.append(RejectedRow(line=line, reasons=tuple(reasons)))
            continue
        accepted.append(
            RegisterVolunteer(
                volunteer_id=next(new_ids),
                group_id=group_id,
                name=name,
                phone=phone,
                commune_code=commune_code,
                village=row["village"],
                skills=skills,
                languages=languages,
                preferred_language=languages[0],
                availability=WeeklyAvailability(saturday=saturday, sunday=sunday, **weekdays),
                monthly_limit=limit,
                consent_given=True,
                consent_channel=ConsentChannel.ROSTER_IMPORT,
                recorded_by_id=recorded_by,
            )
        )
    if rejected:
        return RosterRejected(rows=tuple(rejected))
    if not accepted:
        return RosterRejected(rows=(RejectedRow(line=1, reasons=("the file has no members",)),))
    return RosterAccepted(volunteers=tuple(accepted))
