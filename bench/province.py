"""A Thanh Hóa weekend planned through the running service, not in memory.

The whole system runs as `handinhand up` runs it (bench/system.py); the province is loaded only
through the public HTTP API: groups and their CSV rosters in volunteers, one session per group
in the scheduler, all on one weekend over Thanh Hóa's 166 real communes (province 38). The
weekend's planning timer (HANDINHAND_PLAN_DELAY_SECONDS after the last slot reached volunteers,
a debounce, so planning waits for the whole load) fires, proposals are appended, and each
proposal SMS is handed to a Twilio-compatible provider in its own process, which notes when
each one arrived. Measured: the load, and the time from the timer firing (the plan's
`planned_at`) and from the last session scheduled to the last proposal SMS handed over.
PostgreSQL when HANDINHAND_BENCH_DATABASE_URL is set, else SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import msgspec

from bench.loop import run as run_on_loop
from bench.provider_process import ProviderProcess

if TYPE_CHECKING:
    from shared.settings import Database

DATABASE_VARIABLE = "HANDINHAND_BENCH_DATABASE_URL"
PROVINCE = "38"  # Thanh Hóa
VOLUNTEERS = 16_000
SESSIONS = 6_500
GROUP_SIZE = 4  # 16,000 volunteers in about 4,000 groups, as bench/assign.py's 4,400
TARGET_SECONDS = 30.0  # issue 17: the last proposal SMS within 30 s, on PostgreSQL
PROPOSAL = re.compile(r"Trả lời C (\d{4})")
TOPICS = ("vneid_activation", "online_public_services", "cashless_payment", "smartphone_basics")
# Local start and end of each half day, and the share of sessions in it.
HALVES = (
    ("saturday", "07:30:00", "10:30:00", 0.45),
    ("saturday", "14:00:00", "16:30:00", 0.25),
    ("sunday", "07:30:00", "10:30:00", 0.2),
    ("sunday", "14:00:00", "16:30:00", 0.1),
)
FREE = {"saturday": ("both", "morning", "afternoon", ""), "sunday": ("morning", "", "both", "")}
TUNING = {
    "HANDINHAND_SMS_RATE": "0",  # the provider's rate limit lifted: we time our side
    "HANDINHAND_SMS_QUIET_HOURS": "none",
    "HANDINHAND_LOG_LEVEL": "WARNING",
}

T = TypeVar("T")


# --- the SMS provider, in its own process -------------------------------------------------


async def _serve_provider() -> None:
    """Answer every SMS like Twilio; on each `dump` line from stdin, print the proposal SMS
    that arrived since the last one as one JSON line of [phone, short code, epoch seconds]."""
    from bench.gateway import Gateway, Request, Response

    gateway = Gateway()
    count = 0
    found: list[tuple[str, str, float]] = []

    async def answer(request: Request) -> Response:
        nonlocal count
        count += 1
        if request.path.endswith("Messages.json"):
            form = request.form()
            code = PROPOSAL.search(form.get("Body", ""))
            if code is not None:  # wall time: the plan's planned_at is wall time too
                found.append((form.get("To", ""), code.group(1), time.time()))
        body = {"sid": f"SM{count:032d}", "status": "queued"}
        return Response(status=201, body=msgspec.json.encode(body))

    gateway.handler = answer
    await gateway.start()
    print(f"port {gateway.port}", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "dump":
        gateway.requests = []  # kept by the gateway; `found` holds what we need
        print(json.dumps(found), flush=True)
        found = []
    await gateway.stop()


class Provider(ProviderProcess):
    """The provider process, seen from the benchmark: every proposal SMS handed over."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__(process)
        self.proposals: list[tuple[str, str, float]] = []

    async def collect(self) -> list[tuple[str, str, float]]:
        self.proposals.extend(tuple(x) for x in await self.dump())
        return self.proposals


# --- the province, through the public API --------------------------------------------------


def next_saturday(today: date) -> date:
    """A week out at least: no reminder or answer deadline falls inside the run."""
    return today + timedelta(days=(5 - today.weekday()) % 7 + 7)


def roster_csv(phones: Iterable[str], rng: random.Random) -> str:
    """A group's roster as coordinators keep it (services/volunteers/domain/roster_csv.py)."""
    lines = ["name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent"]
    for phone in phones:
        skills = ";".join(t for t in TOPICS if rng.random() < 0.5) or TOPICS[0]
        saturday = rng.choices(FREE["saturday"], [0.4, 0.2, 0.1, 0.3])[0]
        sunday = rng.choices(FREE["sunday"], [0.3, 0.4, 0.2, 0.1])[0]
        lines.append(
            f"Tình nguyện viên {phone[-5:]},{phone},,{skills},vi,{saturday},{sunday},4,yes"
        )
    return "\n".join(lines) + "\n"


