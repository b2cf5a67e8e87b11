from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.scheduler.domain.sessions import RescheduleSession, decide_reschedule_session
from services.scheduler.domain.staffing import decide_raise_staffing_alert, staffing_alert_due
from shared.events.scheduler import StaffingAlertRaised
from tests.unit.scheduler.builders import COORDINATOR, NOW, SCOPE, SUNDAY, fold_session, scheduled

START = NOW + timedelta(days=5)


def test_alerts_an_understaffed_session_48_hours_before_it_starts() -> None:
    assert staffing_alert_due(
        START, START - timedelta(hours=48), staffed=False, already_alerted=False
    )
    assert staffing_alert_due(
        START, START - timedelta(hours=1), staffed=False, already_alerted=False
    )


def test_no_alert_when_staffed_already_alerted_too_early_or_started() -> None:
    at = START - timedelta(hours=47)
    assert not staffing_alert_due(START, at, staffed=True, already_alerted=False)
    assert not staffing_alert_due(START, at, staffed=False, already_alerted=True)
    assert not staffing_alert_due(
        START, START - timedelta(hours=49), staffed=False, already_alerted=False
    )
    assert not staffing_alert_due(START, START, staffed=False, already_alerted=False)


@given(minutes_before=st.integers(min_value=-6000, max_value=6000))
def test_an_alert_is_due_exactly_within_the_48_hours_before_start(minutes_before: int) -> None:
    now = START - timedelta(minutes=minutes_before)
    assert staffing_alert_due(START, now, staffed=False, already_alerted=False) == (
        0 < minutes_before <= 48 * 60
    )


def test_raises_the_alert_once_for_the_sessions_coordinator_and_again_after_a_reschedule() -> None:
    session = scheduled()
    due = session.when.starts_at - timedelta(hours=24)
    assert decide_raise_staffing_alert(session, staffed=True, now=due) == []
    [alert] = decide_raise_staffing_alert(session, staffed=False, now=due)
    assert isinstance(alert, StaffingAlertRaised)
    assert alert.coordinator_id == COORDINATOR
    assert alert.volunteers_needed == 2
    session = fold_session(session, [alert])
    assert decide_raise_staffing_alert(session, staffed=False, now=due) == []
    moved = decide_reschedule_session(
        session,
        RescheduleSession(
            session_id=session.session_id,
            local_date=SUNDAY,
            start_local=session.when.start_local,
            end_local=session.when.end_local,
        ),
        now=NOW,
        scope=SCOPE,
    )
    session = fold_session(session, moved)
    assert decide_raise_staffing_alert(
        session, staffed=False, now=session.when.starts_at - timedelta(hours=2)
    )
