"""The local SMS provider server: moved to `bench.gateway` (the benchmark uses it too); kept
here for existing imports."""

from __future__ import annotations

from bench.gateway import Gateway, Handler, Request, Response

__all__ = ["Gateway", "Handler", "Request", "Response"]
