"""How many people a session's cancellation will text, said before the coordinator confirms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

# Volunteers told of a cancellation: those asked who have not said no, and those coming.
_TOLD = frozenset({"proposed", "accepted"})


class Held(Protocol):
    @property
    def volunteer_id(self) -> str: ...
    @property
    def status(self) -> str: ...


def people_texted(
    resident_phones: Iterable[str],
    assignments: Iterable[Held],
    volunteer_phones: Mapping[str, str],
    opted_out: set[str],
) -> int:
    """Each booked resident and each volunteer proposed or holding a place
    (docs/scheduler.md, `POST /sessions/{id}/cancel`), less those whose number opted out of SMS
    (HUY/STOP): notifications sends them nothing. A volunteer whose number could not be read is
    counted: the send will try them."""
    residents = sum(1 for phone in resident_phones if phone not in opted_out)
    volunteers = sum(
        1
        for a in assignments
        if a.status in _TOLD and volunteer_phones.get(a.volunteer_id) not in opted_out
    )
    return residents + volunteers
