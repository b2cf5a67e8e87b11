"""How many people a session's cancellation will text, said before the coordinator confirms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

# Volunteers told of a cancellation: those asked who have not said no, and those coming.
_TOLD = frozenset({"proposed", "accepted"})


class Held(Protocol):
    @property
    def status(self) -> str: ...


def people_texted(
    resident_phones: Iterable[str], opted_out: set[str], assignments: Iterable[Held]
) -> int:
    """Each booked resident who has not opted out of SMS, and each volunteer proposed or
    holding a place (docs/scheduler.md, `POST /sessions/{id}/cancel`)."""
    residents = sum(1 for phone in resident_phones if phone not in opted_out)
    return residents + sum(1 for a in assignments if a.status in _TOLD)
