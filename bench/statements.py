"""Statements and transactions per request, counted by the PostgreSQL server (`bench e2e
--statements`, issue 17).

Each service gets a database of its own on one server (`HANDINHAND_<SERVICE>_DATABASE_URL`),
so the server's own counters split by service: `pg_stat_statements` (calls and execution time
of every statement, `BEGIN` and `COMMIT` included, by database) and `pg_stat_database`
(`xact_commit`, `xact_rollback`). A statement is one round trip, except where the driver
pipelines several (asyncpg's `executemany`), so calls are an upper bound on round trips.

Round trips are counted on the wire (bench/wire.py: each service reaches the server through
a relay process that counts the messages after which its client waits for the server), since
`pg_stat_statements` counts an `executemany` of n rows as n calls.

`pg_stat_statements` has to be loaded when the server starts (`shared_preload_libraries`).
The shared server of `HANDINHAND_BENCH_DATABASE_URL` is used when it loads it; otherwise the
benchmark starts a server of its own (bench/pgserver.py, `fsync=off`: the counts are the
same, the latencies are not comparable with a run on the shared server).

The cumulative counters of `pg_stat_database` are flushed by each backend at most once a
second while it works and within 10 s once it idles (PostgreSQL 15), so a window is only read
`FLUSH_SECONDS` after the system went quiet, and the window's background (relay probes, lease
renewals, timers: what the system does with no requests at all) is measured apart, over an
idle window, and given per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.pgserver import PostgresServer, server_binaries
from bench.wire import WireCounter

FLUSH_SECONDS = 11.0  # PGSTAT_IDLE_INTERVAL (10 s) and a margin
IDLE_SECONDS = 10.0
TOP = 20
TEXT_WIDTH = 110
LIBRARY = "pg_stat_statements"


class StatementsUnavailableError(RuntimeError):
    """No PostgreSQL server with pg_stat_statements could be used or started."""


class CountingServer(PostgresServer):
    """A server of the benchmark's own that loads pg_stat_statements."""

    def init(self) -> None:
        super().init()
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nshared_preload_libraries = '{LIBRARY}'\n"
                "pg_stat_statements.max = 10000\n"
                "pg_stat_statements.track_utility = on\n"
            )


def with_database(url: str, database: str) -> str:
    """`url` naming another database on the same server."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


_PARAMETER = r"\$\d+(?:::[A-Z][A-Z ]*[A-Z])?"
_PARAMETER_LIST = re.compile(rf"{_PARAMETER}(?:\s*,\s*{_PARAMETER})+")


def shape(query: str) -> str:
    """The statement on one line, a list of parameters as `$…`: pg_stat_statements keeps an
    `IN (…)` of each length apart, this takes them as one statement."""
    return _PARAMETER_LIST.sub("$…", re.sub(r"\s+", " ", query).strip())


def one_line(query: str) -> str:
    text = shape(query)
    return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"


def grouped(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per database and statement shape, the counters added up; most calls first."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (str(row["datname"]), shape(str(row["query"])))
        into = found.setdefault(
            key, {"datname": key[0], "query": key[1], "calls": 0, "rows": 0, "total_exec_time": 0.0}
        )
        into["calls"] += int(row["calls"])
        into["rows"] += int(row["rows"])
        into["total_exec_time"] += float(row["total_exec_time"])
    return sorted(found.values(), key=lambda row: -int(row["calls"]))


@dataclass(frozen=True)
class Sample:
    """The server's counters at one moment, by database name."""

    at: float
    transactions: dict[str, int]
    round_trips: dict[str, int] = field(default_factory=dict)  # by service


