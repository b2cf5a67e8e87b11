"""The solver: hard rules on random weekends, and optimality against an exact search."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import combinations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.volunteers.domain.assignment import (
    Candidate,
    CommuneMap,
    Score,
    Slot,
    Solution,
    Weights,
    slot_roles,
    solve,
)
from services.volunteers.domain.availability import half_days_of
from services.volunteers.domain.flow import successive_shortest_paths
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import GroupId, HalfDay, SlotId, VolunteerId

SATURDAY = date(2025, 6, 14)
SUNDAY = date(2025, 6, 15)
HALVES = [
    (day, half) for day in (SATURDAY, SUNDAY) for half in (HalfDay.MORNING, HalfDay.AFTERNOON)
]
A, B, C = CommuneCode("15835"), CommuneCode("15836"), CommuneCode("15837")
COMMUNES = CommuneMap({A: [B], B: [C]}, max_hops=1)
TOPICS = [Skill.VNEID_ACTIVATION, Skill.CASHLESS_PAYMENT]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (UTC+7) time as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def window(half: tuple[date, HalfDay], offset: int = 0) -> tuple[datetime, datetime]:
    day, part = half
    start = {HalfDay.MORNING: 8, HalfDay.AFTERNOON: 14, HalfDay.EVENING: 19}[part]
    return at(day, start + offset), at(day, start + offset + 2)


def volunteer(number: int, **fields: object) -> Candidate:
    values: dict[str, object] = {
        "volunteer_id": VolunteerId(f"v{number}"),
        "group_id": GroupId("g1"),
        "commune_code": A,
        "free": frozenset(HALVES),
    }
    values.update(fields)
    return Candidate(**values)  # type: ignore[arg-type]


def session(number: int, **fields: object) -> Slot:
    starts_at, ends_at = window(HALVES[0])
    values: dict[str, object] = {
        "slot_id": SlotId(f"s{number}"),
        "commune_code": A,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "needed": 1,
    }
    values.update(fields)
    return Slot(**values)  # type: ignore[arg-type]


@st.composite
def slots_strategy(draw: st.DrawFn, most: int) -> list[Slot]:
    count = draw(st.integers(1, most))
    slots = []
    for number in range(count):
        half = draw(st.sampled_from(HALVES))
        starts_at, ends_at = window(half, draw(st.integers(0, 1)))
        slots.append(
            Slot(
                slot_id=SlotId(f"s{number}"),
                commune_code=draw(st.sampled_from([A, B, C])),
                starts_at=starts_at,
                ends_at=ends_at,
                needed=draw(st.integers(1, 2)),
                topics=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=2))),
                required_skills=frozenset(
                    draw(st.sets(st.just(Skill.SCREEN_READER_HELP), max_size=1))
                ),
                required_languages=frozenset(draw(st.sets(st.just(Language.HMN), max_size=1))),
                host_group=draw(st.sampled_from([None, GroupId("g1"), GroupId("g2")])),
            )
        )
    return slots


@st.composite
def candidates_strategy(draw: st.DrawFn, most: int) -> list[Candidate]:
    count = draw(st.integers(0, most))
    candidates = []
    for number in range(count):
        busy = draw(st.lists(st.sampled_from(HALVES), max_size=1))
        candidates.append(
            Candidate(
                volunteer_id=VolunteerId(f"v{number}"),
                group_id=draw(st.sampled_from([GroupId("g1"), GroupId("g2"), GroupId("g3")])),
                commune_code=draw(st.sampled_from([A, B, C])),
                skills=frozenset(
                    draw(st.sets(st.sampled_from([*TOPICS, Skill.SCREEN_READER_HELP])))
                ),
                languages=frozenset(
                    draw(st.sets(st.sampled_from([Language.VI, Language.HMN]), min_size=1))
                ),
                free=frozenset(draw(st.sets(st.sampled_from(HALVES)))),
                active=draw(st.booleans()) or draw(st.booleans()),
                monthly_limit=draw(st.integers(0, 4)),
                assigned_this_month=draw(st.integers(0, 2)),
                recent_load=draw(st.integers(0, 3)),
                busy=tuple(window(half, 1) for half in busy),
            )
        )
    return candidates


def eligible(candidate: Candidate, slot: Slot) -> bool:
    """The hard eligibility rules, restated independently of the solver."""
    if not candidate.active or COMMUNES.hops(candidate.commune_code, slot.commune_code) is None:
        return False
    halves = set(half_days_of(slot.starts_at, slot.ends_at))
    busy = {half for start, end in candidate.busy for half in half_days_of(start, end)}
    return halves <= candidate.free - busy


def best_designation(slot: Slot, volunteers: list[Candidate]) -> tuple[int, int]:
    """Most requirement roles, then most topic roles, one role per volunteer (exhaustive)."""
    roles = slot_roles(slot)
    best = (0, 0)

    def qualifies(candidate: Candidate, role: tuple[str, str]) -> bool:
        level, name = role
        if level == "language":
            return Language(name) in candidate.languages
        return Skill(name) in candidate.skills

    def walk(index: int, used: frozenset[int], required: int, topics: int) -> None:
        nonlocal best
        best = max(best, (required, topics))
        if index == len(volunteers):
            return
        walk(index + 1, used, required, topics)
        for number, role in enumerate(roles):
            if number not in used and qualifies(volunteers[index], role):
                walk(
                    index + 1,
                    used | {number},
                    required + (role[0] != "topic"),
                    topics + (role[0] == "topic"),
                )

    walk(0, frozenset(), 0, 0)
    return best


def exact_objective(slots: list[Slot], candidates: list[Candidate], solution: Solution) -> int:
    """Enumerate every feasible assignment (slot by slot) and keep the best objective."""
    weights = solution.weights
    requirements = sum(len(s.required_skills) + len(s.required_languages) for s in slots)
    options: list[list[tuple[tuple[int, ...], int]]] = []
    for slot in slots:
        pool = [i for i, c in enumerate(candidates) if eligible(c, slot)]
        choices = []
        for size in range(min(slot.needed, len(pool)) + 1):
            for chosen in combinations(pool, size):
                members = [candidates[i] for i in chosen]
                required, topics = best_designation(slot, members)
                hops = sum(COMMUNES.hops(m.commune_code, slot.commune_code) or 0 for m in members)
                team = sum(m.group_id == slot.host_group for m in members)
                local = Score(
                    uncovered_requirements=-required,
                    unfilled=slot.needed - size,
                    topic_roles=topics,
                    hops=hops,
                    load=0,
                    team=team,
                ).value(weights)
                choices.append((chosen, local))
        options.append(choices)
    halves = [set(half_days_of(s.starts_at, s.ends_at)) for s in slots]
    best: int | None = None
    used: list[set[tuple[date, HalfDay]]] = [set() for _ in candidates]
    counts = [0] * len(candidates)

    def walk(index: int, total: int) -> None:
        nonlocal best
        if index == len(slots):
            load = sum(
                c.recent_load * n + n * (n - 1) // 2
                for c, n in zip(candidates, counts, strict=True)
            )
            value = total + weights.load * load + weights.requirement * requirements
            best = value if best is None else min(best, value)
            return
        for chosen, local in options[index]:
            if any(
                used[i] & halves[index]
                or counts[i] >= candidates[i].monthly_limit - candidates[i].assigned_this_month
                for i in chosen
            ):
                continue
            for i in chosen:
                used[i] |= halves[index]
                counts[i] += 1
            walk(index + 1, total + local)
            for i in chosen:
                used[i] -= halves[index]
                counts[i] -= 1

    walk(0, 0)
    assert best is not None
    return best


def assert_hard_rules(slots: list[Slot], candidates: list[Candidate], solution: Solution) -> None:
    by_id = {c.volunteer_id: c for c in candidates}
    slot_by_id = {s.slot_id: s for s in slots}
    per_volunteer: dict[VolunteerId, list[Slot]] = {}
    per_slot: dict[SlotId, list[Candidate]] = {}
    for placement in solution.placements:
        candidate, slot = by_id[placement.volunteer_id], slot_by_id[placement.slot_id]
        assert eligible(candidate, slot), placement
        per_volunteer.setdefault(candidate.volunteer_id, []).append(slot)
        per_slot.setdefault(slot.slot_id, []).append(candidate)
        for start, end in candidate.busy:
            assert end <= slot.starts_at or slot.ends_at <= start
    for volunteer_id, taken in per_volunteer.items():
        candidate = by_id[volunteer_id]
        assert len(taken) <= candidate.monthly_limit - candidate.assigned_this_month
        for first, second in combinations(taken, 2):
            assert first.ends_at <= second.starts_at or second.ends_at <= first.starts_at
    gaps = {gap.slot_id: gap for gap in solution.gaps}
    for slot in slots:
        staff = per_slot.get(slot.slot_id, [])
        assert len(staff) <= slot.needed
        gap = gaps.get(slot.slot_id)
        missing = gap.missing_count if gap else 0
        assert missing == slot.needed - len(staff)
        if gap is None or len(staff) == slot.needed:
            continue
        # A place is free: no idle, eligible volunteer who has a missing skill was left out.
        for candidate in candidates:
            spare = len(per_volunteer.get(candidate.volunteer_id, [])) < (
                candidate.monthly_limit - candidate.assigned_this_month
            )
            idle = all(
                not set(half_days_of(s.starts_at, s.ends_at))
                & set(half_days_of(slot.starts_at, slot.ends_at))
                for s in per_volunteer.get(candidate.volunteer_id, [])
            )
            has = (
                set(gap.missing_skills) & candidate.skills
                or set(gap.missing_languages) & candidate.languages
            )
            assert not (has and spare and idle and eligible(candidate, slot)), candidate


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slots=slots_strategy(4), candidates=candidates_strategy(6))
def test_solver_objective_equals_exact_search_on_small_weekends(
    slots: list[Slot], candidates: list[Candidate]
) -> None:
    solution = solve(slots, candidates, COMMUNES)
    assert solution.objective == exact_objective(slots, candidates, solution)


@settings(max_examples=60, deadline=None)
@given(slots=slots_strategy(10), candidates=candidates_strategy(20))
def test_hard_rules_hold_on_random_weekends(slots: list[Slot], candidates: list[Candidate]) -> None:
    assert_hard_rules(slots, candidates, solve(slots, candidates, COMMUNES))


@settings(max_examples=100, deadline=None)
@given(
    slots=slots_strategy(10),
    candidates=candidates_strategy(20),
    max_hops=st.integers(0, 2),
)
def test_or_tools_and_shortest_paths_find_the_same_optimum_on_random_weekends(
    slots: list[Slot], candidates: list[Candidate], max_hops: int
) -> None:
    communes = CommuneMap({A: [B], B: [C]}, max_hops=max_hops)
    kept = solve(slots, candidates, communes)
    reference = solve(slots, candidates, communes, send=successive_shortest_paths)
    assert kept.score == reference.score
    assert kept.objective == reference.objective


@given(
    team=st.integers(0, 10**5),
    load=st.integers(0, 50),
    hops=st.integers(0, 10**5),
    topic=st.integers(0, 10**5),
)
def test_each_arc_weight_outweighs_all_a_cycle_can_change_below_it(
    team: int, load: int, hops: int, topic: int
) -> None:
    weights = Weights.for_cycles(team=team, load=load, hops=hops, topic=topic)
    assert weights.team >= 1
    assert weights.load > weights.team * team
    assert weights.distance > weights.load * load + weights.team * team
    assert weights.topic > weights.distance * hops + weights.load * load + weights.team * team
    below_fill = weights.topic * topic + weights.distance * hops + weights.load * load + team
    assert weights.fill > below_fill
    assert weights.requirement > weights.fill + below_fill


def test_a_scarce_screen_reader_helper_goes_where_blind_residents_booked() -> None:
    slots = [
        session(1, topics=frozenset({Skill.SCREEN_READER_HELP})),
        session(2, required_skills=frozenset({Skill.SCREEN_READER_HELP})),
    ]
    candidates = [volunteer(1, skills=frozenset({Skill.SCREEN_READER_HELP})), volunteer(2)]
    placed = {p.slot_id: p.volunteer_id for p in solve(slots, candidates, COMMUNES).placements}
    assert placed == {"s2": "v1", "s1": "v2"}


def test_reports_a_missing_language_instead_of_hiding_it() -> None:
    slot = session(1, needed=2, required_languages=frozenset({Language.HMN}))
    solution = solve([slot], [volunteer(1)], COMMUNES)
    (gap,) = solution.gaps
    assert gap.missing_count == 1
    assert gap.missing_languages == (Language.HMN,)


def test_fills_places_before_keeping_volunteers_in_their_own_commune() -> None:
    slots = [session(1, commune_code=B, needed=2)]
    solution = solve(slots, [volunteer(1, commune_code=B), volunteer(2, commune_code=C)], COMMUNES)
    assert len(solution.placements) == 2
    assert {p.hops for p in solution.placements} == {0, 1}


def test_prefers_the_same_commune_then_the_least_loaded() -> None:
    slots = [session(1)]
    candidates = [
        volunteer(1, commune_code=B, recent_load=0),
        volunteer(2, recent_load=5),
        volunteer(3, recent_load=2),
    ]
    (placement,) = solve(slots, candidates, COMMUNES).placements
    assert placement.volunteer_id == "v3"
    assert "same commune" in placement.explanation
    assert "2 recent assignments" in placement.explanation


def test_never_gives_one_volunteer_two_overlapping_slots() -> None:
    start, end = window(HALVES[0])
    slots = [session(1), session(2, starts_at=start + timedelta(hours=1), ends_at=end)]
    solution = solve(slots, [volunteer(1)], COMMUNES)
    assert len(solution.placements) == 1


def test_a_slot_across_noon_blocks_both_half_days() -> None:
    long = session(1, starts_at=at(SATURDAY, 10), ends_at=at(SATURDAY, 15))
    afternoon = session(2, starts_at=at(SATURDAY, 14), ends_at=at(SATURDAY, 16))
    solution = solve([long, afternoon], [volunteer(1)], COMMUNES)
    assert len(solution.placements) == 1


def test_keeps_the_monthly_limit_and_spreads_the_weekend() -> None:
    slots = [
        session(n, starts_at=window(half)[0], ends_at=window(half)[1])
        for n, half in enumerate(HALVES)
    ]
    candidates = [volunteer(1, monthly_limit=4, assigned_this_month=2), volunteer(2, recent_load=3)]
    solution = solve(slots, candidates, COMMUNES)
    counts = [p.volunteer_id for p in solution.placements]
    assert counts.count(VolunteerId("v1")) == 2
    assert counts.count(VolunteerId("v2")) == 2


def test_prefers_the_host_team_when_all_else_is_equal() -> None:
    slot = session(1, host_group=GroupId("g2"))
    candidates = [volunteer(1), volunteer(2, group_id=GroupId("g2"))]
    (placement,) = solve([slot], candidates, COMMUNES).placements
    assert placement.volunteer_id == "v2"
    assert placement.team


def test_skips_paused_and_unavailable_volunteers() -> None:
    candidates = [volunteer(1, active=False), volunteer(2, free=frozenset({HALVES[3]}))]
    solution = solve([session(1)], candidates, COMMUNES)
    assert solution.placements == ()
    assert solution.score.unfilled == 1


def test_spreads_a_weekend_between_equally_loaded_volunteers() -> None:
    slots = [
        session(n, starts_at=window(half)[0], ends_at=window(half)[1])
        for n, half in enumerate(HALVES)
    ]
    solution = solve(slots, [volunteer(1), volunteer(2)], COMMUNES)
    counts = [p.volunteer_id for p in solution.placements]
    assert sorted(counts.count(VolunteerId(v)) for v in ("v1", "v2")) == [2, 2]
