"""Official communes and wards (vietnam-provinces): their names and provinces, for scopes."""

from __future__ import annotations

from typing import NamedTuple

from vietnam_provinces import ProvinceCode, Ward, WardCode


def commune(code: str) -> Ward | None:
    if not code.isdigit() or len(code) != 5:
        return None
    try:
        return Ward.from_code(WardCode(int(code)))
    except ValueError:
        return None


def province_of(code: str) -> str | None:
    """The two-digit province code of an official commune or ward code, or None if unknown."""
    found = commune(code)
    return None if found is None else f"{int(found.province_code):02d}"


def is_province(code: str) -> bool:
    """Whether a code is an official two-digit province code (`38`: Thanh Hóa)."""
    if not code.isdigit() or len(code) != 2:
        return False
    try:
        ProvinceCode(int(code))
    except ValueError:
        return False
    return True


def covers(scope: tuple[str, ...], code: str) -> bool:
    """Whether a scope (province and commune codes; empty: everything, for admins only)
    covers a commune or a province code."""
    if code in scope:
        return True
    province = province_of(code)
    return province is not None and province in scope


class Place(NamedTuple):
    """A commune or ward to choose from: its code and official name."""

    code: str
    name: str


def communes_in(scope: tuple[str, ...]) -> list[Place]:
    """The communes a scope names, a province's in the official order, each once."""
    found: dict[str, Place] = {}
    for code in scope:
        if len(code) == 2 and code.isdigit():
            try:
                wards = list(Ward.iter_by_province(ProvinceCode(int(code))))
            except ValueError:
                continue
            for ward in wards:
                ward_code = str(ward.code.value).zfill(5)
                found.setdefault(ward_code, Place(ward_code, ward.name))
        elif (named := commune(code)) is not None:
            found.setdefault(code, Place(code, named.name))
    return list(found.values())
