"""Communes and wards of the official list (vietnam-provinces): the one way from a commune's
code to its province, which every service's scope checks need (a scope names either)."""

from __future__ import annotations

from vietnam_provinces import Ward, WardCode


def province_of(commune_code: str) -> str | None:
    """The two-digit province code of an official commune or ward code, or None if unknown."""
    if not commune_code.isdigit():
        return None
    try:
        ward = Ward.from_code(WardCode(int(commune_code)))
    except ValueError:
        return None
    return f"{int(ward.province_code):02d}"
