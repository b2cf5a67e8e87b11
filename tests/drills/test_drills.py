"""Nothing lost, nothing twice, whatever fails: each drill runs the whole system under a
steady load of public help requests while it makes one kind of fault, then checks that every
request answered 201 is booked exactly once (the scheduler's own rosters), that its resident
got exactly one booking SMS at the provider, that no service parked a message, that
notifications records no SMS as still sending or failed, and that no client was left with an
answer other than 201 (or 503, unkeyed). Kept small here; `handinhand drill` runs them longer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bench.drill_verdict import Verdict
from bench.drills import DrillPlan, chaos, cluster_leader, mid_send, nats_outage, postgres_outage

# One worker takes every drill, one after another (pyproject.toml: --dist loadgroup).
pytestmark = [pytest.mark.drill, pytest.mark.xdist_group("drills")]

# 450 requests at 30/s: 15 s of load, half of them keyed; up to 90 s for the last SMS (the
# sender's lease on a message whose sender died is 60 s). The chaos drill sends 50/s for 21 s
# with a kill every 2 s (each restart takes 5 s or more here): with less in flight, or fewer
# kills, a kill rarely catches a consumer with a batch in hand.
LOAD = DrillPlan(requests=450, rate=30.0, keyed_share=0.5, lead=2.0, drain=90.0)
CHAOS = replace(LOAD, requests=1050, rate=50.0, kill_every=2.0)
NATS_OUTAGE_S = 30.0
POSTGRES_OUTAGE_S = 10.0
NODE_OUTAGE_S = 5.0


def assert_promise_kept(verdict: Verdict) -> None:
    assert verdict.accepted > 0, verdict.statuses
    assert verdict.problems() == {}, verdict.notes


@pytest.mark.postgres_server
async def test_two_instances_of_every_service_killed_at_random_lose_and_double_nothing(
    tmp_path: Path, postgres_binaries: Path, report: Callable[[Verdict], None]
) -> None:
    verdict = await chaos(CHAOS, tmp_path, postgres_binaries)
    report(verdict)
    assert len(verdict.fault.split(",")) >= 2, verdict.fault  # several instances were killed
    assert_promise_kept(verdict)


async def test_notifications_killed_mid_send_sends_each_booking_sms_once(
    tmp_path: Path, report: Callable[[Verdict], None]
) -> None:
    plan = replace(LOAD, kill_every=2.0)
    verdict = await mid_send(plan, tmp_path)
    report(verdict)
    assert "killed mid-send 0 times" not in verdict.fault
    assert_promise_kept(verdict)


async def test_killing_the_nats_node_that_leads_the_bookings_stream_loses_nothing(
    tmp_path: Path, report: Callable[[Verdict], None]
) -> None:
    plan = replace(LOAD, outage=NODE_OUTAGE_S)
    verdict = await cluster_leader(plan, tmp_path)
    report(verdict)
    assert "(R3)" in verdict.fault
    assert_promise_kept(verdict)


async def test_nats_stopped_and_started_again_loses_nothing(
    tmp_path: Path, report: Callable[[Verdict], None]
) -> None:
    plan = replace(LOAD, outage=NATS_OUTAGE_S)
    verdict = await nats_outage(plan, tmp_path)
    report(verdict)
    assert_promise_kept(verdict)


@pytest.mark.postgres_server
async def test_postgresql_restarted_and_stopped_answers_201_or_503_and_loses_nothing(
    tmp_path: Path, postgres_binaries: Path, report: Callable[[Verdict], None]
) -> None:
    plan = replace(LOAD, outage=POSTGRES_OUTAGE_S)
    verdict = await postgres_outage(plan, tmp_path, postgres_binaries)
    report(verdict)
    assert set(verdict.keyed_tries) - {"201"}, "the clients never felt the outage"
    assert_promise_kept(verdict)
