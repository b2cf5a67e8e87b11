"""HTTP routes of the volunteers service."""

from __future__ import annotations

from typing import Any

routes: list[Any] = []
