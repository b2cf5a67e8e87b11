"""A volunteer's calendar feed as iCalendar (RFC 5545): one event per accepted assignment.

The feed is read by calendar apps, which cannot send a token, behind a secret link; it says
only what the volunteer's own SMS said (when, where, which topic), never their name, phone or
the residents who booked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from services.volunteers.views.queries import CalendarEntry
from shared.events.vocabulary import DIGITAL_SKILLS, Skill, Topic, label

# Litestar adds "; charset=utf-8" to every text/ type it answers
MEDIA_TYPE = "text/calendar"
# How far back the feed reaches: assignments of the last 30 days stay, for the volunteer's own
# record of what they did; older ones drop out.
LOOKBACK = timedelta(days=30)
UID_DOMAIN = "handinhand"
_WORDS: dict[str, Topic | Skill] = {**{s.value: s for s in Skill}, **{t.value: t for t in Topic}}


def topic_label(code: str) -> str:
    """A topic as the volunteer's Vietnamese SMS names it; none (or unknown) is digital skills."""
    word = _WORDS.get(code)
    return DIGITAL_SKILLS.vi if word is None else label(word)


def summary(entry: CalendarEntry) -> str:
    """The event's title, in the words of the proposal SMS ("bạn hỗ trợ buổi {topic}")."""
    return f"Hỗ trợ buổi {topic_label(entry.topic)}"


def calendar_of(entries: Iterable[CalendarEntry], *, now: datetime) -> bytes:
    """The feed: times in UTC (calendar apps show them in the reader's zone)."""
    calendar = Calendar()
    calendar.add("prodid", "-//HandInHand//volunteers calendar//VI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Lịch hỗ trợ HandInHand")
    calendar.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for entry in entries:
        event = Event()
        event.add("uid", f"{entry.assignment_id}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("dtstart", entry.starts_at)
        event.add("dtend", entry.ends_at)
        event.add("summary", summary(entry))
        event.add("location", entry.place)
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
