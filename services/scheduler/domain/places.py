"""Where sessions happen: provinces and communes from the official list, villages from a CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

import msgspec
from vietnam_provinces import Province, VietNamDivisionType, Ward
from vietnam_provinces import ProvinceCode as LibraryProvinceCode
from vietnam_provinces import WardCode as LibraryWardCode

from services.scheduler.domain.errors import (
    OutOfScopeError,
    UnknownCommuneError,
    UnknownProvinceError,
)
from shared.events.scheduler import CommuneCode, PlaceCode, ProvinceCode

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
_PROVINCE_DIGITS = 2
_COMMUNE_DIGITS = 5


class PlaceKind(StrEnum):
    """The units below a commune since the two-tier reform: thôn, bản, tổ dân phố."""

    VILLAGE = "village"
    HAMLET = "hamlet"
    RESIDENTIAL_GROUP = "residential_group"


# What coordinators type in the CSV's kind column, in English or Vietnamese.
_KIND_WORDS: dict[str, PlaceKind] = {
    "village": PlaceKind.VILLAGE,
    "thôn": PlaceKind.VILLAGE,
    "làng": PlaceKind.VILLAGE,
    "hamlet": PlaceKind.HAMLET,
    "bản": PlaceKind.HAMLET,
    "ấp": PlaceKind.HAMLET,
    "xóm": PlaceKind.HAMLET,
    "residential_group": PlaceKind.RESIDENTIAL_GROUP,
    "residential group": PlaceKind.RESIDENTIAL_GROUP,
    "tổ dân phố": PlaceKind.RESIDENTIAL_GROUP,
}


class ProvinceEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A province or centrally-run city from the official list."""

    code: ProvinceCode
    name: str


class Commune(msgspec.Struct, frozen=True, kw_only=True):
    """A commune, ward or special zone: the lower tier of local government."""

    code: CommuneCode
    name: str
    kind: str  # "xã", "phường" or "đặc khu"
    province_code: ProvinceCode


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """A village, hamlet or residential group inside a commune."""

    code: PlaceCode
    name: str
    kind: PlaceKind
    commune_code: CommuneCode


class RejectedRow(msgspec.Struct, frozen=True, kw_only=True):
    """A CSV row that cannot be imported, with every reason, so it can be fixed in one go."""

    line: int
    reasons: tuple[str, ...]


class PlacesImport(NamedTuple):
    """What a places CSV holds: good rows, and bad rows with line numbers."""

    places: tuple[Place, ...]
    rejected: tuple[RejectedRow, ...]


def province_code(raw: str | int) -> ProvinceCode:
    """A province code in its two-digit form, checked against the official list."""
    text = str(raw).strip()
    if not text.isdigit():
        raise UnknownProvinceError(f"{raw!r} is not a province code")
    try:
        LibraryProvinceCode(int(text))
    except ValueError:
        raise UnknownProvinceError(f"no province has code {text}") from None
    return ProvinceCode(text.zfill(_PROVINCE_DIGITS))


def commune_code(raw: str | int) -> CommuneCode:
    """A commune code in its five-digit form, checked against the official list."""
    text = str(raw).strip()
    if not text.isdigit():
        raise UnknownCommuneError(f"{raw!r} is not a commune code")
    try:
        LibraryWardCode(int(text))
    except ValueError:
        raise UnknownCommuneError(f"no commune or ward has code {text}") from None
    return CommuneCode(text.zfill(_COMMUNE_DIGITS))


def find_province(code: str | int) -> ProvinceEntry | None:
    """The province with this code, or None."""
    try:
        checked = province_code(code)
    except UnknownProvinceError:
        return None
    province = Province.from_code(LibraryProvinceCode(int(checked)))
    return ProvinceEntry(code=checked, name=province.name)


def find_commune(code: str | int) -> Commune | None:
    """The commune or ward with this code, or None."""
    try:
        checked = commune_code(code)
    except UnknownCommuneError:
        return None
    return _commune(Ward.from_code(LibraryWardCode(int(checked))))


