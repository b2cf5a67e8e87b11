"""What one volunteers app holds, built once by `create_app` and handed to its consumers,
timers and HTTP dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from services.volunteers.planning import StaffingOptions
from services.volunteers.settings import FeedSettings
from shared.runtime import Runtime


@dataclass(frozen=True)
class Volunteers:
    """The runtime, how staffing behaves (delays, neighbouring communes) and where calendar
    links point."""

    runtime: Runtime
    staffing: StaffingOptions
    feed: FeedSettings

    @classmethod
    def assemble(
        cls, runtime: Runtime, staffing: StaffingOptions, feed: FeedSettings
    ) -> Volunteers:
        return cls(runtime=runtime, staffing=staffing, feed=feed)
