"""The fault drills: the whole system under a steady load of help requests while one kind of
fault is made, then the verdict (bench/drill_verdict.py). The tests in tests/drills run them
small; `handinhand drill` runs them with the counts and durations asked for.

Each drill starts its own system: a commune with room for every request (bench/e2e.py's
set-up), the load (bench/drill_load.py) and, `lead` seconds into it, the fault.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.drill_chaos import Chaos, KillMidSend
from bench.drill_load import HelpLoad, Outcome
from bench.drill_verdict import ACCEPTABLE, Verdict, is_booking_sms, judge, unsent_sms
from bench.e2e import TUNING, set_up
from bench.natscluster import NatsCluster
from bench.pgserver import postgres_server
from bench.system import System
from shared.settings import Database
from shared.waiting import eventually

CAPACITY = 200  # places per session
# An unkeyed request open on an instance that was killed: the connection drops unanswered.
DROPPED = frozenset({"- unkeyed RemoteProtocolError", "- unkeyed ReadError"})
BOOKINGS_STREAM = "HANDINHAND_SCHEDULER"  # the scheduler's stream: resident.booked and more


@dataclass(frozen=True)
class DrillPlan:
    """How big and how long: `requests` at `rate`/s, `keyed_share` of them with an
    Idempotency-Key; the fault begins `lead` s into the load; `kill_every` s between kills;
    `outage` s of NATS, PostgreSQL or a cluster node down (None: each drill's own default);
    up to `drain` s after the load for the last booking SMS."""

    requests: int = 300
    rate: float = 40.0
    keyed_share: float = 0.5
    lead: float = 2.0
    kill_every: float = 3.0
    outage: float | None = None
    drain: float = 90.0
    seed: int = 1

    def outage_or(self, default: float) -> float:
        return default if self.outage is None else self.outage


Fault = Callable[[System, asyncio.Task[list[Outcome]]], Awaitable[str]]


async def _exercise(
    name: str,
    system: System,
    plan: DrillPlan,
    fault: Fault,
    *,
    acceptable: frozenset[str] = ACCEPTABLE,
    before_load: Callable[[System], None] = lambda _system: None,
) -> Verdict:
    """Start the system, set up the commune, run the load with the fault made into it, wait
    for the booking SMS, and judge. `fault` returns what it did, in words."""
    try:
        await system.start_all()
        await set_up(system, plan.requests, CAPACITY)
        await system.settled()  # volunteers proposed and texted: the calendar is quiet
        before_load(system)
        load = HelpLoad(system, plan.keyed_share, retry_for=plan.drain, seed=plan.seed)
        sending = asyncio.create_task(load.run(plan.requests, plan.rate))
        await asyncio.sleep(plan.lead)  # the fault begins with the load under way
        done = await fault(system, sending)
        fault_ended = asyncio.get_running_loop().time()
        outcomes = await sending
        await _delivered(system, outcomes, plan.drain)
        with contextlib.suppress(AssertionError):  # judged below whatever is left undone
            await system.settled()
        return await judge(system, name, outcomes, fault_ended, fault=done, acceptable=acceptable)
    finally:
        await system.stop()


async def _delivered(system: System, outcomes: list[Outcome], seconds: float) -> None:
    """Wait until every accepted request's booking SMS reached the provider and no SMS is
    left half sent in notifications' records, or `seconds` passed."""
    expected = {o.phone for o in outcomes if o.accepted}

    async def arrived() -> tuple[set[str], int]:
        phones = {r.form().get("To", "") for r in system.gateway.requests if is_booking_sms(r)}
        if not expected <= phones:
            return phones, -1
        return phones, (await unsent_sms(system))["sending"]

    with contextlib.suppress(AssertionError):
        await eventually(arrived, lambda found: found[1] == 0, timeout=seconds, every=0.25)


def _sqlite(root: Path) -> Database:
    return Database(url=f"sqlite:///{root / 'unused.db'}", schema="main")


# --- the drills -----------------------------------------------------------------------------


async def chaos(plan: DrillPlan, root: Path, binaries: Path) -> Verdict:
    """Two instances of every service on PostgreSQL; while the load runs, kill -9 of a random
    instance every `kill_every` s, each restarted at once. A client whose instance died
    under its request gets no answer (the connection drops); that alone is no finding."""
    async with postgres_server(binaries) as server:
        system = System(root, Database(url=server.url, schema="drill"), instances=2, tuning=TUNING)

        async def fault(system: System, sending: asyncio.Task[list[Outcome]]) -> str:
            stop = asyncio.Event()
            killer = Chaos(system, plan.kill_every, seed=plan.seed)
            killing = asyncio.create_task(killer.run(stop))
            await asyncio.wait({sending})
            stop.set()
            await killing
            return f"kill -9 of {', '.join(killer.kills) or 'nothing'}"

        return await _exercise("chaos", system, plan, fault, acceptable=ACCEPTABLE | DROPPED)


async def mid_send(plan: DrillPlan, root: Path) -> Verdict:
    """One instance of every service on SQLite; notifications killed while the provider holds
    one of its booking SMS, every `kill_every` s while the load runs, each time restarted.
    The sender's lease is shortened (12 s, a 5 s provider timeout): an interrupted send is
    asked about when the lease runs out, and the default minute would only make it wait."""
    shorter_lease = {
        "HANDINHAND_SMS_LEASE_SECONDS": "12",
        "HANDINHAND_SMS_PROVIDER_TIMEOUT_SECONDS": "5",
    }
    system = System(root, _sqlite(root), tuning=TUNING | shorter_lease)
    killer = KillMidSend(system, plan.kill_every)

    async def fault(_system: System, sending: asyncio.Task[list[Outcome]]) -> str:
        stop = asyncio.Event()
        killing = asyncio.create_task(killer.run(stop))
        await asyncio.wait({sending})
        stop.set()
        await killing
        return f"notifications killed mid-send {killer.kills} times"

    return await _exercise(
        "mid-send", system, plan, fault, before_load=lambda _system: killer.install()
    )


async def cluster_leader(plan: DrillPlan, root: Path) -> Verdict:
    """Three NATS nodes, streams with 3 replicas; the node leading the scheduler's stream
    (the one that carries bookings) is killed, and brought back after `outage` s."""
    nodes = NatsCluster(root / "cluster")
    tuning = TUNING | {"HANDINHAND_STREAM_REPLICAS": "3"}
    system = System(root, _sqlite(root), tuning=tuning, cluster=nodes)

    async def fault(_system: System, _sending: asyncio.Task[list[Outcome]]) -> str:
        leader = await eventually(
            lambda: nodes.leader_of(BOOKINGS_STREAM), lambda name: name is not None
        )
        assert leader is not None
        replicas = await nodes.replicas_of(BOOKINGS_STREAM)
        assert replicas == len(nodes.nodes), f"{BOOKINGS_STREAM} has {replicas} replicas"
        await nodes.kill(leader)
        killed = asyncio.get_running_loop().time()
        successor = await eventually(  # the two nodes left elect one of them
            lambda: nodes.leader_of(BOOKINGS_STREAM), lambda name: name not in {None, leader}
        )
        elected = asyncio.get_running_loop().time() - killed
        down = plan.outage_or(10.0) - elected
        await asyncio.sleep(max(0.0, down))  # the node stays down this long in all
        await nodes.revive(leader)
        return (
            f"{leader} led {BOOKINGS_STREAM} (R{replicas}), killed; {successor} led after "
            f"{elected:.1f} s; {leader} back"
        )

    return await _exercise("nats-leader", system, plan, fault)


async def nats_outage(plan: DrillPlan, root: Path) -> Verdict:
    """NATS stopped for `outage` s (default 30) and started again: same port, same store."""
    system = System(root, _sqlite(root), tuning=TUNING)
    outage = plan.outage_or(30.0)

    async def fault(system: System, _sending: asyncio.Task[list[Outcome]]) -> str:
        await system.nats.stop_async()
        await asyncio.sleep(outage)  # NATS stays down this long
        await system.nats.start_async()
        return f"NATS stopped {outage:g} s"

    return await _exercise("nats-outage", system, plan, fault)


async def postgres_outage(plan: DrillPlan, root: Path, binaries: Path) -> Verdict:
    """One instance of every service on the drill's own PostgreSQL: restarted, then `lead` s
    later stopped for `outage` s (default 10) and started. Keyed clients retry until 201;
    unkeyed ones may be told 503, nothing else."""
    outage = plan.outage_or(10.0)
    async with postgres_server(binaries) as server:
        system = System(root, Database(url=server.url, schema="drill"), tuning=TUNING)

        async def fault(_system: System, _sending: asyncio.Task[list[Outcome]]) -> str:
            await server.restart_async()
            await asyncio.sleep(plan.lead)  # the load runs on between the two faults
            await server.stop_async()
            await asyncio.sleep(outage)  # PostgreSQL stays down this long
            await server.start_async()
            return f"PostgreSQL restarted, then stopped {outage:g} s"

        return await _exercise("postgres", system, plan, fault)


DRILLS = ("chaos", "mid-send", "nats-leader", "nats-outage", "postgres")
NEEDS_POSTGRES = frozenset({"chaos", "postgres"})


async def run_drill(name: str, plan: DrillPlan, root: Path, binaries: Path | None) -> Verdict:
    """One drill by name; the PostgreSQL ones need the server binaries (bench/pgserver.py)."""
    if name in NEEDS_POSTGRES:
        if binaries is None:
            raise ValueError(f"the {name} drill needs PostgreSQL server binaries")
        return await (chaos if name == "chaos" else postgres_outage)(plan, root, binaries)
    runs = {"mid-send": mid_send, "nats-leader": cluster_leader, "nats-outage": nats_outage}
    return await runs[name](plan, root)
