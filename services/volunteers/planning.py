"""Staffing: who is proposed where. Plans a whole weekend at once, and refills one slot's freed
places, by running the exact solver over the read models (volunteers, availability, existing
assignments and monthly counts) and appending the proposals to each slot's staffing stream.

Every function works inside the caller's transaction (`tx`), so HTTP requests, consumers and
timers share it; the answer-deadline and weekend-plan timers are set in the same transaction.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec

from services.volunteers.domain.assignment import (
    Candidate,
    CommuneMap,
    Slot,
    Solution,
    gap_for,
    solve,
)
from services.volunteers.domain.availability import free_half_days
from services.volunteers.domain.communes import commune_map
from services.volunteers.domain.cycle import (
    DEFAULT_ANSWER_WITHIN,
    Contact,
    Status,
    decide_propose,
)
from services.volunteers.domain.slots import (
    SlotState,
    fold,
    new_slot_state,
    staffing_stream,
    weekend_of,
)
from services.volunteers.tables import timers
from services.volunteers.views import queries
from shared.clock import VIETNAM
from shared.events.base import Cause, Event
from shared.events.volunteers import (
    AssignmentId,
    AssignmentProposed,
    GroupId,
    PlannedGap,
    SlotId,
    SlotKind,
    VolunteerId,
    WeekendPlanned,
)
from shared.ids import uuid7
from shared.settings import ConfigError, number
from shared.store.eventstore import Transaction
from shared.store.timers import cancel_timer, set_timer

log = logging.getLogger("handinhand.volunteers")

PLAN_WEEKEND = "plan weekend"
EXPIRE_ANSWERS = "expire answers"
# A deadline passes strictly after `answer_by`; the timer fires a moment later.
_AFTER_DEADLINE = timedelta(seconds=1)


@dataclass(frozen=True)
class StaffingOptions:
    """How staffing behaves; tests shorten the delays."""

    # Slots opening or changing set a timer this far ahead; each new change moves it (debounce),
    # so a burst of scheduled sessions is planned together in one solve.
    plan_delay: timedelta = timedelta(seconds=5)
    answer_within: timedelta = DEFAULT_ANSWER_WITHIN
    # Which communes border which (the official list has no adjacency); empty: same commune only.
    neighbours: Mapping[str, Sequence[str]] = field(default_factory=dict)
    max_hops: int = 1
    # "Recent" assignments for fairness: those starting in this window before the weekend.
    recent_window: timedelta = timedelta(days=28)

    def communes(self) -> CommuneMap:
        return commune_map(self.neighbours, self.max_hops)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StaffingOptions:
        """HANDINHAND_PLAN_DELAY_SECONDS, HANDINHAND_ANSWER_WITHIN_HOURS and
        HANDINHAND_COMMUNE_NEIGHBOURS_FILE (JSON: {"15835": ["15772", ...]})."""
        neighbours: dict[str, list[str]] = {}
        path = env.get("HANDINHAND_COMMUNE_NEIGHBOURS_FILE")
        if path:
            try:
                neighbours = msgspec.json.decode(Path(path).read_bytes(), type=dict[str, list[str]])
            except (OSError, msgspec.DecodeError, msgspec.ValidationError) as error:
                raise ConfigError(f"HANDINHAND_COMMUNE_NEIGHBOURS_FILE: {error}") from None
        return cls(
            plan_delay=timedelta(
                seconds=number(env, "HANDINHAND_PLAN_DELAY_SECONDS", 5.0, 0.0, 86_400.0)
            ),
            answer_within=timedelta(
                hours=number(
                    env,
                    "HANDINHAND_ANSWER_WITHIN_HOURS",
                    DEFAULT_ANSWER_WITHIN.total_seconds() / 3600,
                    0.01,
                    24.0 * 14,
                )
            ),
            neighbours=neighbours,
        )


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VIETNAM).astimezone(UTC)


def new_assignment_id() -> AssignmentId:
    return AssignmentId(f"assignment-{uuid7()}")


async def load_slot(tx: Transaction, slot_id: str) -> tuple[SlotState, int]:
    """The slot and its assignments, and the stream version to append after."""
    stream = await tx.load(staffing_stream(SlotId(slot_id)))
    state = fold(new_slot_state(SlotId(slot_id)), (e.event for e in stream.events))
    return state, stream.version


async def append_to_slot(
    tx: Transaction, state: SlotState, *, version: int, events: Sequence[Event], cause: Cause
) -> tuple[SlotState, int]:
    """Append to a staffing stream and keep the slot's answer-deadline timer in step."""
    if not events:
        return state, version
    await tx.append(staffing_stream(state.slot_id), version, events, cause)
    state = fold(state, events)
    await sync_deadline(tx, state)
    return state, version + len(events)


