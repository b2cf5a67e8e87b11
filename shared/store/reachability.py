"""Whether a service's database answers. An outage is told once per process: a WARNING when
the database goes away and an INFO when it is back, instead of an ERROR per failed request or
retry; HTTP answers 503 meanwhile (shared/web/problems.py) and readiness goes false.

Only failures to reach the database count: a connection refused, reset or closed, a server
shutting down, no connection from the pool in time. A constraint violation or a bad statement
is the caller's error and stays one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import asyncpg
import sqlalchemy as sa

log = logging.getLogger("handinhand.database")

# Answers from a PostgreSQL server that cannot take connections right now (starting, stopping,
# crashed, full), beside the connection errors proper (class 08).
_SERVER_AWAY = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


class DatabaseUnreachableError(ConnectionError):
    """No connection to the database could be opened: refused, reset, or no answer in time."""


def unreachable(error: BaseException) -> bool:
    """Whether `error`, or an error it came from, is the database being out of reach."""
    return any(_away(link) for link in _links(error))


def _away(error: BaseException) -> bool:
    if isinstance(error, sa.exc.DBAPIError):
        return error.connection_invalidated
    if isinstance(error, asyncpg.InterfaceError):
        return "connection is closed" in str(error)
    # A bare TimeoutError says nothing about the database (NATS raises them too); the
    # connection's own timeouts arrive as DatabaseUnreachableError (shared/store/database.py).
    return isinstance(error, (sa.exc.TimeoutError, ConnectionError, *_SERVER_AWAY))


def _links(error: BaseException) -> Iterator[BaseException]:
    """The error, what it was raised from or during, and what a group of them holds."""
    waiting, seen = [error], set()
    while waiting:
        link = waiting.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        if isinstance(link, BaseExceptionGroup):
            waiting.extend(link.exceptions)
        if isinstance(link, sa.exc.DBAPIError) and isinstance(link.orig, BaseException):
            waiting.append(link.orig)
        waiting.extend(e for e in (link.__cause__, link.__context__) if e is not None)


class Reachability:
    """One process's view of its database: reachable or not, each change logged once."""

    def __init__(self, service: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self.clock = clock
        self.reachable = True
        self.outages = 0  # since start-up
        self.failures = 0  # in the current outage: requests and retries that found it away
        self._lost_at = 0.0

    def lost(self, error: BaseException) -> bool:
        """Whether `error` means the database is out of reach; the first of an outage is logged
        (callers log any other error as before)."""
        if not unreachable(error):
            return False
        self.failures += 1
        if self.reachable:
            self.reachable = False
            self.outages += 1
            self._lost_at = self.clock()
            log.warning(
                "database of %s went away (%s: %s); requests get 503, work waits for it",
                self.service,
                type(error).__name__,
                _first_line(error),
            )
        return True

    def regained(self) -> None:
        """The database answered again (a connection opened, a transaction committed)."""
        if self.reachable:
            return
        self.reachable = True
        log.info(
            "database of %s is back after %.1f s (%d failures meanwhile)",
            self.service,
            self.clock() - self._lost_at,
            self.failures,
        )
        self.failures = 0


def _first_line(error: BaseException) -> str:
    return str(error).split("\n", 1)[0][:200]