def communes_of(code: str | int) -> tuple[Commune, ...]:
    """Every commune and ward of a province, in the official order."""
    checked = province_code(code)
    return tuple(_commune(w) for w in Ward.iter_by_province(LibraryProvinceCode(int(checked))))


def province_of(code: CommuneCode) -> ProvinceCode:
    """The province a commune belongs to."""
    commune = find_commune(code)
    if commune is None:
        raise UnknownCommuneError(f"no commune or ward has code {code}")
    return commune.province_code


def commune_in_scope(code: str, scope_codes: Iterable[str]) -> bool:
    """Whether a coordinator whose scope lists provinces and/or communes may touch this commune."""
    commune = find_commune(code)
    if commune is None:
        return False
    for raw in scope_codes:
        scope = raw.strip()
        if not scope.isdigit():
            continue
        if (
            len(scope) <= _PROVINCE_DIGITS
            and scope.zfill(_PROVINCE_DIGITS) == commune.province_code
        ):
            return True
        if len(scope) > _PROVINCE_DIGITS and scope.zfill(_COMMUNE_DIGITS) == commune.code:
            return True
    return False


def require_commune_in_scope(code: str, scope_codes: Iterable[str]) -> Commune:
    """The commune, if it exists and the coordinator's scope covers it; refuses otherwise."""
    commune = find_commune(code)
    if commune is None:
        raise UnknownCommuneError(f"no commune or ward has code {code}")
    if not commune_in_scope(commune.code, scope_codes):
        raise OutOfScopeError(f"{commune.name} ({commune.code}) is outside your scope")
    return commune


def parse_places_csv(text: str, *, existing_codes: Iterable[str] = ()) -> PlacesImport:
    """Villages and hamlets from `code,name,kind,parent` CSV text, with every bad row explained.

    The parent is a commune code from the official list. Importing nothing when any row is
    rejected is the caller's decision; this reports all of them at once.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    expected = ["code", "name", "kind", "parent"]
    if header is None or [h.strip().lower() for h in header] != expected:
        got = ",".join(header or [])
        return PlacesImport(
            (),
            (RejectedRow(line=1, reasons=(f"header must be code,name,kind,parent, not {got!r}",)),),
        )
    places: list[Place] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = dict.fromkeys(existing_codes, 0)
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        reasons, place = _check_row(row, seen)
        if place is None:
            rejected.append(RejectedRow(line=start, reasons=reasons))
        else:
            places.append(place)
            seen[place.code] = start
    return PlacesImport(tuple(places), tuple(rejected))


def _check_row(row: list[str], seen: dict[str, int]) -> tuple[tuple[str, ...], Place | None]:
    if len(row) != 4:
        return (f"expected 4 columns (code,name,kind,parent), found {len(row)}",), None
    code, name, kind, parent = (cell.strip() for cell in row)
    reasons: list[str] = []
    if not _CODE.match(code):
        reasons.append(f"code {code!r} must be 1-32 letters, digits, '.', '_' or '-'")
    elif code in seen:
        first = seen[code]
        where = f"line {first}" if first else "the places already imported"
        reasons.append(f"code {code!r} is already used on {where}")
    if not name:
        reasons.append("name is empty")
    place_kind = _KIND_WORDS.get(kind.lower())
    if place_kind is None:
        reasons.append(f"kind {kind!r} must be village, hamlet or residential_group")
    commune = find_commune(parent)
    if commune is None:
        reasons.append(f"parent {parent!r} is not a known commune or ward code")
    if reasons or place_kind is None or commune is None:
        return tuple(reasons), None
    return (), Place(code=PlaceCode(code), name=name, kind=place_kind, commune_code=commune.code)


def _commune(ward: Ward) -> Commune:
    return Commune(
        code=CommuneCode(str(ward.code.value).zfill(_COMMUNE_DIGITS)),
        name=ward.name,
        kind=VietNamDivisionType(ward.division_type).value,
        province_code=ProvinceCode(str(ward.province_code.value).zfill(_PROVINCE_DIGITS)),
    )
