"""How far apart communes are (a commune's province: shared/communes.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.volunteers.domain.assignment import CommuneMap


def commune_map(neighbours: Mapping[str, Iterable[str]], max_hops: int) -> CommuneMap:
    """Distances between communes from a neighbour list (the official list has no adjacency)."""
    return CommuneMap({code: list(others) for code, others in neighbours.items()}, max_hops)