async def gathered(jobs: Iterable[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """Run the jobs with at most `concurrency` in flight, results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


class Province:
    """The province's volunteers and sessions, loaded through HTTP."""

    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str], auth: dict[str, str]) -> None:
        self.http = http
        self.urls = urls
        self.auth = auth
        self.phones: dict[str, str] = {}  # volunteer id -> phone
        self.groups: list[tuple[str, str]] = []  # (group id, commune code)

    async def post(
        self,
        service: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {**self.auth, **(headers or {})}
        for attempt in range(5):
            try:
                answer = await self.http.post(
                    self.urls[service] + path, headers=headers, json=json, content=content
                )
            except httpx.TransportError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            assert answer.status_code == 201, f"{path}: {answer.status_code} {answer.text}"
            made: dict[str, Any] = answer.json()
            return made
        raise AssertionError("unreachable")

    async def load_volunteers(
        self, count: int, communes: list[str], rng: random.Random, concurrency: int
    ) -> None:
        groups = max(1, count // GROUP_SIZE)
        sizes = [count // groups + (1 if n < count % groups else 0) for n in range(groups)]

        async def group(n: int) -> None:
            commune = communes[n % len(communes)]
            made = await self.post(
                "volunteers",
                "/groups",
                json={"name": f"Tổ CNSCĐ số {n + 1}", "commune_code": commune},
            )
            first = sum(sizes[:n])
            phones = [f"091{first + k:07d}" for k in range(sizes[n])]
            imported = await self.post(
                "volunteers",
                f"/groups/{made['group_id']}/roster",
                content=roster_csv(phones, random.Random(rng.random() + n)).encode(),
                headers={"Content-Type": "text/csv"},
            )
            for volunteer_id, phone in zip(imported["volunteer_ids"], phones, strict=True):
                self.phones[volunteer_id] = "+84" + phone[1:]
            self.groups.append((made["group_id"], commune))

        await gathered([lambda n=n: group(n) for n in range(groups)], concurrency)  # type: ignore[misc]

    async def load_sessions(
        self, count: int, communes: list[str], saturday: date, rng: random.Random, concurrency: int
    ) -> None:
        """Most groups host one session; the rest of the sessions go to random communes."""

        def body(n: int) -> dict[str, Any]:
            commune = communes[n % len(communes)]
            day, start, end, _ = rng.choices(HALVES, [h[3] for h in HALVES])[0]
            when = saturday if day == "saturday" else saturday + timedelta(days=1)
            return {
                "commune_code": commune,
                "venue": {"name": f"Nhà văn hóa thôn {n % 12 + 1}", "address": commune},
                "local_date": when.isoformat(),
                "start_local": start,
                "end_local": end,
                "topics": rng.sample(TOPICS, k=rng.choice([1, 2])),
                "capacity": 20,
                "volunteers_needed": rng.choices([2, 3, 4], [0.3, 0.45, 0.25])[0],
            }

        bodies = [body(n) for n in range(count)]
        await gathered(
            [lambda b=b: self.post("scheduler", "/sessions", json=b) for b in bodies],  # type: ignore[misc]
            concurrency,
        )


async def plan_of(
    http: httpx.AsyncClient, url: str, auth: dict[str, str], saturday: date
) -> dict[str, Any]:
    answer = await http.get(f"{url}/weekends/{saturday.isoformat()}/plan", headers=auth)
    assert answer.status_code == 200, answer.text
    plan: dict[str, Any] = answer.json()
    return plan


async def run(
    root: Path,
    database: Database,
    *,
    volunteers: int,
    sessions: int,
    plan_delay: float = 5.0,
    concurrency: int = 16,
    timeout: float = 600.0,
    seed: int = 1,
) -> dict[str, Any]:
    """Load the province, wait for its weekend's proposal SMS, and measure."""
    from bench.system import System
    from services.scheduler.domain.places import communes_of
    from shared.clock import VIETNAM, SystemClock

    rng = random.Random(seed)
    communes = [str(c.code) for c in communes_of(PROVINCE)]
    rng.shuffle(communes)
    saturday = next_saturday(SystemClock().now().astimezone(VIETNAM).date())
    provider, port = await Provider.start("bench.province")
    system = System(
        root,
        database,
        provider_url=f"http://127.0.0.1:{port}",
        tuning=TUNING | {"HANDINHAND_PLAN_DELAY_SECONDS": str(plan_delay)},
    )
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = httpx.AsyncClient(timeout=120, limits=limits)
    try:
        await system.start_all()
        auth = system.token()
        urls = {s: system.url(s) for s in ("volunteers", "scheduler")}
        province = Province(http, urls, auth)
        began = time.monotonic()
        await province.load_volunteers(volunteers, communes, rng, concurrency)
        volunteers_loaded = time.monotonic()
        await province.load_sessions(sessions, communes, saturday, rng, concurrency)
        last_session = time.time()
        sessions_loaded = time.monotonic()
        print(
            f"loaded {volunteers} volunteers in {volunteers_loaded - began:.1f} s and "
            f"{sessions} sessions in {sessions_loaded - volunteers_loaded:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        plan, sent = await _proposals_sent(
            provider, http, urls["volunteers"], auth, saturday, last_session, plan_delay, timeout
        )
    finally:
        await http.aclose()
        await system.stop()
        await provider.stop()
    return _report(
        database=database,
        volunteers=volunteers,
        sessions=sessions,
        plan_delay=plan_delay,
        load_volunteers_s=volunteers_loaded - began,
        load_sessions_s=sessions_loaded - volunteers_loaded,
        last_session=last_session,
        plan=plan,
        sent=sent,
        phones=province.phones,
    )


async def _proposals_sent(
    provider: Provider,
    http: httpx.AsyncClient,
    url: str,
    auth: dict[str, str],
    saturday: date,
    last_session: float,
    plan_delay: float,
    timeout: float,
) -> tuple[dict[str, Any], list[tuple[str, str, float]]]:
    """Wait until no proposal SMS has arrived for a while after the plan, then check the plan
    against them; the plan's view is read only then, so reading it costs the run nothing."""
    quiet = max(5.0, plan_delay)
    deadline = time.monotonic() + timeout
    while True:
        await asyncio.sleep(1.0)
        sent = await provider.collect()
        latest = max((at for _, _, at in sent), default=last_session)
        now = time.time()
        if sent and now - latest >= quiet and now - last_session >= plan_delay + quiet:
            plan = await plan_of(http, url, auth, saturday)
            expected = sum(len(slot["assignments"]) for slot in plan["slots"])
            if plan["plan"] is not None and len(sent) >= expected:
                return plan, sent
        if time.monotonic() > deadline:
            plan = await plan_of(http, url, auth, saturday)
            return plan, sent


def _report(
    *,
    database: Database,
    volunteers: int,
    sessions: int,
    plan_delay: float,
    load_volunteers_s: float,
    load_sessions_s: float,
    last_session: float,
    plan: dict[str, Any],
    sent: list[tuple[str, str, float]],
    phones: dict[str, str],
) -> dict[str, Any]:
    assignments = [a for slot in plan["slots"] for a in slot["assignments"]]
    expected = Counter((phones[a["volunteer_id"]], a["short_code"]) for a in assignments)
    arrived = Counter((phone, code) for phone, code, _ in sent)
    first_sms = min((at for _, _, at in sent), default=float("nan"))
    last_sms = max((at for _, _, at in sent), default=float("nan"))
    summary = plan["plan"] or {}
    fired = datetime.fromisoformat(summary["planned_at"]).timestamp() if summary else float("nan")
    timer_to_last = last_sms - fired
    return {
        "bench": "province",
        "database": "postgresql" if database.is_postgres else "sqlite",
        "volunteers": volunteers,
        "sessions": sessions,
        "plan_delay_s": plan_delay,
        "load_volunteers_s": round(load_volunteers_s, 1),
        "load_sessions_s": round(load_sessions_s, 1),
        "load_s": round(load_volunteers_s + load_sessions_s, 1),
        # the first one arrives once the plan's transaction is committed and relayed
        "timer_to_first_sms_s": round(first_sms - fired, 2),
        "timer_to_last_sms_s": round(timer_to_last, 2),
        "last_session_to_last_sms_s": round(last_sms - last_session, 2),
        "solve_ms": summary.get("solve_ms"),
        "slots": len(plan["slots"]),
        "open_places": summary.get("open_places"),
        "proposals": len(assignments),
        "sms": len(sent),
        "missing_sms": sum((expected - arrived).values()),
        "unexpected_sms": sum((arrived - expected).values()),
        "target_s": TARGET_SECONDS,
        "met": timer_to_last <= TARGET_SECONDS,
    }


def main(argv: list[str] | None = None) -> int:
    """`handinhand bench province [--volunteers N] [--sessions N]`: a table and a JSON line."""
    from shared.settings import SERVICES, Database
    from shared.store.schema import drop_schema

    parser = argparse.ArgumentParser(prog="handinhand bench province", description=__doc__)
    parser.add_argument("--volunteers", type=int, default=VOLUNTEERS)
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument(
        "--plan-delay", type=float, default=5.0, help="seconds the planning timer waits"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="load requests in flight")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for SMS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve-provider", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_provider:
        run_on_loop(_serve_provider())
        return 0
    url = os.environ.get(DATABASE_VARIABLE)
    with tempfile.TemporaryDirectory(prefix="bench-province-") as directory:
        root = Path(directory)
        database = (
            Database(url=url, schema=f"bench_province_{os.getpid()}")
            if url
            else Database(url=f"sqlite:///{root / 'unused.db'}", schema="main")
        )

        async def measured() -> dict[str, Any]:
            try:
                return await run(
                    root,
                    database,
                    volunteers=args.volunteers,
                    sessions=args.sessions,
                    plan_delay=args.plan_delay,
                    concurrency=args.concurrency,
                    timeout=args.timeout,
                    seed=args.seed,
                )
            finally:
                if url:
                    for service in SERVICES:
                        await drop_schema(url, f"{database.schema}_{service}")

        result = run_on_loop(measured())
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))
    return 0 if result["missing_sms"] == 0 and result["unexpected_sms"] == 0 else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main(sys.argv[1:]))