@dataclass
class Counter:
    """One server, one database per service; `admin_url` names the server's `postgres`."""

    admin_url: str
    databases: dict[str, str]  # service -> database name
    wire: WireCounter | None = None
    _start: Sample | None = field(default=None, init=False)
    background: dict[str, dict[str, float]] = field(default_factory=dict, init=False)
    idle: dict[str, Any] = field(default_factory=dict, init=False)  # the idle window's figures

    def url(self, service: str) -> str:
        """The service's database, through its wire counter if there is one."""
        url = with_database(self.admin_url, self.databases[service])
        if self.wire is None:
            return url
        parts = urlsplit(url)
        return urlunsplit(
            parts._replace(netloc=f"{parts.username}@127.0.0.1:{self.wire.ports[service]}")
        )

    def tuning(self) -> dict[str, str]:
        """The services' environment: each its own database."""
        return {
            f"HANDINHAND_{service.upper()}_DATABASE_URL": self.url(service)
            for service in self.databases
        }

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_url.replace("postgresql+asyncpg", "postgresql"))

    async def create(self) -> None:
        connection = await self._connect()
        try:
            await connection.execute(f"CREATE EXTENSION IF NOT EXISTS {LIBRARY}")
            for name in self.databases.values():
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop(self) -> None:
        connection = await self._connect()
        try:
            for name in self.databases.values():
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    async def _sample(self, connection: asyncpg.Connection) -> Sample:
        rows = await connection.fetch(
            "SELECT datname, xact_commit + xact_rollback AS n FROM pg_stat_database"
            " WHERE datname = ANY($1::text[])",
            list(self.databases.values()),
        )
        # A connection that negotiated TLS is relayed unread: no count for its service then.
        trips = (
            {
                service: tally["round_trips"]
                for service, tally in (await self.wire.dump()).items()
                if not tally["encrypted"]
            }
            if self.wire is not None
            else {}
        )
        return Sample(time.monotonic(), {row["datname"]: int(row["n"]) for row in rows}, trips)

    async def _statements(self, connection: asyncpg.Connection) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await connection.fetch(
            "SELECT d.datname, s.query, s.calls, s.total_exec_time, s.rows"
            f" FROM {LIBRARY} s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = ANY($1::text[])",
            list(self.databases.values()),
        )
        return rows

    async def start(self) -> None:
        """The window starts: statement counters reset, transactions noted."""
        connection = await self._connect()
        try:
            await connection.execute(f"SELECT {LIBRARY}_reset()")
            self._start = await self._sample(connection)
        finally:
            await connection.close()

    async def read(self, requests: int) -> dict[str, Any]:
        """The window ends `FLUSH_SECONDS` from now (the caller waited until the system was
        quiet): what each service's database did per request."""
        await asyncio.sleep(FLUSH_SECONDS)
        assert self._start is not None
        connection = await self._connect()
        try:
            end = await self._sample(connection)
            rows = await self._statements(connection)
        finally:
            await connection.close()
        return summary(
            self.databases,
            [dict(row) for row in rows],
            self._start,
            end,
            requests,
            self.background,
        )

    async def measure_background(self, seconds: float = IDLE_SECONDS) -> None:
        """Statements and transactions per second of each service with no requests."""
        await asyncio.sleep(FLUSH_SECONDS)  # what was done before is flushed
        await self.start()
        await asyncio.sleep(seconds)
        idle = self.idle = await self.read(0)
        self.background = {
            service: {
                key: figures[key]
                for key in ("round_trips_per_s", "statements_per_s", "transactions_per_s")
                if figures[key] is not None
            }
            for service, figures in idle["services"].items()
        }
        print(background_report(self.background), file=sys.stderr, flush=True)