async def sync_deadline(tx: Transaction, state: SlotState) -> None:
    """One timer per slot, due just after the earliest deadline of a proposal still waiting."""
    waiting = [a.answer_by for a in state.staffing.assignments if a.status == Status.PROPOSED]
    timer_id = f"expire-{state.slot_id}"
    if waiting and state.open:
        await set_timer(
            tx,
            timers,
            timer_id,
            EXPIRE_ANSWERS,
            min(waiting) + _AFTER_DEADLINE,
            {"slot_id": state.slot_id},
        )
    else:
        await cancel_timer(tx, timers, timer_id)


async def plan_soon(
    tx: Transaction, saturday: date, *, options: StaffingOptions, now: datetime
) -> None:
    """Set (or push back) the weekend's plan timer: the debounce that batches a burst of slots."""
    await set_timer(
        tx,
        timers,
        f"plan-{saturday.isoformat()}",
        PLAN_WEEKEND,
        now + options.plan_delay,
        {"saturday": saturday.isoformat()},
    )


def _covered(state: SlotState) -> tuple[set[str], set[str]]:
    active = state.staffing.active()
    return (
        {skill for a in active for skill in a.skills},
        {language for a in active for language in a.languages},
    )


def planning_slot(state: SlotState, host_group: GroupId | None) -> Slot:
    """The slot as the solver should fill it: only its open places, only what is still missing."""
    full = state.as_solver_slot(host_group)
    skills, languages = _covered(state)
    return msgspec.structs.replace(
        full,
        needed=state.open_places(),
        required_skills=frozenset(s for s in full.required_skills if s not in skills),
        required_languages=frozenset(x for x in full.required_languages if x not in languages),
    )


class Pool(msgspec.Struct, frozen=True, kw_only=True):
    """The candidates for some slots, with what a proposal must tell about each."""

    candidates: list[Candidate]
    contacts: dict[VolunteerId, Contact]
    pending_codes: dict[VolunteerId, set[str]]


