"""The commune report coordinators send upward, computed from plain rows of the read model.

Groups: elderly means the flag or aged 60 or more in the session's year (Law on the Elderly);
disabled means the flag or a need for screen-reader help or a sign interpreter; minority means
the flag or a need for a minority-language interpreter. A resident is counted once per group
and topic however many sessions they attended; the no-show rate is no-shows over bookings
with a recorded outcome (attended or no-show).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

import msgspec

from shared.events.scheduler import (
    AttendanceStatus,
    BookingId,
    CommuneCode,
    HelpRequestId,
    OutcomeCount,
    SessionId,
)
from shared.events.vocabulary import Accessibility, Outcome, Topic

ELDERLY_AGE = 60
_DISABILITY_NEEDS = frozenset({Accessibility.SCREEN_READER_HELP, Accessibility.SIGN_INTERPRETER})


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    session_id: SessionId
    commune_code: CommuneCode
    local_date: date
    status: str  # scheduled, cancelled or completed


class AttendanceRow(msgspec.Struct, frozen=True, kw_only=True):
    """The latest attendance mark of one booking, with the resident's request details."""

    session_id: SessionId
    booking_id: BookingId
    request_id: HelpRequestId
    commune_code: CommuneCode
    local_date: date
    status: AttendanceStatus
    topics: tuple[Topic, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    accessibility_needs: tuple[Accessibility, ...] = ()
    birth_year: int | None = None
    elderly: bool = False
    disabled: bool = False
    minority: bool = False


class TopicCount(msgspec.Struct, frozen=True, kw_only=True):
    topic: Topic
    residents: int


class GroupCounts(msgspec.Struct, frozen=True, kw_only=True):
    elderly: int = 0
    disabled: int = 0
    minority: int = 0


class CommuneReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one commune's sessions achieved between two dates (inclusive)."""

    commune_code: CommuneCode
    from_date: date
    to_date: date
    sessions_held: int
    sessions_cancelled: int
    residents_served: int
    attendances: int
    no_shows: int
    no_show_rate: float
    online_applications_submitted: int
    by_topic: tuple[TopicCount, ...]
    by_group: GroupCounts
    outcomes: tuple[OutcomeCount, ...]


def is_elderly(row: AttendanceRow) -> bool:
    return row.elderly or (
        row.birth_year is not None and row.local_date.year - row.birth_year >= ELDERLY_AGE
    )


def is_disabled(row: AttendanceRow) -> bool:
    return row.disabled or bool(_DISABILITY_NEEDS & set(row.accessibility_needs))


def is_minority(row: AttendanceRow) -> bool:
    return row.minority or Accessibility.MINORITY_LANGUAGE_INTERPRETER in row.accessibility_needs


def commune_report(
    commune_code: CommuneCode,
    from_date: date,
    to_date: date,
    sessions: Iterable[SessionRow],
    attendances: Iterable[AttendanceRow],
) -> CommuneReport:
    """The report for one commune and date range; rows outside them are ignored."""

    def inside(code: CommuneCode, day: date) -> bool:
        return code == commune_code and from_date <= day <= to_date

    own_sessions = [s for s in sessions if inside(s.commune_code, s.local_date)]
    latest: dict[BookingId, AttendanceRow] = {}
    for row in attendances:
        if inside(row.commune_code, row.local_date):
            latest[row.booking_id] = row
    present = [
        r
        for r in latest.values()
        if r.status in {AttendanceStatus.ATTENDED, AttendanceStatus.CHECKED_IN}
    ]
    no_shows = sum(1 for r in latest.values() if r.status is AttendanceStatus.NO_SHOW)
    served = {r.request_id: r for r in present}
    outcome_counts: dict[Outcome, int] = {}
    for row in present:
        for outcome in row.outcomes:
            outcome_counts[outcome] = outcome_counts.get(outcome, 0) + 1
    by_topic = {topic: len({r.request_id for r in present if topic in r.topics}) for topic in Topic}
    recorded = len(present) + no_shows
    return CommuneReport(
        commune_code=commune_code,
        from_date=from_date,
        to_date=to_date,
        sessions_held=sum(1 for s in own_sessions if s.status == "completed"),
        sessions_cancelled=sum(1 for s in own_sessions if s.status == "cancelled"),
        residents_served=len(served),
        attendances=len(present),
        no_shows=no_shows,
        no_show_rate=round(no_shows / recorded, 4) if recorded else 0.0,
        online_applications_submitted=outcome_counts.get(Outcome.APPLICATION_SUBMITTED, 0),
        by_topic=tuple(TopicCount(topic=t, residents=n) for t, n in by_topic.items() if n),
        by_group=GroupCounts(
            elderly=sum(1 for r in served.values() if is_elderly(r)),
            disabled=sum(1 for r in served.values() if is_disabled(r)),
            minority=sum(1 for r in served.values() if is_minority(r)),
        ),
        outcomes=tuple(
            OutcomeCount(outcome=o, count=outcome_counts[o]) for o in Outcome if o in outcome_counts
        ),
    )


def report_csv(report: CommuneReport) -> str:
    """The report as `metric,value` CSV, one figure a line, for spreadsheets."""
    rows: list[tuple[str, object]] = [
        ("commune_code", report.commune_code),
        ("from_date", report.from_date.isoformat()),
        ("to_date", report.to_date.isoformat()),
        ("sessions_held", report.sessions_held),
        ("sessions_cancelled", report.sessions_cancelled),
        ("residents_served", report.residents_served),
        ("attendances", report.attendances),
        ("no_shows", report.no_shows),
        ("no_show_rate", f"{report.no_show_rate:.4f}"),
        ("online_applications_submitted", report.online_applications_submitted),
        ("group:elderly", report.by_group.elderly),
        ("group:disabled", report.by_group.disabled),
        ("group:minority", report.by_group.minority),
        *((f"topic:{t.topic.value}", t.residents) for t in report.by_topic),
        *((f"outcome:{o.outcome.value}", o.count) for o in report.outcomes),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("metric", "value"))
    writer.writerows(rows)
    return out.getvalue()
