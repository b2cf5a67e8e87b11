"""What one volunteers app holds, built once by `create_app` and handed to its consumers,
timers and HTTP dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from services.volunteers.planning import StaffingOptions
from shared.runtime import Runtime


@dataclass(frozen=True)
class Volunteers:
    """The runtime and how staffing behaves (delays, neighbouring communes)."""

    runtime: Runtime
    staffing: StaffingOptions

    @classmethod
    def assemble(cls, runtime: Runtime, staffing: StaffingOptions) -> Volunteers:
        return cls(runtime=runtime, staffing=staffing)
