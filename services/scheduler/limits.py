"""How often the public may ask for help: a sliding window per client address and per phone.

The rule is here, pure: at most `limit` requests in any `window`. It is counted once for the
whole deployment, in the scheduler's database (`services/scheduler/quota.py`), so that running
several instances does not multiply the limit. It stops a form being hammered or one number
being flooded, not a distributed attack, which belongs in front of the service.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from shared.clock import Clock
from shared.settings import ConfigError

RATE_LIMIT_VARIABLE = "HANDINHAND_HELP_RATE_LIMIT"
_RATE_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_SECOND = 1_000_000  # hits are kept in microseconds


class Admission(NamedTuple):
    """One more request for a key: the hits to keep (admitted), or None and whole seconds to
    wait until one more would be admitted."""

    hits: tuple[int, ...] | None
    wait: int = 0


def admit(hits: Sequence[int], now: int, limit: int, window: int) -> Admission:
    """At most `limit` hits in any `window` (times in microseconds, `hits` oldest first).

    Only admitted hits still within the window are kept, so a key keeps at most `limit`: that
    is all the window needs (when `limit` lie within it, the oldest of them must slide out;
    `-limit`, not the first, in case the limit was lowered since).
    """
    recent = [hit for hit in hits if hit > now - window]
    if len(recent) >= limit:
        wait = recent[-limit] + window - now
        return Admission(None, max(1, math.ceil(wait / _SECOND)))
    return Admission((*recent, now))


@dataclass(frozen=True)
class HelpRequestLimits:
    """The public help-request form's limits: per client address, and per resident phone.
    `lifted` turns both off (load tests, or a proxy in front that limits already)."""

    clock: Clock
    per_client: int = 20
    per_phone: int = 5
    window: timedelta = timedelta(hours=1)
    lifted: bool = False

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
