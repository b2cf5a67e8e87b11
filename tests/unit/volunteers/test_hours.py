"""Hours: attended assignments add up by volunteer, group and commune."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.volunteers.domain.hours import AttendedAssignment, hours_report
from shared.events.scheduler import CommuneCode
from shared.events.volunteers import AssignmentId, GroupId, VolunteerId

START = datetime(2025, 6, 14, 1, 0, tzinfo=UTC)


def attended(
    number: int, volunteer: str, group: str, commune: str, hours: float
) -> AttendedAssignment:
    return AttendedAssignment(
        assignment_id=AssignmentId(f"a{number}"),
        volunteer_id=VolunteerId(volunteer),
        group_id=GroupId(group),
        commune_code=CommuneCode(commune),
        starts_at=START + timedelta(days=number),
        ends_at=START + timedelta(days=number, hours=hours),
    )


def test_adds_up_hours_by_volunteer_group_and_commune_counting_each_once() -> None:
    items = [
        attended(1, "v1", "g1", "15835", 3),
        attended(2, "v1", "g1", "15835", 2.5),
        attended(3, "v2", "g2", "15836", 1),
    ]
    report = hours_report([*items, items[0]])
    assert report.by_volunteer == {"v1": 330, "v2": 60}
    assert report.by_group == {"g1": 330, "g2": 60}
    assert report.by_commune == {"15835": 330, "15836": 60}
    assert report.total_minutes == 390
    assert report.hours(report.total_minutes) == 6.5
    assert report.assignments == 3


def test_reports_only_the_period_asked_for() -> None:
    items = [attended(1, "v1", "g1", "15835", 3), attended(10, "v1", "g1", "15835", 2)]
    report = hours_report(items, since=START, until=START + timedelta(days=5))
    assert report.total_minutes == 180
