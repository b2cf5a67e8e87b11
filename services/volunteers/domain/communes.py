"""Communes from the official list (vietnam-provinces), and how far apart they are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vietnam_provinces import Ward, WardCode

from services.volunteers.domain.assignment import CommuneMap


def province_of(commune_code: str) -> str | None:
    """The two-digit province code of an official commune or ward code, or None if unknown."""
    if not commune_code.isdigit():
        return None
    try:
        ward = Ward.from_code(WardCode(int(commune_code)))
    except ValueError:
        return None
    return f"{int(ward.province_code):02d}"


def commune_map(neighbours: Mapping[str, Iterable[str]], max_hops: int) -> CommuneMap:
    """Distances between communes from a neighbour list (the official list has no adjacency)."""
    return CommuneMap({code: list(others) for code, others in neighbours.items()}, max_hops)
