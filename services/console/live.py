"""Live pages: the open pages of one console instance, told when a session they show changed.

Each page held open by a browser watches the sessions it shows; the instance's hearings
(services/console/hearings.py) say which session changed, and every page watching it gets the
notice in its own bounded queue. A slow browser never holds more than `per_page` notices nor
delays the others: past that, its queue is emptied and holds one "refresh" (re-read all).
Nothing personal passes here: a notice is a session id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

REFRESH = "refresh"  # the notice that stands for "re-read everything you show"
PER_PAGE = 32


class Watch:
    """One open page: the sessions it shows and the notices it has not sent yet."""

    def __init__(self, session_ids: frozenset[str], per_page: int) -> None:
        self.session_ids = session_ids
        self._notices: asyncio.Queue[str] = asyncio.Queue(maxsize=per_page)

    def tell(self, session_id: str) -> None:
        try:
            self._notices.put_nowait(session_id)
        except asyncio.QueueFull:
            # Too far behind to be worth catching up notice by notice: one refresh says it all.
            while not self._notices.empty():
                self._notices.get_nowait()
            self._notices.put_nowait(REFRESH)

    async def next_notice(self) -> str:
        """A changed session's id, or REFRESH."""
        return await self._notices.get()

    @property
    def waiting(self) -> int:
        return self._notices.qsize()


class LivePages:
    """The pages this instance holds open, by the sessions they watch."""

    def __init__(self, per_page: int = PER_PAGE) -> None:
        self.per_page = per_page
        self._watching: dict[str, set[Watch]] = {}

    def watch(self, session_ids: Iterable[str]) -> Watch:
        watch = Watch(frozenset(session_ids), self.per_page)
        for session_id in watch.session_ids:
            self._watching.setdefault(session_id, set()).add(watch)
        return watch

    def unwatch(self, watch: Watch) -> None:
        for session_id in watch.session_ids:
            watchers = self._watching.get(session_id)
            if watchers is None:
                continue
            watchers.discard(watch)
            if not watchers:
                del self._watching[session_id]

    def changed(self, session_id: str) -> None:
        """Tell every page showing this session; never waits."""
        for watch in tuple(self._watching.get(session_id, ())):
            watch.tell(session_id)

    @property
    def open_pages(self) -> int:
        return len({watch for watchers in self._watching.values() for watch in watchers})
