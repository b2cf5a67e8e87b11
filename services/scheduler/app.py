"""The scheduler service's composition root."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide

from services.scheduler import api
from services.scheduler.domain.errors import (
    BookingNotFoundError,
    DoubleBookingError,
    HelpRequestClosedError,
    HelpRequestNotFoundError,
    OutOfScopeError,
    SessionAlreadyScheduledError,
    SessionClosedError,
    SessionFullError,
    SessionNotFoundError,
)
from services.scheduler.intake import HelpDesk
from services.scheduler.limits import HelpRequestLimits
from services.scheduler.memory import Memory
from services.scheduler.parts import PARTS, work
from services.scheduler.service import Scheduler
from shared.clock import Clock, SystemClock
from shared.events import build_catalog
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.app import build_app
from shared.web.auth import Caller, optional_caller

# The first matching class decides the status; any other DomainError is a 422 (shared.web).
RULE_ERRORS: dict[type[Exception], int] = {
    OutOfScopeError: 403,
    SessionNotFoundError: 404,
    HelpRequestNotFoundError: 404,
    BookingNotFoundError: 404,
    SessionFullError: 409,
    DoubleBookingError: 409,
    SessionClosedError: 409,
    SessionAlreadyScheduledError: 409,
    HelpRequestClosedError: 409,
}


def create_app(
    settings: Settings, *, limits: HelpRequestLimits, clock: Clock | None = None
) -> Litestar:
    """`limits` come from `HelpRequestLimits.from_env` in the entrypoint (services/cli.py)."""
    runtime = Runtime(settings, PARTS, build_catalog(), clock or SystemClock())
    scheduler = Scheduler.assemble(runtime, limits)

    async def provide_maybe_caller(request: Request[Any, Any, Any]) -> Caller | None:
        return optional_caller(
            settings.token_keys,
            runtime.revocations,
            request.headers.get("authorization"),
            runtime.clock.now(),
        )

    def provide_desk() -> HelpDesk:
        return scheduler.desk

    def provide_memory() -> Memory:
        return scheduler.memory

    return build_app(
        scheduler,
        runtime,
        work(scheduler),
        api.routes,
        title="scheduler",
        description="Support sessions, help requests, bookings, waitlists and attendance.",
        rule_errors=RULE_ERRORS,
        dependencies={
            "maybe_caller": Provide(provide_maybe_caller),
            "desk": Provide(provide_desk, sync_to_thread=False),
            "memory": Provide(provide_memory, sync_to_thread=False),
        },
    )
