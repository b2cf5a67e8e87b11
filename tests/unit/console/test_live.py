"""The console's open pages: each hears only the sessions it shows, a slow one is told to
refresh instead of piling up notices, and a closed one hears nothing more."""

from __future__ import annotations

from datetime import date

from services.console.domain.asked import VolunteersAsked, volunteers_asked
from services.console.live import LISTED, REFRESH, CommuneDay, LivePages


async def test_a_page_hears_the_sessions_it_shows_and_no_other() -> None:
    live = LivePages()
    weekend = live.watch(["session-a", "session-b"])
    other = live.watch(["session-c"])

    live.changed("session-b")
    live.changed("session-z")

    assert await weekend.next_notice() == "session-b"
    assert weekend.waiting == 0
    assert other.waiting == 0


async def test_every_page_showing_a_session_hears_it() -> None:
    live = LivePages()
    pages = [live.watch(["session-a"]) for _ in range(3)]

    live.changed("session-a")

    assert [await page.next_notice() for page in pages] == ["session-a"] * 3


async def test_a_page_too_far_behind_is_told_to_refresh_and_holds_no_more() -> None:
    live = LivePages(per_page=4)
    slow = live.watch(["session-a"])
    quick = live.watch(["session-a"])

    for _ in range(4):
        live.changed("session-a")
    assert [await quick.next_notice() for _ in range(4)] == ["session-a"] * 4
    live.changed("session-a")  # the slow page's fifth: over its bound

    assert slow.waiting == 1
    assert await slow.next_notice() == REFRESH
    assert await quick.next_notice() == "session-a"


async def test_a_closed_page_hears_nothing_more_and_is_forgotten() -> None:
    live = LivePages()
    closed = live.watch(["session-a", "session-b"])
    still_open = live.watch(["session-a"])

    live.unwatch(closed)
    live.changed("session-a")
    live.changed("session-b")

    assert closed.waiting == 0
    assert still_open.waiting == 1
    assert live.open_pages == 1
    live.unwatch(still_open)
    assert live.open_pages == 0


def test_a_session_counts_its_volunteers_coming_and_still_to_answer() -> None:
    statuses = ["accepted", "proposed", "declined", "proposed", "expired", "released"]

    assert volunteers_asked(statuses) == VolunteersAsked(coming=1, waiting=2)
    assert volunteers_asked([]) == VolunteersAsked(coming=0, waiting=0)


SATURDAY = date(2026, 12, 5)
SUNDAY = date(2026, 12, 6)


async def test_a_weekend_page_hears_a_session_listed_on_its_communes_days_only() -> None:
    live = LivePages()
    weekend = live.watch([], [CommuneDay("15835", SATURDAY), CommuneDay("15835", SUNDAY)])
    next_weekend = live.watch([], [CommuneDay("15835", date(2026, 12, 12))])
    elsewhere = live.watch([], [CommuneDay("00004", SATURDAY)])

    live.listed("15835", SUNDAY)

    assert await weekend.next_notice() == LISTED
    assert next_weekend.waiting == 0
    assert elsewhere.waiting == 0


async def test_a_closed_weekend_page_is_forgotten_with_its_days() -> None:
    live = LivePages()
    closed = live.watch(["session-a"], [CommuneDay("15835", SATURDAY)])

    live.unwatch(closed)
    live.listed("15835", SATURDAY)

    assert closed.waiting == 0
    assert live.open_pages == 0
