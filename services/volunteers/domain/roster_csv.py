"""Import of a group's members from the CSV coordinators already keep: all rows or none.

Columns (header row required, UTF-8, comma-separated; names in English):

    name,phone,village,skills,languages,saturday,sunday,monthly_limit

- name: full name, required.
- phone: a Vietnamese mobile as typed ("0912 345 678", "+84912345678"); stored as E.164.
- village: thôn / bản / tổ dân phố, optional.
- skills: `;`-separated skill codes, e.g. `vneid_activation;screen_reader_help` (see `Skill`).
- languages: `;`-separated codes or Vietnamese names (`vi;thai`, `Tiếng Việt;H'Mông`);
  empty means Vietnamese. The first one is the preferred language for SMS.
- saturday, sunday: `morning`, `afternoon`, `both` (or `sáng`, `chiều`, `cả ngày`);
  empty means not free.
- monthly_limit: assignments a month, 0-31; empty means 4.

The result is either every row as a `RegisterVolunteer` command, or every rejected row with
all its reasons, so a coordinator can fix the file in one go; nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import msgspec
import phonenumbers
from unidecode import unidecode

from services.volunteers.domain.errors import DomainError
from services.volunteers.domain.registry import (
    MAX_MONTHLY_LIMIT,
    RegisterVolunteer,
    validate_phone,
)
from shared.events.scheduler import CommuneCode
from shared.events.volunteers import (
    GroupId,
    HalfDay,
    Language,
    Skill,
    VolunteerId,
    WeekendAvailability,
)

COLUMNS = (
    "name",
    "phone",
    "village",
    "skills",
    "languages",
    "saturday",
    "sunday",
    "monthly_limit",
)
DEFAULT_MONTHLY_LIMIT = 4

# Folded to ASCII lowercase without spaces, so "H'Mông", "hmong" and "HMÔNG" all match.
_LANGUAGE_WORDS: dict[str, Language] = {
    "vi": Language.VI,
    "tiengviet": Language.VI,
    "viet": Language.VI,
    "kinh": Language.VI,
    "thai": Language.THAI,
    "muong": Language.MUONG,
    "hmong": Language.HMONG,
    "mong": Language.HMONG,
    "dao": Language.DAO,
    "khmer": Language.KHMER,
    "tay": Language.TAY,
    "nung": Language.NUNG,
    "khomu": Language.KHO_MU,
    "kho_mu": Language.KHO_MU,
    "sign": Language.SIGN,
    "kyhieu": Language.SIGN,
    "ngonngukyhieu": Language.SIGN,
}
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


def language_named(text: str) -> Language | None:
    """A language from its code or its Vietnamese or English name ("hmong", "H'Mông", "Thái")."""
    return _LANGUAGE_WORDS.get(_fold(text))


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.replace("|", ";").replace(",", ";").split(";")]


def _phone(cell: str, reasons: list[str]) -> str:
    try:
        parsed = phonenumbers.parse(cell, "VN")
        phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return validate_phone(phone)
    except (phonenumbers.NumberParseException, DomainError):
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
        language = _LANGUAGE_WORDS.get(_fold(part))
        if language is None:
            reasons.append(f"unknown language {part!r}")
        else:
            languages.append(language)
    return tuple(dict.fromkeys(languages)) or (Language.VI,)


def _halves(column: str, cell: str, reasons: list[str]) -> tuple[HalfDay, ...]:
    halves = _HALF_WORDS.get(_fold(cell).replace(",", ";"))
    if halves is None:
        reasons.append(f"{column} {cell!r} must be morning, afternoon, both or empty")
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


def parse_roster(
    text: str,
    group_id: GroupId,
    commune_code: CommuneCode,
    new_ids: Iterator[VolunteerId],
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
        limit = _limit(row["monthly_limit"], reasons)
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
                availability=WeekendAvailability(saturday=saturday, sunday=sunday),
                monthly_limit=limit,
            )
        )
    if rejected:
        return RosterRejected(rows=tuple(rejected))
    if not accepted:
        return RosterRejected(rows=(RejectedRow(line=1, reasons=("the file has no members",)),))
    return RosterAccepted(volunteers=tuple(accepted))
