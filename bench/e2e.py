"""Benchmark of the whole system: help requests in over HTTP, booking SMS out to a provider.

The system runs as `handinhand up` runs it (bench/system.py): an embedded nats-server, the
scheduler, volunteers and notifications services as three `handinhand serve` processes, SQLite
files in a temporary directory, or PostgreSQL (one throwaway schema per service, dropped at the
end) when HANDINHAND_BENCH_DATABASE_URL is set. The SMS provider is a Twilio-compatible HTTP
server (bench/gateway.py) in a process of its own, which notes when each SMS arrives.

A commune gets a weekend calendar with room for every request and a few volunteers; then
public `POST /help-requests` (distinct phone numbers, rate limits lifted by configuration)
are sent in two phases:

- `fixed`: an open loop at `--rate` requests/s (by default 20 % of the reference rate) for
  `--seconds`;
- `max`: a closed loop, `--concurrency` requests in flight, for `--seconds`.

The yardstick (bench/reference.py) is measured in the same run, on the same database, with the
same client and concurrency, before the system starts and again after it stops: a bare
Litestar app answering the same POST with one insert and commit. `reference_per_s` is the mean
of the two, and `ratio` is sustained requests/s over it; the targets are on the ratio and on
the fixed phase's p99 (the machine's speed moves by half from hour to hour; the ratio far less).

For each request the time from sending it to its booking SMS reaching the provider is taken
(monotonic clock, shared by the processes of one machine). Sustained requests/s is end to end:
requests whose booking SMS reached the provider, over the time from the first request to the
last such SMS. All traffic is on loopback. On Linux each process's CPU time over a phase (until
its last SMS arrived) is also given per request, so a change's cost shows even when the
machine's speed varies from run to run. The last line printed is JSON.

With `--statements` (PostgreSQL, bench/statements.py) each service gets a database of its own
on a server that loads pg_stat_statements, and the statements and transactions of each
service's database per request are counted by the server in each phase (and per second with
no requests at all), the round trips on the wire (bench/wire.py).

`handinhand bench e2e [--seconds S] [--rate R] [--concurrency C] [--drain S] [--statements]`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from bench.loop import run as run_on_loop
from bench.provider_process import ProviderProcess

if TYPE_CHECKING:
    from bench.statements import Counter

DATABASE_VARIABLE = "HANDINHAND_BENCH_DATABASE_URL"
COMMUNE = "15835"  # Xã Thiệu Trung, Thanh Hóa
BOOKED_MARK = "Bạn đã được hẹn"  # the Vietnamese booking confirmation
TUNING = {
    "HANDINHAND_SMS_RATE": "0",  # the provider's rate limit lifted
    "HANDINHAND_SMS_QUIET_HOURS": "none",
    "HANDINHAND_HELP_RATE_LIMIT": "none",
    "HANDINHAND_PLAN_DELAY_SECONDS": "0.5",
    "HANDINHAND_LOG_LEVEL": "WARNING",
}
HOURS = (("07:30:00", "09:30:00"), ("10:00:00", "12:00:00"), ("14:00:00", "16:00:00"))
TARGET_RATIO = 0.25  # sustained requests/s over the reference's
TARGET_P99_MS = 100.0
FIXED_SHARE = 0.2  # the fixed phase's rate, as a share of the reference's
REFERENCE_SECONDS = 8.0


# --- the SMS provider, in its own process -------------------------------------------------


async def _serve_provider() -> None:
    """Answer every SMS like Twilio; on each `dump` line from stdin, print the booking SMS
    that arrived since the last one as one JSON line of [phone, monotonic seconds]."""
    from bench.gateway import Gateway, Request, Response

    gateway = Gateway()
    count = 0

    async def answer(_request: Request) -> Response:
        nonlocal count
        count += 1
        body = {"sid": f"SM{count:032d}", "status": "queued"}
        return Response(status=201, body=msgspec.json.encode(body))

    gateway.handler = answer
    await gateway.start()
    print(f"port {gateway.port}", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "dump":
        arrived, gateway.requests = gateway.requests, []
        found = []
        for request in arrived:
            form = request.form()
            if request.path.endswith("Messages.json") and BOOKED_MARK in form.get("Body", ""):
                found.append((form.get("To", ""), request.arrived_at))
        print(json.dumps(found), flush=True)
    await gateway.stop()


class Provider(ProviderProcess):
    """The provider process, seen from the benchmark."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__(process)
        self.arrivals: dict[str, float] = {}

    async def collect(self) -> dict[str, float]:
        """Every booking SMS so far: the phone and when it reached the provider (first one)."""
        for phone, at in await self.dump():
            self.arrivals.setdefault(phone, at)
        return self.arrivals