def summary(
    databases: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
    start: Sample,
    end: Sample,
    requests: int,
    background: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """Per service: statements and transactions, per request and per second, the same net
    of the idle background over the window, and the top statements by calls."""
    seconds = end.at - start.at
    per_service: dict[str, Any] = {}
    for service, name in databases.items():
        mine = [row for row in grouped(rows) if row["datname"] == name]
        calls = sum(int(row["calls"]) for row in mine)
        transactions = end.transactions.get(name, 0) - start.transactions.get(name, 0)
        trips = (
            end.round_trips[service] - start.round_trips.get(service, 0)
            if service in end.round_trips
            else None
        )
        idle = (background or {}).get(service, {})
        net_calls = calls - idle.get("statements_per_s", 0.0) * seconds
        net_transactions = transactions - idle.get("transactions_per_s", 0.0) * seconds
        net_trips = None if trips is None else trips - idle.get("round_trips_per_s", 0.0) * seconds
        per_service[service] = {
            "round_trips": trips,
            "round_trips_per_s": _per_second(trips, seconds),
            "round_trips_per_request": None if trips is None else _per(trips, requests),
            "net_round_trips_per_request": None if net_trips is None else _per(net_trips, requests),
            "statements": calls,
            "transactions": transactions,
            "statements_per_s": _per_second(calls, seconds),
            "transactions_per_s": _per_second(transactions, seconds),
            "statements_per_request": _per(calls, requests),
            "transactions_per_request": _per(transactions, requests),
            "net_statements_per_request": _per(net_calls, requests),
            "net_transactions_per_request": _per(net_transactions, requests),
            "top": [
                {
                    "query": one_line(str(row["query"])),
                    "calls": int(row["calls"]),
                    "calls_per_request": _per(int(row["calls"]), requests),
                    "mean_ms": round(float(row["total_exec_time"]) / int(row["calls"]), 3),
                    "rows_per_call": round(int(row["rows"]) / int(row["calls"]), 2),
                }
                for row in mine[:TOP]
                if int(row["calls"])
            ],
        }
    return {"requests": requests, "window_s": round(seconds, 1), "services": per_service}


def _per_second(count: float | None, seconds: float) -> float | None:
    return None if count is None else round(count / seconds, 1) if seconds else 0.0


def _per(count: float, requests: int) -> float | None:
    return round(count / requests, 2) if requests else None


def report(name: str, figures: Mapping[str, Any]) -> str:
    """The figures of one window as text."""
    head = (
        f"statements in the {name} phase: {figures['requests']} requests, "
        f"window {figures['window_s']} s (per request; net = less the idle background)"
    )
    lines = [head]
    for service, mine in figures["services"].items():
        lines.append(
            f"  {service}: {mine['round_trips_per_request']} round trips/request "
            f"(net {mine['net_round_trips_per_request']}), "
            f"{mine['statements_per_request']} statements/request "
            f"(net {mine['net_statements_per_request']}), "
            f"{mine['transactions_per_request']} transactions/request "
            f"(net {mine['net_transactions_per_request']}); "
            f"{mine['statements']} statements, {mine['transactions']} transactions"
        )
        lines.extend(
            f"    {top['calls_per_request']!s:>6}/req {top['mean_ms']:>7.3f} ms "
            f"{top['rows_per_call']:>6} rows  {top['query']}"
            for top in mine["top"]
        )
    return "\n".join(lines)


def background_report(background: Mapping[str, Mapping[str, float]]) -> str:
    return "idle background per second: " + "; ".join(
        f"{service} {figures.get('round_trips_per_s')} round trips, "
        f"{figures['statements_per_s']} statements, "
        f"{figures['transactions_per_s']} transactions"
        for service, figures in background.items()
    )


async def _preloads(url: str) -> bool:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        value = await connection.fetchval("SHOW shared_preload_libraries")
    finally:
        await connection.close()
    return LIBRARY in [part.strip() for part in str(value).split(",")]


@contextlib.asynccontextmanager
async def counting_server(
    url: str | None, prefix: str, services: Sequence[str]
) -> AsyncIterator[Counter]:
    """A `Counter` on the server of `url` if it loads pg_stat_statements, else on a server of
    the benchmark's own; its databases are dropped (or its server removed) afterwards."""
    server: CountingServer | None = None
    if url is None or not await _preloads(url):
        binaries = server_binaries()
        if binaries is None:
            raise StatementsUnavailableError(
                f"the server does not load {LIBRARY} and no PostgreSQL binaries are installed"
            )
        server = CountingServer(binaries)
        await asyncio.to_thread(server.init)
        await server.start_async()
        admin = server.url
    else:
        admin = with_database(url, "postgres")
    where = urlsplit(admin)
    wire = await WireCounter.start(where.hostname or "127.0.0.1", where.port or 5432, [*services])
    counter = Counter(admin, {service: f"{prefix}_{service}" for service in services}, wire)
    try:
        await counter.create()
        yield counter
    finally:
        await wire.stop()
        if server is None:
            await counter.drop()
        else:
            await asyncio.to_thread(server.remove)
