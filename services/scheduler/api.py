"""HTTP routes of the scheduler service."""

from __future__ import annotations

from typing import Any

routes: list[Any] = []
