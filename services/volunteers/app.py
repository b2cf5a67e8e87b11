"""The volunteers service's composition root."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide

from services.volunteers import api
from services.volunteers.domain.errors import (
    AlreadyPausedError,
    AlreadyRegisteredError,
    AnswerTooLateError,
    AssignmentClosedError,
    NoCalendarLinkError,
    NotPausedError,
    SlotCancelledError,
    VolunteerErasedError,
)
from services.volunteers.parts import PARTS, work
from services.volunteers.planning import StaffingOptions
from services.volunteers.service import Volunteers
from services.volunteers.settings import FeedSettings
from shared.clock import Clock, SystemClock
from shared.events import build_catalog
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.app import build_app
from shared.web.openapi import BEARER


def create_app(
    settings: Settings,
    *,
    staffing: StaffingOptions,
    feed: FeedSettings,
    clock: Clock | None = None,
) -> Litestar:
    """`staffing` and `feed` come from their `from_env` in the entrypoint (services/cli.py)."""
    runtime = Runtime(settings, PARTS, build_catalog(), clock or SystemClock())
    volunteers = Volunteers.assemble(runtime, staffing, feed)

    def provide_staffing() -> StaffingOptions:
        return volunteers.staffing

    def provide_feed() -> FeedSettings:
        return volunteers.feed

    return build_app(
        volunteers,
        runtime,
        work(volunteers),
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
            VolunteerErasedError: 409,
            NoCalendarLinkError: 404,
        },
        dependencies={
            "staffing": Provide(provide_staffing, sync_to_thread=False),
            "feed": Provide(provide_feed, sync_to_thread=False),
        },
        security=[{BEARER: []}],  # every route needs a token
    )