# --- a lean HTTP/1.1 client (httpx would cost the load generator a core) -----------------


class Connection:
    """One keep-alive connection sending help requests and reading the status of each answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> int:
        self.writer.write(
            b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body)
        )
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def help_request(phone: str) -> bytes:
    return msgspec.json.encode(
        {
            "resident_name": "Nguyễn Văn An",
            "phone": phone,
            "commune_code": COMMUNE,
            "topics": ["vneid_activation"],
            "elderly": True,
            "consent_given": True,
        }
    )


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (its backends do the services'
    statements), found by name; none when it runs elsewhere or /proc is missing."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class CpuMeter:
    """CPU time of each process of the system between two readings; with `postgres`, also of
    the local PostgreSQL server's processes together (the ones alive at both readings)."""

    def __init__(self, pids: dict[str, int], *, postgres: bool = False) -> None:
        self.pids = pids
        self.postgres = postgres
        self._start: dict[str, float | None] = {}
        self._postgres: dict[int, float | None] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._postgres = {pid: cpu_seconds(pid) for pid in postgres_pids()} if self.postgres else {}

    def used(self) -> dict[str, float]:
        spent = {}
        for name, pid in self.pids.items():
            before, after = self._start.get(name), cpu_seconds(pid)
            if before is not None and after is not None:
                spent[name] = after - before
        if self.postgres:
            total = 0.0
            for pid, before in self._postgres.items():
                after = cpu_seconds(pid)
                if before is not None and after is not None:
                    total += after - before
            spent["postgresql"] = total
        return spent


@dataclass
class Phase:
    name: str
    sent: dict[str, float] = field(default_factory=dict)  # phone -> when sent (monotonic)
    statuses: dict[int, int] = field(default_factory=dict)
    started: float = 0.0
    stopped: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds used

    def answered(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def report(self, arrivals: dict[str, float]) -> dict[str, Any]:
        accepted = self.statuses.get(201, 0)
        latencies = sorted(
            (arrivals[phone] - at) * 1000 for phone, at in self.sent.items() if phone in arrivals
        )
        delivered = len(latencies)
        last = max((arrivals[p] for p in self.sent if p in arrivals), default=self.started)
        duration = self.stopped - self.started
        return {
            "requests": len(self.sent),
            "duration_s": round(duration, 2),
            "sent_per_s": round(len(self.sent) / duration, 1) if duration else 0.0,
            "accepted_per_s": round(accepted / duration, 1) if duration else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "booking_sms": delivered,
            "missing_sms": len(self.sent) - delivered,
            "last_sms_after_s": round(last - self.started, 2),
            "sustained_requests_per_s": (
                round(delivered / (last - self.started), 1) if delivered else 0.0
            ),
            "p50_ms": _percentile(latencies, 50),
            "p95_ms": _percentile(latencies, 95),
            "p99_ms": _percentile(latencies, 99),
            "max_ms": round(latencies[-1], 1) if latencies else None,
            "cpu_ms_per_request": {
                name: round(seconds * 1000 / delivered, 3) for name, seconds in self.cpu.items()
            }
            if delivered
            else {},
        }


def _percentile(ordered: list[float], p: int) -> float | None:
    if not ordered:
        return None
    if len(ordered) == 1:
        return round(ordered[0], 1)
    return round(statistics.quantiles(ordered, n=100, method="inclusive")[p - 1], 1)


class Load:
    """Sends the help requests of both phases; phone numbers never repeat."""

    def __init__(self, *ports: int) -> None:
        self.ports = ports  # connections go round the instances, as a load balancer sends them
        self.next_phone = 0

    async def connect(self, n: int) -> Connection:
        return await Connection.open(self.ports[n % len(self.ports)])

    def phone(self) -> str:
        self.next_phone += 1
        return f"+8491{self.next_phone:07d}"

    async def fixed_rate(self, rate: float, seconds: float, connections: int) -> Phase:
        """Open loop: request i goes at start + i/rate whatever the answers do; its latency
        counts from then (a late free connection is the system's delay, not the client's)."""
        phase = Phase("fixed")
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for n in range(connections):
            pool.put_nowait(await self.connect(n))
        tasks: set[asyncio.Task[None]] = set()

        async def send(phone: str) -> None:
            connection = await pool.get()
            try:
                phase.answered(await connection.post("/help-requests", help_request(phone)))
            finally:
                pool.put_nowait(connection)

        phase.started = time.monotonic()
        count = int(rate * seconds)
        for i in range(count):
            due = phase.started + i / rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            phone = self.phone()
            phase.sent[phone] = due
            task = asyncio.create_task(send(phone))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        phase.stopped = time.monotonic()
        while not pool.empty():
            pool.get_nowait().close()
        return phase

    async def max_rate(
        self, concurrency: int, seconds: float, path: str = "/help-requests"
    ) -> Phase:
        """Closed loop: `concurrency` clients, each sends its next request on an answer."""
        phase = Phase("max")
        deadline = time.monotonic() + seconds

        async def client(n: int) -> None:
            connection = await self.connect(n)
            try:
                while time.monotonic() < deadline:
                    phone = self.phone()
                    phase.sent[phone] = time.monotonic()
                    phase.answered(await connection.post(path, help_request(phone)))
            finally:
                connection.close()

        phase.started = time.monotonic()
        await asyncio.gather(*(client(n) for n in range(concurrency)))
        phase.stopped = time.monotonic()
        return phase


# --- the run ------------------------------------------------------------------------------


def _weekends(count: int) -> list[date]:
    from shared.clock import VIETNAM, SystemClock

    today = SystemClock().now().astimezone(VIETNAM).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7)
    days: list[date] = []
    for week in range(count):
        days += [saturday + timedelta(weeks=week), saturday + timedelta(weeks=week, days=1)]
    return days


