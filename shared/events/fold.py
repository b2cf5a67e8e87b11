"""One way to fold a stream: each event in turn evolves the state the last one left.

Pure, so every domain may use it. Without a starting state the fold starts from None (a stream
that may not exist yet) and can end at None; with one, it ends at that state's type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

State = TypeVar("State")
Event = TypeVar("Event")


@overload
def fold(
    evolve: Callable[[State | None, Event], State | None], events: Iterable[Event]
) -> State | None: ...


@overload
def fold(
    evolve: Callable[[State, Event], State], events: Iterable[Event], state: State
) -> State: ...


def fold(
    evolve: Callable[[Any, Event], object], events: Iterable[Event], state: object = None
) -> object:
    """The state after `events`, each applied by `evolve`, starting from `state`."""
    for event in events:
        state = evolve(state, event)
    return state
