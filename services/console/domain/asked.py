"""How a session's volunteers stand, as a coordinator counts them on This weekend: who is
coming and who was asked and has not answered yet. Until everyone asked has answered, the
volunteers service reports neither staffed nor understaffed (the places are all asked for),
so the scheduler's staffing alone would say "not known yet" while answers are awaited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class VolunteersAsked(NamedTuple):
    coming: int  # accepted
    waiting: int  # proposed, no answer yet


def volunteers_asked(statuses: Iterable[str]) -> VolunteersAsked:
    """Counted from the assignments' states; declined, expired and released ones hold no
    place."""
    states = list(statuses)
    return VolunteersAsked(coming=states.count("accepted"), waiting=states.count("proposed"))