async def set_up(system: Any, places: int, capacity: int) -> int:
    """A commune calendar with at least `places` places, and volunteers to staff it."""
    group = await system.call(
        "POST", "volunteers", "/groups", json={"name": "Tổ CNSCĐ", "commune_code": COMMUNE}
    )
    assert group.status_code == 201, group.text
    for n in range(6):
        made = await system.call(
            "POST",
            "volunteers",
            "/volunteers",
            json={
                "group_id": group.json()["group_id"],
                "consent_given": True,
                "name": f"Tình nguyện viên {n}",
                "phone": f"+8498{n:07d}",
                "skills": ["vneid_activation"],
                "availability": {"saturday": ["morning"], "sunday": ["morning"]},
            },
        )
        assert made.status_code == 201, made.text
    sessions = -(-places // capacity)
    venues = -(-sessions // (len(HOURS) * 2 * 8))  # eight weekends
    made_sessions = 0
    for day in _weekends(8):
        for start, end in HOURS:
            for venue in range(venues):
                if made_sessions == sessions:
                    break
                made = await system.call(
                    "POST",
                    "scheduler",
                    "/sessions",
                    json={
                        "commune_code": COMMUNE,
                        "venue": {"name": f"Nhà văn hóa thôn {venue + 1}", "address": "Thôn 1"},
                        "local_date": day.isoformat(),
                        "start_local": start,
                        "end_local": end,
                        "topics": ["vneid_activation", "online_public_services"],
                        "capacity": capacity,
                        "volunteers_needed": 1,
                    },
                )
                assert made.status_code == 201, made.text
                made_sessions += 1
    return made_sessions


def processes_of(system: Any, provider: Provider) -> dict[str, int]:
    """Every process of the run by name: services, nats-server, SMS provider, load (this one)."""
    pids = {
        f"{process.service}{'' if n == 0 else n + 1}": process.popen.pid
        for service in system.processes.values()
        for n, process in enumerate(service)
        if process.popen is not None
    }
    if system.nats.process is not None:
        pids["nats-server"] = system.nats.process.pid
    pids["sms provider"] = provider.process.pid
    pids["load"] = os.getpid()
    return pids


async def drain(provider: Provider, phase: Phase, seconds: float) -> None:
    """Wait until every request of the phase has its booking SMS, or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        arrivals = await provider.collect()
        if all(phone in arrivals for phone in phase.sent):
            return
        await asyncio.sleep(0.25)
    await provider.collect()


async def reference_rate(args: argparse.Namespace, root: Path, url: str | None, run: str) -> float:
    """Answers/s of the bare app (bench/reference.py) under the same closed loop."""
    from bench.reference import serve
    from shared.bus.server import free_port
    from shared.store.schema import create_schema, drop_schema

    schema = f"bench_e2e_{os.getpid()}_reference_{run}"
    if url:
        await create_schema(url, schema)
    target = url or f"sqlite:///{root / f'reference-{run}.db'}"
    port = free_port()
    process = await serve(target, schema if url else "main", port)
    try:
        phase = await Load(port).max_rate(args.concurrency, REFERENCE_SECONDS, "/things")
    finally:
        process.terminate()
        await process.wait()
        if url:
            await drop_schema(url, schema)
    duration = phase.stopped - phase.started
    return phase.statuses.get(201, 0) / duration if duration else 0.0


async def run_counting(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """`run` with each service in a database of its own, its statements counted."""
    from bench.statements import counting_server
    from shared.settings import SERVICES

    async with counting_server(
        os.environ.get(DATABASE_VARIABLE), f"bench_e2e_{os.getpid()}", SERVICES
    ) as counter:
        print(f"counting statements on {counter.admin_url}", file=sys.stderr, flush=True)
        return await run(args, root, counter)


async def _begin(counter: Counter | None, meter: CpuMeter) -> None:
    """A phase starts: the statement counters (if any) and the CPU meter."""
    if counter is not None:
        await counter.start()
    meter.start()


async def _count(counter: Counter | None, system: Any, phase: Phase) -> dict[str, Any] | None:
    """The phase's statements, once everything it caused is published and handled."""
    if counter is None:
        return None
    from bench.statements import report

    await system.settled()
    figures = await counter.read(phase.statuses.get(201, 0))
    print(report(phase.name, figures), file=sys.stderr, flush=True)
    return figures


async def run(
    args: argparse.Namespace, root: Path, counter: Counter | None = None
) -> dict[str, Any]:
    from bench.system import System
    from shared.settings import SERVICES, Database
    from shared.store.schema import drop_schema

    url = counter.admin_url if counter else os.environ.get(DATABASE_VARIABLE)
    database = (
        Database(url=url, schema=f"bench_e2e_{os.getpid()}")
        if url
        else Database(url=f"sqlite:///{root / 'unused.db'}", schema="main")
    )
    reference_before = await reference_rate(args, root, url, "before")
    rate = args.rate or round(FIXED_SHARE * reference_before, 1)
    print(f"reference {reference_before:.1f}/s; fixed phase at {rate:g}/s", file=sys.stderr)
    provider, provider_port = await Provider.start("bench.e2e")
    system = System(
        root,
        database,
        provider_url=f"http://127.0.0.1:{provider_port}",
        tuning=TUNING | (counter.tuning() if counter else {}),
        instances=args.instances,
    )
    try:
        began = time.monotonic()
        await system.start_all()
        expected = int(rate * args.seconds + 1_500 * args.seconds)
        sessions = await set_up(system, expected, args.capacity)
        await system.settled()  # volunteers proposed and texted: the calendar is quiet
        print(
            f"system up and {sessions} sessions of {args.capacity} places set up in "
            f"{time.monotonic() - began:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        if counter:
            await counter.measure_background()
        load = Load(*(process.port for process in system.processes["scheduler"]))
        meter = CpuMeter(processes_of(system, provider), postgres=bool(url))
        await _begin(counter, meter)
        fixed = await load.fixed_rate(rate, args.seconds, args.concurrency)
        await drain(provider, fixed, args.drain)
        fixed.cpu = meter.used()
        fixed_report = fixed.report(provider.arrivals)
        fixed_statements = await _count(counter, system, fixed)
        await _begin(counter, meter)
        most = await load.max_rate(args.concurrency, args.seconds)
        await drain(provider, most, args.drain)
        most.cpu = meter.used()
        most_report = most.report(provider.arrivals)
        most_statements = await _count(counter, system, most)
    finally:
        await system.stop()
        await provider.stop()
        if url:
            for service in SERVICES:
                await drop_schema(url, f"{database.schema}_{service}")
    reference_after = await reference_rate(args, root, url, "after")
    reference = (reference_before + reference_after) / 2
    ratio = most_report["sustained_requests_per_s"] / reference if reference else 0.0
    result: dict[str, Any] = {
        "bench": "e2e",
        "database": "postgresql" if url else "sqlite",
        "sessions": sessions,
        "capacity": args.capacity,
        "instances": args.instances,
        "reference_per_s": round(reference, 1),
        "reference_before_per_s": round(reference_before, 1),
        "reference_after_per_s": round(reference_after, 1),
        "ratio": round(ratio, 3),
        "max": most_report | {"concurrency": args.concurrency},
        "fixed": fixed_report | {"rate_per_s": rate},
        "targets": {"ratio": TARGET_RATIO, "fixed_p99_ms": TARGET_P99_MS},
        "met": {
            "ratio": ratio >= TARGET_RATIO,
            "fixed_p99": fixed_report["missing_sms"] == 0
            and (fixed_report["p99_ms"] or float("inf")) < TARGET_P99_MS,
        },
    }
    if counter:
        result["statements"] = {
            "server": counter.admin_url,
            "background_per_s": counter.background,
            "idle": counter.idle,
            "fixed": fixed_statements,
            "max": most_statements,
        }
    return result


def table(result: dict[str, Any]) -> str:
    rows = [
        ("requests sent", "requests"),
        ("requests/s until answered", "sent_per_s"),
        ("accepted (201)/s", "accepted_per_s"),
        ("booking SMS received", "booking_sms"),
        ("booking SMS missing", "missing_sms"),
        ("last SMS after (s)", "last_sms_after_s"),
        ("sustained requests/s", "sustained_requests_per_s"),
        ("p50 request→SMS (ms)", "p50_ms"),
        ("p95 request→SMS (ms)", "p95_ms"),
        ("p99 request→SMS (ms)", "p99_ms"),
        ("max request→SMS (ms)", "max_ms"),
    ]
    most, fixed = result["max"], result["fixed"]
    head_max = f"max ({most['concurrency']} in flight)"
    head_fixed = f"fixed {fixed['rate_per_s']:g}/s"
    title = (
        f"e2e on {result['database']}, {result['instances']} instance(s) of each service: "
        f"{result['sessions']} sessions of "
        f"{result['capacity']} places, phases of {most['duration_s']} / "
        f"{fixed['duration_s']} s"
    )
    lines = [title, f"{'':<24}{head_max:>22}{head_fixed:>18}"]
    reference = (
        f"reference (bare app, one insert+commit): {result['reference_per_s']}/s "
        f"(before {result['reference_before_per_s']}, after {result['reference_after_per_s']}); "
        f"ratio sustained/reference {result['ratio']} (target {result['targets']['ratio']})"
    )
    lines += [f"{label:<24}{most[key]!s:>22}{fixed[key]!s:>18}" for label, key in rows]
    lines.append(f"{'HTTP statuses':<24}{most['statuses']!s:>22}{fixed['statuses']!s:>18}")
    most_cpu, fixed_cpu = most["cpu_ms_per_request"], fixed["cpu_ms_per_request"]
    for name in most_cpu:
        label = f"CPU ms/request {name}"
        lines.append(f"{label:<36}{most_cpu[name]!s:>10}{fixed_cpu.get(name, '')!s:>18}")
    if most_cpu:
        total = f"{sum(most_cpu.values()):.3f}"
        fixed_total = f"{sum(fixed_cpu.values()):.3f}"
        lines.append(f"{'CPU ms/request, all':<36}{total:>10}{fixed_total:>18}")
    lines.append(reference)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handinhand bench e2e", description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help=f"requests/s of the fixed phase (default: {FIXED_SHARE:.0%}% of the reference's)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (max)")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for SMS")
    parser.add_argument("--capacity", type=int, default=200, help="places per session")
    parser.add_argument(
        "--instances", type=int, default=1, help="instances of each service (compose runs 2)"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="PostgreSQL: count each service's round trips, statements and transactions per "
        "request (pg_stat_statements, a counting relay; a server of the bench's own unless "
        "the configured one loads pg_stat_statements)",
    )
    parser.add_argument("--serve-provider", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_provider:
        run_on_loop(_serve_provider())
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as directory:
        runner = run_counting if args.statements else run
        result = run_on_loop(runner(args, Path(directory)))
    print(table(result))
    print(json.dumps(result))
    return 0 if all(result["met"].values()) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
