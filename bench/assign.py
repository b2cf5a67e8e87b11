"""Benchmark of the weekend assignment solver on a Thanh Hóa-sized province.

16,000 volunteers in 4,400 groups over 166 communes, 6,000 sessions (one per group on most
weekends, 2-4 volunteers each) and 500 home visits; some slots need a screen-reader helper or a
minority language. Synthetic but shaped like the province: communes on a map with their
nearest neighbours, mountain communes with Thái, Mường, H'Mông and Dao speakers. Each solve is
timed whole (network, solve, reading the flow back), with OR-Tools' cost scaling and with the
pure-Python successive shortest paths, on the same network.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.volunteers.domain.assignment import Candidate, CommuneMap, Slot, solve
from services.volunteers.domain.cost_scaling import cost_scaling
from services.volunteers.domain.flow import FlowSolver, successive_shortest_paths
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import GroupId, HalfDay, SlotId, SlotKind, VolunteerId

COMMUNES = 166
GROUPS = 4_400
VOLUNTEERS = 16_000
SESSIONS = 6_000
HOME_VISITS = 500
SATURDAY = date(2025, 6, 14)
SUNDAY = SATURDAY + timedelta(days=1)
HALVES = [(SATURDAY, HalfDay.MORNING), (SATURDAY, HalfDay.AFTERNOON)]
HALVES += [(SUNDAY, HalfDay.MORNING), (SUNDAY, HalfDay.AFTERNOON)]
# Share of sessions per half day, and chance a volunteer is free then.
SESSION_SHARE = [0.45, 0.25, 0.2, 0.1]
FREE_CHANCE = [0.7, 0.5, 0.5, 0.3]
TOPICS = [
    Skill.VNEID_ACTIVATION,
    Skill.ONLINE_PUBLIC_SERVICES,
    Skill.CASHLESS_PAYMENT,
    Skill.SMARTPHONE_BASICS,
    Skill.SCREEN_READER,
    Skill.BUSINESS_APPS,
    Skill.ONLINE_LEARNING,
]
TOPIC_SHARE = [0.3, 0.25, 0.2, 0.15, 0.02, 0.05, 0.03]
MINORITY = [Language.BLT, Language.MTQ, Language.HMN, Language.IUM]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """Vietnam local time (UTC+7) as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def build(seed: int = 1) -> tuple[list[Slot], list[Candidate], CommuneMap]:
    """A province-sized weekend: slots, volunteers and the commune neighbour map."""
    rng = random.Random(seed)
    codes = [CommuneCode(f"{15000 + 7 * n:05d}") for n in range(COMMUNES)]
    where = {code: (rng.random(), rng.random()) for code in codes}
    neighbours: dict[str, list[str]] = {}
    for code in codes:
        x, y = where[code]
        nearest = sorted(codes, key=lambda o: math.hypot(where[o][0] - x, where[o][1] - y))
        neighbours[code] = list(nearest[1:5])
    communes = CommuneMap(neighbours, max_hops=1)
    # The west is mountainous: minority languages there.
    minority = {code: rng.choice(MINORITY) if where[code][0] < 0.4 else None for code in codes}
    group_commune = [codes[n % COMMUNES] for n in range(GROUPS)]
    candidates: list[Candidate] = []
    for n in range(VOLUNTEERS):
        group = n % GROUPS if n < GROUPS else rng.randrange(GROUPS)
        commune = group_commune[group]
        skills = {
            t for t, share in zip(TOPICS, TOPIC_SHARE, strict=True) if rng.random() < share * 2
        }
        if rng.random() < 0.04:
            skills.add(Skill.SCREEN_READER_HELP)
        if rng.random() < 0.05:
            skills.add(Skill.INTERPRETING)
        languages = {Language.VI}
        spoken = minority[commune]
        if spoken is not None and rng.random() < 0.35:
            languages.add(spoken)
        if rng.random() < 0.003:
            languages.add(Language.HAB)
        free = frozenset(h for h, p in zip(HALVES, FREE_CHANCE, strict=True) if rng.random() < p)
        candidates.append(
            Candidate(
                volunteer_id=VolunteerId(f"v{n}"),
                group_id=GroupId(f"g{group}"),
                commune_code=commune,
                skills=frozenset(skills),
                languages=frozenset(languages),
                free=free,
                active=rng.random() < 0.95,
                monthly_limit=rng.randint(2, 6),
                assigned_this_month=rng.randint(0, 2),
                recent_load=rng.randint(0, 6),
            )
        )
    slots: list[Slot] = []
    for n in range(SESSIONS + HOME_VISITS):
        visit = n >= SESSIONS
        group = n % GROUPS if n < GROUPS else rng.randrange(GROUPS)
        commune = group_commune[group] if not visit else rng.choice(codes)
        day, half = rng.choices(HALVES, weights=SESSION_SHARE)[0]
        start = (7 if half == HalfDay.MORNING else 14) + rng.randint(0, 1)
        length = 1 if visit else rng.choice([2, 3])
        required_skills = set()
        required_languages = set()
        if rng.random() < (0.1 if visit else 0.05):
            required_skills.add(Skill.SCREEN_READER_HELP)
        spoken = minority[commune]
        if spoken is not None and rng.random() < (0.25 if visit else 0.12):
            required_languages.add(spoken)
        slots.append(
            Slot(
                slot_id=SlotId(f"{'visit' if visit else 'session'}-{n}"),
                kind=SlotKind.HOME_VISIT if visit else SlotKind.SESSION,
                commune_code=commune,
                starts_at=local(day, start, 30 if visit else 0),
                ends_at=local(day, start + length),
                needed=rng.choice([1, 2])
                if visit
                else rng.choices([2, 3, 4], [0.3, 0.45, 0.25])[0],
                topics=frozenset(rng.sample(TOPICS, k=1 if visit else rng.choice([1, 2]))),
                required_skills=frozenset(required_skills),
                required_languages=frozenset(required_languages),
                host_group=None if visit else GroupId(f"g{group}"),
            )
        )
    return slots, candidates, communes


