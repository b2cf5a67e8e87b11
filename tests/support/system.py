"""The whole system across real processes: moved to `bench.system` so that the benchmark and
the end-to-end tests start it the same way; kept here for existing imports."""

from __future__ import annotations

from bench.system import Process, Sms, System

__all__ = ["Process", "Sms", "System"]
