"""The volunteers service's composition root."""

from __future__ import annotations

import os

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from services.volunteers import api
from services.volunteers.domain.errors import (
    AlreadyPausedError,
    AlreadyRegisteredError,
    AnswerTooLateError,
    AssignmentClosedError,
    NotPausedError,
    SlotCancelledError,
)
from services.volunteers.parts import PARTS
from services.volunteers.planning import StaffingOptions
from shared.clock import Clock, SystemClock
from shared.events import build_catalog
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.app import build_app
from shared.web.openapi import BEARER


async def provide_staffing(state: State) -> StaffingOptions:
    options: StaffingOptions = state.runtime.extras["staffing"]
    return options


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    staffing: StaffingOptions | None = None,
) -> Litestar:
    runtime = Runtime(settings, PARTS, build_catalog(), clock or SystemClock())
    runtime.extras["staffing"] = staffing or StaffingOptions.from_env(os.environ)
    return build_app(
        runtime,
        api.routes,
        title="volunteers",
        description="Volunteer registry, availability, skills and assignment.",
        rule_errors={
            AlreadyRegisteredError: 409,
            AlreadyPausedError: 409,
            NotPausedError: 409,
            AssignmentClosedError: 409,
            AnswerTooLateError: 409,
            SlotCancelledError: 409,
        },
        dependencies={
            "staffing": Provide(provide_staffing),
        },
        security=[{BEARER: []}],  # every route needs a token
    )