async def candidate_pool(
    tx: Transaction,
    slots: Sequence[Slot],
    *,
    communes: CommuneMap,
    options: StaffingOptions,
    excluded: Iterable[str] = (),
) -> Pool:
    """Volunteers within reach of the slots, with their free half days and their load.

    Monthly counts use the local month of the weekend's Saturday; recent load counts proposed
    and accepted assignments starting in `recent_window` before the weekend.
    """
    if not slots:
        return Pool(candidates=[], contacts={}, pending_codes={})
    reach = {code for slot in slots for code in communes.reach(slot.commune_code)}
    skip = set(excluded)
    people = [v for v in await queries.volunteers_in(tx.conn, reach) if v.volunteer_id not in skip]
    saturday = min(weekend_of(slot.starts_at) for slot in slots)
    dates = {slot.starts_at.astimezone(VIETNAM).date() for slot in slots} | {
        saturday,
        saturday + timedelta(days=1),
    }
    weekend_start = _local_midnight(saturday)
    weekend_end = _local_midnight(max(dates) + timedelta(days=1))
    month_start = _local_midnight(saturday.replace(day=1))
    next_month = (saturday.replace(day=28) + timedelta(days=4)).replace(day=1)
    month_end = _local_midnight(next_month)
    ids = [v.volunteer_id for v in people]
    since = min(month_start, weekend_start - options.recent_window)
    until = max(month_end, weekend_end)
    held = await queries.active_assignments_between(tx.conn, ids, since, until) if ids else []
    in_month: Counter[str] = Counter()
    recent: Counter[str] = Counter()
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    for item in held:
        if month_start <= item.starts_at < month_end:
            in_month[item.volunteer_id] += 1
        if weekend_start - options.recent_window <= item.starts_at < weekend_start:
            recent[item.volunteer_id] += 1
        if weekend_start <= item.starts_at < weekend_end:
            busy.setdefault(item.volunteer_id, []).append((item.starts_at, item.ends_at))
    candidates = [
        Candidate(
            volunteer_id=v.volunteer_id,
            group_id=v.group_id,
            commune_code=v.commune_code,
            skills=frozenset(v.skills),
            languages=frozenset(v.languages),
            free=free_half_days(v.availability, v.exceptions, dates),
            active=not v.paused,
            monthly_limit=v.monthly_limit,
            assigned_this_month=in_month[v.volunteer_id],
            recent_load=recent[v.volunteer_id],
            busy=tuple(busy.get(v.volunteer_id, ())),
        )
        for v in people
    ]
    contacts = {
        v.volunteer_id: Contact(name=v.name, phone=v.phone, preferred_language=v.preferred_language)
        for v in people
    }
    found = await queries.pending_codes(tx.conn, ids) if ids else {}
    codes = {VolunteerId(k): v for k, v in found.items()}
    return Pool(candidates=candidates, contacts=contacts, pending_codes=codes)


async def _host_groups(tx: Transaction, states: Iterable[SlotState]) -> dict[str, GroupId]:
    """The team that hosts a session: the commune's oldest group (home visits have none)."""
    hosts: dict[str, GroupId] = {}
    for state in states:
        if state.kind == SlotKind.SESSION and state.commune_code not in hosts:
            found = await queries.groups_in(tx.conn, state.commune_code)
            if found:
                hosts[state.commune_code] = GroupId(found[0][0])
    return hosts