SOLVERS: dict[str, FlowSolver] = {
    "cost_scaling": cost_scaling,
    "shortest_paths": successive_shortest_paths,
}


def run(seed: int = 1, repeat: int = 3) -> dict[str, Any]:
    """Build the weekend, solve it `repeat` times with each solver, alternating who goes first.

    The machine's speed moves from hour to hour, so the two are compared in one run: median
    seconds (wall and CPU) of each, their ratio, and each one's objective (they must agree).
    """
    slots, candidates, communes = build(seed)
    wall: dict[str, list[float]] = {name: [] for name in SOLVERS}
    cpu: dict[str, list[float]] = {name: [] for name in SOLVERS}
    objectives: dict[str, set[int]] = {name: set() for name in SOLVERS}
    solution = None
    names = list(SOLVERS)
    for round_ in range(max(repeat, 1)):
        for name in names if round_ % 2 == 0 else names[::-1]:
            started, started_cpu = time.perf_counter(), time.process_time()
            solution = solve(slots, candidates, communes, send=SOLVERS[name])
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
            objectives[name].add(solution.objective)
    assert solution is not None
    score = solution.score
    kept, reference = names
    result: dict[str, Any] = {"seed": seed, "repeats": max(repeat, 1)}
    for name in names:
        result[f"{name}_seconds"] = round(statistics.median(wall[name]), 3)
        result[f"{name}_cpu_seconds"] = round(statistics.median(cpu[name]), 3)
    result["ratio"] = round(result[f"{kept}_seconds"] / result[f"{reference}_seconds"], 3)
    result["cpu_ratio"] = round(
        result[f"{kept}_cpu_seconds"] / result[f"{reference}_cpu_seconds"], 3
    )
    for name in names:
        found = objectives[name]
        result[f"{name}_objective"] = found.pop() if len(found) == 1 else sorted(found)
    result |= {
        "assigned": len(solution.placements),
        "gaps": len(solution.gaps),
        "places": sum(slot.needed for slot in slots),
        "unfilled": score.unfilled,
        "uncovered_requirements": score.uncovered_requirements,
        "topic_roles": score.topic_roles,
        "hops": score.hops,
        "load": score.load,
        "team": score.team,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    """`handinhand bench assign [--seed N] [--repeat N]`: print a table and one JSON line."""
    parser = argparse.ArgumentParser(prog="handinhand bench assign", description=__doc__)
    parser.add_argument("--seed", type=int, default=1, help="random seed of the province")
    parser.add_argument(
        "--repeat", type=int, default=3, help="solves per solver, alternating (median kept)"
    )
    args = parser.parse_args(argv or [])
    result = run(args.seed, args.repeat)
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))
    objectives = [result[f"{name}_objective"] for name in SOLVERS]
    if any(isinstance(value, list) for value in objectives) or len(set(objectives)) != 1:
        print("the solvers' objectives differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
