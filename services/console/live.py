"""Live pages: the open pages of one console instance, told when a session they show changed.

Each page held open by a browser watches the sessions it shows; the instance's hearings
(services/console/hearings.py) say which session changed, and every page watching it gets the
notice in its own bounded queue. A slow browser never holds more than `per_page` notices nor
delays the others: past that, its queue is emptied and holds one "refresh" (re-read all).
This weekend also watches its commune's days, to hear "listed" when a session appears there
(or moves in or out) and re-read its list. Nothing personal passes here: a notice is a session
id or one of those two words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple, TypeVar

REFRESH = "refresh"  # the notice that stands for "re-read everything you show"
LISTED = "listed"  # "the sessions of a day you list changed": re-read the list
PER_PAGE = 32
Key = TypeVar("Key")


class CommuneDay(NamedTuple):
    """A commune's sessions of one local day, as This weekend lists them."""

    commune_code: str
    day: date


class Watch:
    """One open page: the sessions it shows and the notices it has not sent yet."""

    def __init__(
        self, session_ids: frozenset[str], days: frozenset[CommuneDay], per_page: int
    ) -> None:
        self.session_ids = session_ids
        self.days = days
        self._notices: asyncio.Queue[str] = asyncio.Queue(maxsize=per_page)

    def tell(self, notice: str) -> None:
        try:
            self._notices.put_nowait(notice)
        except asyncio.QueueFull:
            # Too far behind to be worth catching up notice by notice: one refresh says it all.
            while not self._notices.empty():
                self._notices.get_nowait()
            self._notices.put_nowait(REFRESH)

    async def next_notice(self) -> str:
        """A changed session's id, LISTED or REFRESH."""
        return await self._notices.get()

    @property
    def waiting(self) -> int:
        return self._notices.qsize()


class LivePages:
    """The pages this instance holds open, by the sessions they watch."""

    def __init__(self, per_page: int = PER_PAGE) -> None:
        self.per_page = per_page
        self._watching: dict[str, set[Watch]] = {}
        self._listing: dict[CommuneDay, set[Watch]] = {}

    def watch(self, session_ids: Iterable[str], days: Iterable[CommuneDay] = ()) -> Watch:
        watch = Watch(frozenset(session_ids), frozenset(days), self.per_page)
        for session_id in watch.session_ids:
            self._watching.setdefault(session_id, set()).add(watch)
        for day in watch.days:
            self._listing.setdefault(day, set()).add(watch)
        return watch

    def unwatch(self, watch: Watch) -> None:
        _forget(self._watching, watch.session_ids, watch)
        _forget(self._listing, watch.days, watch)

    def changed(self, session_id: str) -> None:
        """Tell every page showing this session; never waits."""
        for watch in tuple(self._watching.get(session_id, ())):
            watch.tell(session_id)

    def listed(self, commune_code: str, day: date) -> None:
        """Tell every page listing the commune's sessions of that day; never waits."""
        for watch in tuple(self._listing.get(CommuneDay(commune_code, day), ())):
            watch.tell(LISTED)

    @property
    def open_pages(self) -> int:
        watches = [*self._watching.values(), *self._listing.values()]
        return len({watch for watchers in watches for watch in watchers})


def _forget(index: dict[Key, set[Watch]], keys: Iterable[Key], watch: Watch) -> None:
    for key in keys:
        watchers = index.get(key)
        if watchers is None:
            continue
        watchers.discard(watch)
        if not watchers:
            del index[key]
