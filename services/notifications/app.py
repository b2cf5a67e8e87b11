"""The notifications service's composition root."""

from __future__ import annotations

from litestar import Litestar

from services.notifications import api
from services.notifications.parts import PARTS
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
        title="notifications",
        description="SMS out and in, reminders, delivery receipts and opt-out.",
    )
