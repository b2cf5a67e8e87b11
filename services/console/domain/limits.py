"""How often sign-in may be asked: at most `limit` requests per key (a phone, a client address)
in each fixed window. Counted in the console's database, so every instance shares the count."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Window:
    """A key's count in the window that began at `started_at`."""

    started_at: datetime
    count: int


@dataclass(frozen=True)
class Admission:
    """The window to keep (admitted), or None and whole seconds to wait."""

    window: Window | None
    wait: int = 0


def admit(current: Window | None, now: datetime, limit: int, length: timedelta) -> Admission:
    if current is None or current.started_at + length <= now:
        return Admission(Window(started_at=now, count=1))
    if current.count >= limit:
        left = (current.started_at + length - now).total_seconds()
        return Admission(None, max(1, math.ceil(left)))
    return Admission(Window(started_at=current.started_at, count=current.count + 1))
