"""Wait for a condition with a deadline: the tests and the benchmarks assert on outcomes,
never on a fixed sleep. Here, not in bench/ or tests/, so both may import it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = 15.0,
    every: float = 0.02,
) -> T:
    """Poll `probe` until `until(value)` holds; fail with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(every)
        value = await probe()
    return value