async def _propose(
    tx: Transaction,
    state: SlotState,
    *,
    version: int,
    solution: Solution,
    pool: Pool,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> tuple[SlotState, int]:
    """Append the solution's proposals for one slot, then its staffing report."""
    mine = [p for p in solution.placements if p.slot_id == state.slot_id]
    events = decide_propose(
        state.staffing,
        state.as_solver_slot(),
        msgspec.structs.replace(solution, placements=tuple(mine)),
        topics=state.slot_topics(),
        contacts=pool.contacts,
        candidates={c.volunteer_id: c for c in pool.candidates},
        new_ids=[new_assignment_id() for _ in mine],
        taken_codes=pool.pending_codes,
        now=now,
        answer_within=options.answer_within,
    )
    proposed = [e for e in events if isinstance(e, AssignmentProposed)]
    for event in proposed:
        pool.pending_codes.setdefault(event.volunteer_id, set()).add(event.short_code)
    return await append_to_slot(tx, state, version=version, events=events, cause=cause)


async def refill(
    tx: Transaction,
    state: SlotState,
    *,
    version: int,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> tuple[SlotState, int]:
    """Propose the next best volunteers for a slot's open places, never those asked before."""
    if not state.open or state.starts_at is None or state.starts_at <= now:
        return state, version
    if state.needed < 1 or state.open_places() < 1:
        return state, version
    hosts = await _host_groups(tx, [state])
    slot = planning_slot(state, hosts.get(state.commune_code))
    communes = options.communes()
    pool = await candidate_pool(
        tx, [slot], communes=communes, options=options, excluded=state.excluded()
    )
    solution = solve([slot], pool.candidates, communes)
    return await _propose(
        tx,
        state,
        version=version,
        solution=solution,
        pool=pool,
        options=options,
        now=now,
        cause=cause,
    )


async def plan_weekend(
    tx: Transaction, saturday: date, *, options: StaffingOptions, now: datetime, cause: Cause
) -> WeekendPlanned:
    """Assign every open place of the weekend in one solve, so scarce skills go where needed.

    A volunteer the solver picks for a slot they already declined (or let expire) is dropped
    from it, and that slot is refilled on its own afterwards, with everyone else's new
    proposals already counted.
    """
    views_of_weekend = await queries.slots_of_weekend(tx.conn, saturday, open_only=True)
    loaded: dict[str, tuple[SlotState, int]] = {}
    for view in views_of_weekend:
        if view.needed < 1 or view.starts_at <= now:
            continue
        loaded[view.slot_id] = await load_slot(tx, view.slot_id)
    before = sum(len(state.staffing.assignments) for state, _ in loaded.values())
    to_fill = {sid: pair for sid, pair in loaded.items() if pair[0].open_places() > 0}
    hosts = await _host_groups(tx, (state for state, _ in to_fill.values()))
    slots = [planning_slot(state, hosts.get(state.commune_code)) for state, _ in to_fill.values()]
    communes = options.communes()
    pool = await candidate_pool(tx, slots, communes=communes, options=options)
    started = time.perf_counter()
    solution = solve(slots, pool.candidates, communes)
    solve_ms = int((time.perf_counter() - started) * 1000)
    retry: list[str] = []
    for slot_id, (state, version) in to_fill.items():
        excluded = state.excluded()
        kept = [p for p in solution.placements if p.slot_id == slot_id]
        allowed = tuple(p for p in kept if p.volunteer_id not in excluded)
        if len(allowed) < len(kept):
            retry.append(slot_id)
        only = msgspec.structs.replace(solution, placements=allowed)
        loaded[slot_id] = await _propose(
            tx,
            state,
            version=version,
            solution=only,
            pool=pool,
            options=options,
            now=now,
            cause=cause,
        )
    for slot_id in retry:
        state, version = loaded[slot_id]
        loaded[slot_id] = await refill(
            tx, state, version=version, options=options, now=now, cause=cause
        )
    gaps = []
    for state, _ in loaded.values():
        slot = state.as_solver_slot()
        active = state.staffing.active()
        gap = gap_for(
            slot,
            len(active),
            {s for a in active for s in a.skills},
            {x for a in active for x in a.languages},
        )
        if gap is not None:
            gaps.append(
                PlannedGap(
                    slot_id=gap.slot_id,
                    missing_count=gap.missing_count,
                    missing_skills=gap.missing_skills,
                    missing_languages=gap.missing_languages,
                )
            )
    score = solution.score
    planned = WeekendPlanned(
        saturday=saturday,
        slots=len(loaded),
        open_places=sum(slot.needed for slot in slots),
        proposed=sum(len(state.staffing.assignments) for state, _ in loaded.values()) - before,
        objective=solution.objective,
        uncovered_requirements=score.uncovered_requirements,
        unfilled=score.unfilled,
        topic_roles=score.topic_roles,
        hops=score.hops,
        load=score.load,
        team=score.team,
        gaps=tuple(sorted(gaps, key=lambda g: g.slot_id)),
        solve_ms=solve_ms,
        planned_at=now,
    )
    stream = f"weekend-{saturday.isoformat()}"
    await tx.append(stream, await tx.version_of(stream), [planned], cause)
    log.info(
        "weekend %s planned: %d slots, %d open places, %d proposed, %d gaps in %d ms",
        saturday,
        planned.slots,
        planned.open_places,
        planned.proposed,
        len(gaps),
        solve_ms,
    )
    return planned
