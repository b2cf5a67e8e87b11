"""A volunteer's calendar link: given past events, a command, expect events or an error."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.volunteers.domain.calendar_links import (
    CalendarLinkState,
    IssueCalendarLink,
    decide_issue_calendar_link,
    decide_revoke_calendar_link,
    evolve_calendar_link,
    secret_hash,
)
from services.volunteers.domain.errors import NoCalendarLinkError, NotRegisteredError
from services.volunteers.domain.registry import VolunteerState
from shared.events.base import Event
from shared.events.volunteers import (
    CalendarLinkId,
    CalendarLinkIssued,
    CalendarLinkRevoked,
    VolunteerId,
)

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
VOLUNTEER = VolunteerId("0197a1e0-0000-7000-8000-000000000002")
FIRST = CalendarLinkId("0197a1e0-0000-7000-8000-0000000000a1")
SECOND = CalendarLinkId("0197a1e0-0000-7000-8000-0000000000a2")
REGISTERED = VolunteerState(volunteer_id=VOLUNTEER, registered=True)


def given(*events: Event) -> CalendarLinkState:
    state = CalendarLinkState()
    for event in events:
        state = evolve_calendar_link(state, event)
    return state


def issue(link_id: CalendarLinkId, secret: str) -> IssueCalendarLink:
    return IssueCalendarLink(volunteer_id=VOLUNTEER, link_id=link_id, secret=secret)


def test_issues_a_link_keeping_only_the_hash_of_its_secret() -> None:
    (event,) = decide_issue_calendar_link(REGISTERED, given(), issue(FIRST, "s3cret"), NOW)
    assert event == CalendarLinkIssued(
        volunteer_id=VOLUNTEER,
        link_id=FIRST,
        secret_hash=hashlib.sha256(b"s3cret").hexdigest(),
        issued_at=NOW,
    )
    assert "s3cret" not in repr(event)
    assert given(event).current == FIRST


def test_a_new_link_revokes_the_one_before_first() -> None:
    past = decide_issue_calendar_link(REGISTERED, given(), issue(FIRST, "one"), NOW)
    later = NOW + timedelta(days=1)
    revoked, issued = decide_issue_calendar_link(
        REGISTERED, given(*past), issue(SECOND, "two"), later
    )
    assert revoked == CalendarLinkRevoked(volunteer_id=VOLUNTEER, link_id=FIRST, revoked_at=later)
    assert isinstance(issued, CalendarLinkIssued)
    assert issued.link_id == SECOND
    assert given(*past, revoked, issued).current == SECOND


def test_revokes_the_link_that_works() -> None:
    past = decide_issue_calendar_link(REGISTERED, given(), issue(FIRST, "one"), NOW)
    (event,) = decide_revoke_calendar_link(REGISTERED, given(*past), NOW)
    assert event == CalendarLinkRevoked(volunteer_id=VOLUNTEER, link_id=FIRST, revoked_at=NOW)
    assert given(*past, event).current is None


def test_revoking_without_a_link_fails() -> None:
    with pytest.raises(NoCalendarLinkError):
        decide_revoke_calendar_link(REGISTERED, given(), NOW)


def test_revoking_twice_fails() -> None:
    past = decide_issue_calendar_link(REGISTERED, given(), issue(FIRST, "one"), NOW)
    revoked = decide_revoke_calendar_link(REGISTERED, given(*past), NOW)
    with pytest.raises(NoCalendarLinkError):
        decide_revoke_calendar_link(REGISTERED, given(*past, *revoked), NOW)


def test_an_unregistered_volunteer_gets_no_link() -> None:
    with pytest.raises(NotRegisteredError):
        decide_issue_calendar_link(
            VolunteerState(volunteer_id=VOLUNTEER), given(), issue(FIRST, "x"), NOW
        )


def test_the_hash_is_hex_sha256() -> None:
    assert secret_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(secret_hash("abc")) == 64
