"""How often the public may ask for help: a sliding window per client address and per phone.

In-process (each instance counts its own requests): it stops a form being hammered or one
number being flooded, not a distributed attack, which belongs in front of the service.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.settings import ConfigError
from shared.web.problems import TooManyRequestsError

RATE_LIMIT_VARIABLE = "HANDINHAND_HELP_RATE_LIMIT"
_RATE_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class SlidingWindow:
    """At most `limit` hits per key in any `window`; the clock is passed in so tests can move it."""

    def __init__(
        self, clock: Clock, limit: int, window: timedelta, *, max_keys: int = 100_000
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[datetime]] = {}

    def retry_after(self, key: str) -> int | None:
        """Count a hit for `key`; None when allowed, else whole seconds until one is allowed."""
        now = self.clock.now()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            wait = (hits[0] + self.window - now).total_seconds()
            return max(1, math.ceil(wait))
        hits.append(now)
        if len(self._hits) > self.max_keys:
            self._forget_idle(now)
        return None

    def _forget_idle(self, now: datetime) -> None:
        idle = [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]
        for key in idle:
            del self._hits[key]


@dataclass
class HelpRequestLimits:
    """The public help-request form's limits: per client address, and per resident phone.
    `lifted` turns both off (load tests, or a proxy in front that limits already)."""

    clock: Clock
    per_client: int = 20
    per_phone: int = 5
    window: timedelta = timedelta(hours=1)
    lifted: bool = False
    _clients: SlidingWindow = field(init=False)
    _phones: SlidingWindow = field(init=False)

    def __post_init__(self) -> None:
        self._clients = SlidingWindow(self.clock, self.per_client, self.window)
        self._phones = SlidingWindow(self.clock, self.per_phone, self.window)

    @classmethod
    def from_env(cls, clock: Clock, env: Mapping[str, str]) -> HelpRequestLimits:
        """HANDINHAND_HELP_RATE_LIMIT: `<per client>/<per phone>` requests an hour (default
        20/5), or `none` to lift both."""
        raw = env.get(RATE_LIMIT_VARIABLE, "").strip()
        if not raw:
            return cls(clock)
        if raw.lower() == "none":
            return cls(clock, lifted=True)
        found = _RATE_LIMIT.match(raw)
        if found is None or not int(found.group(1)) or not int(found.group(2)):
            raise ConfigError(
                f"{RATE_LIMIT_VARIABLE} must look like 20/5 (per client/per phone an hour, "
                f"both at least 1) or none, got {raw!r}"
            )
        return cls(clock, per_client=int(found.group(1)), per_phone=int(found.group(2)))

    def check_client(self, address: str) -> None:
        if self.lifted:
            return
        if (wait := self._clients.retry_after(address)) is not None:
            raise TooManyRequestsError("too many help requests from this address", wait)

    def check_phone(self, phone: str) -> None:
        if self.lifted:
            return
        if (wait := self._phones.retry_after(phone)) is not None:
            raise TooManyRequestsError("too many help requests for this phone number", wait)
