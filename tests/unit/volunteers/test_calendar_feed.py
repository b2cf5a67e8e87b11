"""The calendar feed's words and where its links point."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from services.volunteers.calendar_feed import calendar_of, topic_label
from services.volunteers.settings import FeedSettings
from services.volunteers.views.queries import CalendarEntry
from shared.events.vocabulary import Skill, Topic, label
from shared.events.volunteers import AssignmentId
from shared.settings import ConfigError, Settings

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def test_a_topic_reads_in_vietnamese_and_none_reads_as_digital_skills() -> None:
    assert topic_label("cashless_payment") == label(Topic.CASHLESS_PAYMENT)
    assert topic_label("interpreting") == label(Skill.INTERPRETING)
    assert topic_label("") == "kỹ năng số"
    assert topic_label("not_a_topic") == "kỹ năng số"


def test_an_empty_feed_is_still_a_calendar() -> None:
    calendar = Calendar.from_ical(calendar_of([], now=NOW))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["PRODID"]).startswith("-//HandInHand//")


def test_each_entry_is_one_event_named_by_its_assignment() -> None:
    entry = CalendarEntry(
        assignment_id=AssignmentId("a-1"),
        starts_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 5, 4, 0, tzinfo=UTC),
        place="Nhà văn hóa thôn 3, Thiệu Trung",
        topic="screen_reader",
    )
    [event] = Calendar.from_ical(calendar_of([entry], now=NOW)).walk("VEVENT")
    assert str(event["UID"]) == "a-1@handinhand"
    assert event.decoded("DTSTART") == entry.starts_at
    assert str(event["LOCATION"]) == entry.place


def test_links_point_at_the_public_url(tmp_path: Path) -> None:
    settings = Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)})
    given = FeedSettings.from_env(
        {"HANDINHAND_VOLUNTEERS_PUBLIC_URL": "https://tinh.example.vn/"}, settings
    )
    assert given.calendar_url("abc") == "https://tinh.example.vn/calendars/abc.ics"
    default = FeedSettings.from_env({}, settings)
    assert default.public_url == f"http://{settings.host}:{settings.ports['volunteers']}"
    with pytest.raises(ConfigError):
        FeedSettings.from_env({"HANDINHAND_VOLUNTEERS_PUBLIC_URL": "tinh.example.vn"}, settings)
