"""Which failures mean the database is out of reach (503, said once) and which are the
request's own (a constraint, bad SQL: unchanged); an outage is logged once when it starts and
once when it ends, however many failures it causes."""

from __future__ import annotations

import logging
import sqlite3

import asyncpg
import nats.errors
import pytest
import sqlalchemy as sa

from shared.store.reachability import DatabaseUnreachableError, Reachability, unreachable


def raised_from(error: BaseException, cause: BaseException) -> BaseException:
    """`error` raised while handling `cause`, as the code under a failed statement does."""
    error.__cause__ = cause
    return error


def wrapped(orig: BaseException, *, invalidated: bool = False) -> sa.exc.DBAPIError:
    """As SQLAlchemy wraps a driver's error (with the driver's own error as `orig`)."""
    return sa.exc.DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


AWAY = {
    "refused": ConnectionRefusedError(111, "Connect call failed"),
    "reset": ConnectionResetError(104, "Connection reset by peer"),
    "no connection opened": DatabaseUnreachableError("cannot connect to PostgreSQL"),
    "closed under SQLAlchemy": wrapped(RuntimeError("connection is closed"), invalidated=True),
    "closed under asyncpg": asyncpg.InterfaceError("connection is closed"),
    "closed mid-statement": asyncpg.ConnectionDoesNotExistError("closed in the middle"),
    "server shutting down": asyncpg.AdminShutdownError("terminating connection"),
    "server starting": asyncpg.CannotConnectNowError("the database system is starting up"),
    "pool exhausted": sa.exc.TimeoutError("QueuePool limit reached"),
    "raised from a reset": raised_from(RuntimeError("could not place"), ConnectionResetError()),
    "in a group": ExceptionGroup("dependencies", [ValueError(), ConnectionRefusedError()]),
}
NOT_AWAY = {
    "unique violation": sa.exc.IntegrityError(
        "INSERT", {}, asyncpg.UniqueViolationError("duplicate key")
    ),
    "bad SQL": wrapped(asyncpg.UndefinedTableError("relation does not exist")),
    "SQLite locked": sa.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("locked")),
    "a timeout of anything": TimeoutError(),
    "NATS slow": nats.errors.TimeoutError(),
    "asyncpg misuse": asyncpg.InterfaceError("another operation is in progress"),
    "a bug": KeyError("session"),
}


@pytest.mark.parametrize("error", AWAY.values(), ids=AWAY.keys())
def test_failures_to_reach_the_database_are_told_apart(error: BaseException) -> None:
    assert unreachable(error)


@pytest.mark.parametrize("error", NOT_AWAY.values(), ids=NOT_AWAY.keys())
def test_the_requests_own_errors_are_not_an_outage(error: BaseException) -> None:
    assert not unreachable(error)


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    database = Reachability("scheduler", clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="handinhand.database")

    database.regained()  # nothing was lost: nothing to say
    answered = [database.lost(ConnectionRefusedError()) for _ in range(300)]
    other = database.lost(KeyError("not the database"))
    now[0] += 12.5
    database.regained()
    database.regained()

    assert all(answered)
    assert not other
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            (
                "database of scheduler went away (ConnectionRefusedError: ); requests get 503, "
                "work waits for it"
            ),
        ),
        ("INFO", "database of scheduler is back after 12.5 s (300 failures meanwhile)"),
    ]
    assert (database.reachable, database.outages) == (True, 1)
