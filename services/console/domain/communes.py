"""Official communes and wards (vietnam-provinces): their names and provinces, for scopes."""

from __future__ import annotations

from vietnam_provinces import Ward, WardCode


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


def covers(scope: tuple[str, ...], code: str) -> bool:
    """Whether a scope (province and commune codes; empty: everything, for admins only)
    covers a commune or a province code."""
    if code in scope:
        return True
    province = province_of(code)
    return province is not None and province in scope
