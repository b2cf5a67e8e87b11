from __future__ import annotations

import csv
import io
from datetime import date

import msgspec

from services.scheduler.domain.reports import AttendanceRow, SessionRow, commune_report, report_csv
from shared.events.scheduler import (
    AttendanceStatus,
    BookingId,
    CommuneCode,
    HelpRequestId,
    SessionId,
)
from shared.events.vocabulary import Accessibility, Outcome, Topic

HERE = CommuneCode("15835")
ELSEWHERE = CommuneCode("15772")
DAY = date(2026, 3, 7)


def row(n: int, status: AttendanceStatus, **changes: object) -> AttendanceRow:
    fields: dict[str, object] = {
        "session_id": SessionId("s1"),
        "booking_id": BookingId(f"b{n}"),
        "request_id": HelpRequestId(f"r{n}"),
        "commune_code": HERE,
        "local_date": DAY,
        "status": status,
        "topics": (Topic.VNEID_ACTIVATION,),
    }
    return msgspec.convert({**fields, **changes}, AttendanceRow)


SESSIONS = [
    SessionRow(session_id=SessionId("s1"), commune_code=HERE, local_date=DAY, status="completed"),
    SessionRow(session_id=SessionId("s2"), commune_code=HERE, local_date=DAY, status="cancelled"),
    SessionRow(
        session_id=SessionId("s3"),
        commune_code=HERE,
        local_date=date(2026, 5, 2),
        status="completed",
    ),
    SessionRow(
        session_id=SessionId("s4"), commune_code=ELSEWHERE, local_date=DAY, status="completed"
    ),
]
ROWS = [
    row(1, AttendanceStatus.NO_SHOW),
    row(
        1,
        AttendanceStatus.ATTENDED,
        outcomes=(Outcome.VNEID_ACTIVATED, Outcome.APPLICATION_SUBMITTED),
        birth_year=1950,
    ),
    row(
        2,
        AttendanceStatus.ATTENDED,
        topics=(Topic.SCREEN_READER,),
        accessibility_needs=(Accessibility.SCREEN_READER_HELP,),
    ),
    row(3, AttendanceStatus.CHECKED_IN, minority=True, outcomes=(Outcome.APPLICATION_SUBMITTED,)),
    row(4, AttendanceStatus.NO_SHOW, elderly=True),
    row(5, AttendanceStatus.ATTENDED, commune_code=ELSEWHERE),
    row(6, AttendanceStatus.ATTENDED, local_date=date(2026, 5, 2)),
]


def test_the_commune_report_counts_sessions_residents_groups_no_shows_and_applications() -> None:
    report = commune_report(HERE, date(2026, 3, 1), date(2026, 3, 31), SESSIONS, ROWS)
    assert (report.sessions_held, report.sessions_cancelled) == (1, 1)
    assert report.residents_served == 3
    assert report.no_shows == 1
    assert report.no_show_rate == 0.25
    assert report.online_applications_submitted == 2
    assert {t.topic: t.residents for t in report.by_topic} == {
        Topic.VNEID_ACTIVATION: 2,
        Topic.SCREEN_READER: 1,
    }
    # The elderly no-show was not served; the resident born in 1950 was (76 in 2026).
    assert (report.by_group.elderly, report.by_group.disabled, report.by_group.minority) == (
        1,
        1,
        1,
    )


def test_an_empty_period_has_a_zero_no_show_rate() -> None:
    report = commune_report(HERE, date(2025, 1, 1), date(2025, 1, 31), SESSIONS, ROWS)
    assert (report.sessions_held, report.residents_served, report.no_show_rate) == (0, 0, 0.0)


def test_the_report_reads_as_metric_value_csv() -> None:
    report = commune_report(HERE, date(2026, 3, 1), date(2026, 3, 31), SESSIONS, ROWS)
    lines = list(csv.reader(io.StringIO(report_csv(report))))
    assert lines[0] == ["metric", "value"]
    values = dict(lines[1:])
    assert values["commune_code"] == "15835"
    assert values["sessions_held"] == "1"
    assert values["no_show_rate"] == "0.2500"
    assert values["topic:vneid_activation"] == "2"
    assert values["outcome:application_submitted"] == "2"
    assert values["group:minority"] == "1"
