"""The scheduler service's composition root."""

from __future__ import annotations

from litestar import Litestar

from services.scheduler import api
from services.scheduler.parts import PARTS
from shared.clock import Clock, SystemClock
from shared.events import build_catalog
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.app import build_app


def create_app(settings: Settings, *, clock: Clock | None = None) -> Litestar:
    runtime = Runtime(settings, PARTS, build_catalog(), clock or SystemClock())
    return build_app(
        runtime,
        api.routes,
        title="scheduler",
        description="Support sessions, help requests, bookings, waitlists and attendance.",
    )
