"""Fault drills, longer than the tests run them: nothing lost, nothing twice, whatever fails.

`handinhand drill [which ...] [--requests N] [--rate R] [--kill-every S] [--outage S] ...`

Drills (all by default): chaos (two instances of every service on PostgreSQL, kill -9 of a
random instance every few seconds), mid-send (notifications killed while the provider holds
its SMS), nats-leader (three NATS nodes, R3 streams, the leader of the bookings' stream
killed and brought back), nats-outage (NATS stopped and started), postgres (the drill's own
PostgreSQL restarted, then stopped). Prints one row per drill, then each verdict as JSON; the
exit status is 1 when any drill found something lost, doubled, parked or a wrong answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.drill_verdict import Verdict
from bench.drills import DRILLS, NEEDS_POSTGRES, DrillPlan, run_drill
from bench.pgserver import server_binaries

COLUMNS = (
    ("drill", 12),
    ("sent", 5),
    ("201", 5),
    ("final statuses", 34),
    ("SMS exp", 7),
    ("recv", 5),
    ("miss", 5),
    ("dbl", 4),
    ("parked", 6),
    ("unsent", 6),
    ("booked 1x", 9),
    ("recover", 8),
)


def header() -> str:
    return " | ".join(f"{name:<{width}}" for name, width in COLUMNS)


def row(verdict: Verdict) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in verdict.statuses.items())
    recover = "never" if verdict.recover_s is None else f"{verdict.recover_s:g} s"
    cells = (
        verdict.drill,
        verdict.sent,
        verdict.accepted,
        statuses,
        verdict.sms_expected,
        verdict.sms_received,
        verdict.sms_missing,
        verdict.sms_doubled,
        verdict.parked,
        sum(verdict.unsent.values()),
        f"{verdict.booked_once}/{verdict.accepted}",
        recover,
    )
    return " | ".join(f"{cell!s:<{width}}" for cell, (_, width) in zip(cells, COLUMNS, strict=True))


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="handinhand drill", description=__doc__)
    parser.add_argument("which", nargs="*", help=f"drills to run: {', '.join(DRILLS)}")
    plan = DrillPlan()
    parser.add_argument("--requests", type=int, default=plan.requests, help="help requests")
    parser.add_argument("--rate", type=float, default=plan.rate, help="requests per second")
    parser.add_argument("--keyed", type=float, default=plan.keyed_share, help="share keyed")
    parser.add_argument("--lead", type=float, default=plan.lead, help="s of load before a fault")
    parser.add_argument("--kill-every", type=float, default=plan.kill_every, help="s")
    parser.add_argument(
        "--outage", type=float, help="s down: NATS (30), PostgreSQL (10), a NATS node (10)"
    )
    parser.add_argument("--drain", type=float, default=plan.drain, help="s to wait for SMS")
    parser.add_argument("--seed", type=int, default=plan.seed)
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    args = parser.parse_args(argv)
    if unknown := [name for name in args.which if name not in DRILLS]:
        parser.error(f"no drill {', '.join(unknown)}; the drills: {', '.join(DRILLS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    plan = DrillPlan(
        requests=args.requests,
        rate=args.rate,
        keyed_share=args.keyed,
        lead=args.lead,
        kill_every=args.kill_every,
        outage=args.outage,
        drain=args.drain,
        seed=args.seed,
    )
    binaries = server_binaries()
    root = Path(tempfile.mkdtemp(prefix="drill-"))
    print(f"logs under {root}", file=sys.stderr, flush=True)
    verdicts: list[Verdict] = []
    lines = [header()]
    try:
        for name in args.which or DRILLS:
            if name in NEEDS_POSTGRES and binaries is None:
                lines.append(f"{name:<12} | skipped: no PostgreSQL server binaries here")
                continue
            began = time.monotonic()
            # The standard event loop, as in the tests: on uvloop, anyio (under httpx) fails
            # with AttributeError when a killed instance drops a connection being opened.
            verdict = asyncio.run(run_drill(name, plan, root / name, binaries))
            verdicts.append(verdict)
            lines.append(row(verdict))
            print(
                f"{row(verdict)}   ({time.monotonic() - began:.0f} s)", file=sys.stderr, flush=True
            )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("\n".join(lines))
    for verdict in verdicts:
        print(json.dumps(verdict.as_json(), ensure_ascii=False))
    return 0 if all(v.holds for v in verdicts) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
