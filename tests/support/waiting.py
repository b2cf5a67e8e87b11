"""Wait for a condition with a deadline: tests assert on outcomes, never on a fixed sleep.

The helper lives in `shared.waiting` (the benchmarks wait the same way); tests import it here.
"""

from __future__ import annotations

from shared.waiting import eventually

__all__ = ["eventually"]
