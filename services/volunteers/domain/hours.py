"""Volunteer hours: attended assignments add up, per volunteer, per group and per commune."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import msgspec

from shared.events.scheduler import CommuneCode
from shared.events.volunteers import AssignmentId, GroupId, VolunteerId

MINUTES_PER_HOUR = 60


class AttendedAssignment(msgspec.Struct, frozen=True, kw_only=True):
    """An assignment the volunteer actually served (checked in at the session or visit)."""

    assignment_id: AssignmentId
    volunteer_id: VolunteerId
    group_id: GroupId
    commune_code: CommuneCode
    starts_at: datetime
    ends_at: datetime


class HoursReport(msgspec.Struct, frozen=True, kw_only=True):
    """Minutes given, summed three ways, for the coordinator's report upward."""

    by_volunteer: dict[VolunteerId, int]
    by_group: dict[GroupId, int]
    by_commune: dict[CommuneCode, int]
    total_minutes: int
    assignments: int

    def hours(self, minutes: int) -> float:
        """Minutes as hours, rounded to a tenth, as reports show them."""
        return round(minutes / MINUTES_PER_HOUR, 1)


def hours_report(
    attended: Iterable[AttendedAssignment],
    since: datetime | None = None,
    until: datetime | None = None,
) -> HoursReport:
    """Add up attended assignments that start in [since, until); each assignment counts once."""
    by_volunteer: dict[VolunteerId, int] = defaultdict(int)
    by_group: dict[GroupId, int] = defaultdict(int)
    by_commune: dict[CommuneCode, int] = defaultdict(int)
    counted: set[AssignmentId] = set()
    for item in attended:
        if item.assignment_id in counted:
            continue
        if (since is not None and item.starts_at < since) or (
            until is not None and item.starts_at >= until
        ):
            continue
        counted.add(item.assignment_id)
        minutes = max(int((item.ends_at - item.starts_at).total_seconds()) // 60, 0)
        by_volunteer[item.volunteer_id] += minutes
        by_group[item.group_id] += minutes
        by_commune[item.commune_code] += minutes
    return HoursReport(
        by_volunteer=dict(sorted(by_volunteer.items())),
        by_group=dict(sorted(by_group.items())),
        by_commune=dict(sorted(by_commune.items())),
        total_minutes=sum(by_volunteer.values()),
        assignments=len(counted),
    )
