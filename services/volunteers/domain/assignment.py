"""Who helps where this weekend: one exact min-cost-flow optimisation over every slot at once.

The model
---------
A *slot* (session or home visit) sits in one commune, occupies the local half days it touches
(morning before 12:00, afternoon after) and needs `needed` volunteers. It may name required
skills/languages (e.g. `screen_reader_help` when blind residents booked, `hmong`), topics, and a
host group (the team that runs the session).

Hard rules (never broken):
  * only active volunteers, free on every half day of the slot, within `max_hops` communes;
  * a volunteer takes at most one assignment per *conflict block*: a half day, or half days
    joined by a slot in their reach that spans both (so no two assignments ever overlap, and
    existing accepted/proposed assignments block their half days);
  * assignments this weekend <= monthly limit - assignments already counted this month;
  * a slot gets at most `needed` volunteers.

Roles: each required skill, required language and topic of a slot is a *role*; a volunteer who
has it may be designated for it, one role per volunteer (an interpreter busy interpreting is not
also guiding a screen reader). A requirement with no designated volunteer is a reported gap.

The objective (lower is better), minimised exactly and lexicographically in this order:
  1. uncovered requirement roles            (W_R)
  2. unfilled places                        (W_F)
  3. - covered topic roles                  (W_T)
  4. hops between volunteer and slot commune, summed (W_D)
  5. load: sum over volunteers of (recent + k) for their k-th assignment this weekend, k = 0, 1..
     (convex, so fewest recent assignments first and work is spread)   (W_L)
  6. - volunteers placed in a slot their own group hosts (teams together)  (W_G)
`objective = W_R*l1 + W_F*l2 - W_T*l3 + W_D*l4 + W_L*l5 - W_G*l6`; each weight exceeds the
largest possible total of all lower levels (`Weights.for_problem`), so the order is strict.

Why it is exact: conflict blocks make "at most one per block" a unit capacity on a
volunteer-block node, the monthly limit and the convex load are unit arcs from the volunteer
node, roles are unit-capacity nodes in front of each slot, so every feasible assignment with a
best designation is an integral flow of the same cost and vice versa. An exact min-cost-flow
solver on integer costs returns an optimal integral flow (`flow`, `cost_scaling`).

Costs on the arcs: `Weights.for_problem` dominates whole solutions and reaches 2**74 on a
province; the arcs carry `Weights.for_cycles` instead, which only dominate what one residual
cycle can change (`_WeekendNetwork.arc_weights`), about 2**43 there. A flow is optimal exactly
when no residual cycle lowers its cost, so both give the same optimum, the same levels and so
the same reported `objective` (always in `for_problem`'s weights).

Speed: volunteers reach slots through shared hub nodes per (commune, block, role kind), so the
network has O(volunteers * kinds + communes * neighbours * kinds) arcs instead of
volunteers * slots.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

import msgspec

from services.volunteers.domain.availability import HalfDayKey, half_days_of
from services.volunteers.domain.cost_scaling import cost_scaling
from services.volunteers.domain.errors import InvalidSlotError
from services.volunteers.domain.flow import INFINITE, FlowSolver, ResidualNetwork
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import GroupId, HalfDay, SlotId, SlotKind, VolunteerId

TOPIC = "topic"
SKILL = "skill"
LANGUAGE = "language"
GENERAL = ""
# Layers of the network, in the direction flow goes: slot -> role -> hub -> pool -> block ->
# volunteer -> sink.
_SLOT, _ROLE, _HUB, _POOL, _BLOCK, _VOLUNTEER, _SINK = range(7)


class Slot(msgspec.Struct, frozen=True, kw_only=True):
    """A session or home visit to staff, as the solver sees it."""

    slot_id: SlotId
    kind: SlotKind = SlotKind.SESSION
    commune_code: CommuneCode
    starts_at: datetime
    ends_at: datetime
    needed: int
    topics: frozenset[Skill] = frozenset()
    required_skills: frozenset[Skill] = frozenset()
    required_languages: frozenset[Language] = frozenset()
    host_group: GroupId | None = None
    place: str = ""


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer as the solver sees them for one weekend.

    `free` are the half days they can give (see `availability.free_half_days`);
    `assigned_this_month` counts every accepted or proposed assignment of the month, including
    those in `busy` (their existing assignments' time windows).
    """

    volunteer_id: VolunteerId
    group_id: GroupId
    commune_code: CommuneCode
    skills: frozenset[Skill] = frozenset()
    languages: frozenset[Language] = frozenset({Language.VI})
    free: frozenset[HalfDayKey] = frozenset()
    active: bool = True
    monthly_limit: int = 4
    assigned_this_month: int = 0
    recent_load: int = 0
    busy: tuple[tuple[datetime, datetime], ...] = ()


class CommuneMap:
    """How far communes are from each other: hops over the neighbour relation."""

    def __init__(self, neighbours: Mapping[str, Iterable[str]], max_hops: int = 1) -> None:
        graph: dict[str, set[str]] = defaultdict(set)
        for commune, others in neighbours.items():
            for other in others:
                if other != commune:
                    graph[commune].add(other)
                    graph[other].add(commune)
        self._graph = graph
        self.max_hops = max_hops
        self._reach: dict[str, dict[str, int]] = {}

    def reach(self, commune: str) -> dict[str, int]:
        """Communes within `max_hops` of `commune`, with their distance in hops."""
        found = self._reach.get(commune)
        if found is None:
            found = {commune: 0}
            queue = deque([commune])
            while queue:
                here = queue.popleft()
                hops = found[here]
                if hops == self.max_hops:
                    continue
                for other in self._graph.get(here, ()):
                    if other not in found:
                        found[other] = hops + 1
                        queue.append(other)
            self._reach[commune] = found
        return found

    def hops(self, origin: str, destination: str) -> int | None:
        """Distance in hops, or None when out of reach."""
        return self.reach(origin).get(destination)


class Weights(msgspec.Struct, frozen=True, kw_only=True):
    """Weights of the objective levels; each dominates everything below it."""

    requirement: int
    fill: int
    topic: int
    distance: int
    load: int
    team: int

    @classmethod
    def for_problem(cls, places: int, max_load: int, max_hops: int) -> Weights:
        """Weights that make the objective strictly lexicographic for this problem's size."""
        places = max(places, 1)
        team = 1
        below = team * places
        load = below + 1
        below += load * places * max(max_load, 1)
        distance = below + 1
        below += distance * places * max(max_hops, 1)
        topic = below + 1
        below += topic * places
        fill = below + 1
        below += fill * places
        requirement = below + 1
        return cls(
            requirement=requirement,
            fill=fill,
            topic=topic,
            distance=distance,
            load=load,
            team=team,
        )

    @classmethod
    def for_cycles(cls, *, team: int, load: int, hops: int, topic: int) -> Weights:
        """The smallest weights that still order every improvement of a flow lexicographically.

        The arguments bound how much one simple cycle of a residual network can change each
        level (`_WeekendNetwork.arc_weights` says why); fill changes by at most one. A flow is
        optimal when no residual cycle lowers its cost, so weights that dominate per cycle give
        the same optimum as `for_problem`, whose weights dominate whole solutions and outgrow
        64 bits on a province.
        """
        below = 0
        weights = []
        for bound in (team, load, hops, topic, 1):
            weights.append(below + 1)
            below += weights[-1] * bound
        team_weight, load_weight, distance, topic_weight, fill = weights
        return cls(
            requirement=below + 1,
            fill=fill,
            topic=topic_weight,
            distance=distance,
            load=load_weight,
            team=team_weight,
        )


class Score(msgspec.Struct, frozen=True, kw_only=True):
    """The objective's levels, for reports and for comparing with the exact search."""

    uncovered_requirements: int
    unfilled: int
    topic_roles: int
    hops: int
    load: int
    team: int

    def value(self, weights: Weights) -> int:
        """The single number the solver minimises."""
        return (
            weights.requirement * self.uncovered_requirements
            + weights.fill * self.unfilled
            - weights.topic * self.topic_roles
            + weights.distance * self.hops
            + weights.load * self.load
            - weights.team * self.team
        )


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """One volunteer placed in one slot, and why, in words a coordinator can read."""

    slot_id: SlotId
    volunteer_id: VolunteerId
    role: str
    hops: int
    load: int
    team: bool
    explanation: str


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    """What a slot still lacks after the best possible assignment."""

    slot_id: SlotId
    missing_count: int
    missing_skills: tuple[Skill, ...] = ()
    missing_languages: tuple[Language, ...] = ()


class Solution(msgspec.Struct, frozen=True, kw_only=True):
    """An optimal assignment of the weekend, its gaps and its objective."""

    placements: tuple[Placement, ...]
    gaps: tuple[Gap, ...]
    score: Score
    weights: Weights
    objective: int


def slot_roles(slot: Slot) -> list[tuple[str, str]]:
    """The roles of a slot as (level, name): requirements first, then topics."""
    roles = [(SKILL, skill.value) for skill in sorted(slot.required_skills)]
    roles += [(LANGUAGE, language.value) for language in sorted(slot.required_languages)]
    roles += [(TOPIC, topic.value) for topic in sorted(slot.topics)]
    return roles


def candidate_kinds(candidate: Candidate) -> set[str]:
    """The role kinds a volunteer can be designated for."""
    kinds = {f"{SKILL}:{skill.value}" for skill in candidate.skills}
    kinds |= {f"{TOPIC}:{skill.value}" for skill in candidate.skills}
    kinds |= {f"{LANGUAGE}:{language.value}" for language in candidate.languages}
    return kinds


def role_kind(role: tuple[str, str]) -> str:
    """The kind string of a role, matching `candidate_kinds`."""
    return f"{role[0]}:{role[1]}"


class Weekend:
    """The half days of a set of slots, numbered, and each slot's block of half days."""

    def __init__(self, slots: Sequence[Slot]) -> None:
        self.index: dict[HalfDayKey, int] = {}
        self.keys: dict[SlotId, frozenset[int]] = {}
        for slot in slots:
            if slot.needed < 1:
                raise InvalidSlotError("a slot needs at least one volunteer", "needed")
            halves = half_days_of(slot.starts_at, slot.ends_at)
            self.keys[slot.slot_id] = frozenset(
                self.index.setdefault(half, len(self.index)) for half in halves
            )

    def dates(self) -> set[date]:
        """The local dates the slots fall on."""
        return {day for day, _ in self.index}

    def busy_halves(self, busy: Iterable[tuple[datetime, datetime]]) -> set[int]:
        """Half days of this weekend taken by existing assignments."""
        taken: set[int] = set()
        for starts_at, ends_at in busy:
            for half in half_days_of(starts_at, ends_at):
                number = self.index.get(half)
                if number is not None:
                    taken.add(number)
        return taken


def conflict_blocks(
    free: Iterable[int], spanning: Iterable[frozenset[int]]
) -> list[frozenset[int]]:
    """A volunteer's conflict blocks: free half days joined by slots in reach that span them."""
    parent = {half: half for half in free}

    def root(half: int) -> int:
        while parent[half] != half:
            parent[half] = parent[parent[half]]
            half = parent[half]
        return half

    for key in spanning:
        if key <= parent.keys():
            first, *rest = key
            for other in rest:
                parent[root(other)] = root(first)
    blocks: dict[int, set[int]] = defaultdict(set)
    for half in parent:
        blocks[root(half)].add(half)
    return sorted((frozenset(block) for block in blocks.values()), key=min)


class _Unit(msgspec.Struct, kw_only=True):
    """One unit of flow being traced from its slot to its volunteer."""

    slot: int
    role: tuple[str, str] | None
    hops: int = 0


class _WeekendNetwork:
    """The flow network of one weekend: slot -> role -> hub -> pool -> block -> volunteer."""

    def __init__(
        self, slots: Sequence[Slot], candidates: Sequence[Candidate], communes: CommuneMap
    ) -> None:
        self.slots = slots
        self.candidates = candidates
        self.communes = communes
        self.weekend = Weekend(slots)
        places = sum(slot.needed for slot in slots)
        max_load = max((c.recent_load for c in candidates), default=0) + len(self.weekend.index)
        self.weights = Weights.for_problem(places, max_load, communes.max_hops)
        self.net = ResidualNetwork()
        self.sink = self.net.node(_SINK)
        self.slot_nodes: list[int] = []
        self.role_arcs: list[list[tuple[tuple[str, str], int, int]]] = []
        self.gap_arcs: list[int] = []
        self.hubs: dict[str, dict[frozenset[int], dict[str, int]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        self.hub_arcs: list[tuple[int, int, tuple[str, str] | None]] = []
        self.hosted: dict[GroupId, list[int]] = defaultdict(list)
        self.spanning_cache: dict[str, list[frozenset[int]]] = {}
        self.pools: dict[tuple[str, frozenset[int]], dict[str, int]] = {}
        self.pool_arcs: list[tuple[int, int, int]] = []
        self.block_arcs: list[tuple[int, int, int]] = []
        self.team_arcs: list[tuple[int, int, tuple[str, str] | None, int, int]] = []
        self.load_arcs: list[tuple[int, int]] = []
        self.block_owner: dict[int, int] = {}
        for index, slot in enumerate(slots):
            self._add_slot(index, slot)
        for position, candidate in enumerate(candidates):
            self._add_candidate(position, candidate)

    def _hub(self, commune: str, key: frozenset[int], kind: str) -> int:
        by_kind = self.hubs[commune][key]
        if kind not in by_kind:
            by_kind[kind] = self.net.node(_HUB)
        return by_kind[kind]

    def _add_slot(self, index: int, slot: Slot) -> None:
        net = self.net
        node = net.node(_SLOT)
        self.slot_nodes.append(node)
        self.gap_arcs.append(net.arc(node, self.sink, slot.needed))
        key = self.weekend.keys[slot.slot_id]
        roles: list[tuple[tuple[str, str], int, int]] = []
        for role in slot_roles(slot):
            role_node = net.node(_ROLE)
            roles.append((role, role_node, net.arc(node, role_node, 1)))
            hub = self._hub(slot.commune_code, key, role_kind(role))
            self.hub_arcs.append((net.arc(role_node, hub, 1), index, role))
        hub = self._hub(slot.commune_code, key, GENERAL)
        self.hub_arcs.append((net.arc(node, hub, slot.needed), index, None))
        self.role_arcs.append(roles)
        if slot.host_group is not None:
            self.hosted[slot.host_group].append(index)

    def _spanning(self, commune: str) -> list[frozenset[int]]:
        """Blocks of slots in reach of a commune that span several half days."""
        found = self.spanning_cache.get(commune)
        if found is None:
            keys = {
                key
                for other in self.communes.reach(commune)
                for key in self.hubs.get(other, {})
                if len(key) > 1
            }
            found = self.spanning_cache[commune] = sorted(keys, key=sorted)
        return found

    def _pools_for(self, commune: str, block: frozenset[int]) -> dict[str, int]:
        """Pool nodes of one (commune, block), one per role kind, fed by every hub in reach."""
        found = self.pools.get((commune, block))
        if found is None:
            found = {}
            for other, hops in self.communes.reach(commune).items():
                for key, by_kind in self.hubs.get(other, {}).items():
                    if not key <= block:
                        continue
                    for kind, hub in by_kind.items():
                        if kind not in found:
                            found[kind] = self.net.node(_POOL)
                        arc = self.net.arc(hub, found[kind], INFINITE)
                        self.pool_arcs.append((arc, hub, hops))
            self.pools[(commune, block)] = found
        return found

    def _add_candidate(self, position: int, candidate: Candidate) -> None:
        remaining = candidate.monthly_limit - candidate.assigned_this_month
        if not candidate.active or remaining <= 0:
            return
        taken = self.weekend.busy_halves(candidate.busy)
        free = [
            number
            for half, number in self.weekend.index.items()
            if half in candidate.free and number not in taken
        ]
        kinds = candidate_kinds(candidate)
        blocks = [
            block_node
            for block in conflict_blocks(free, self._spanning(candidate.commune_code))
            if (block_node := self._add_block(position, candidate, kinds, block)) is not None
        ]
        if not blocks:
            return
        net = self.net
        node = net.node(_VOLUNTEER)
        for block_node in blocks:
            net.arc(block_node, node, 1)
        for k in range(min(remaining, len(blocks))):
            load = candidate.recent_load + k
            self.load_arcs.append((net.arc(node, self.sink, 1), load))

    def _add_block(
        self, position: int, candidate: Candidate, kinds: set[str], block: frozenset[int]
    ) -> int | None:
        """A volunteer's conflict block: at most one slot in it, through a pool or their team."""
        pools = self._pools_for(candidate.commune_code, block)
        usable = [pool for kind, pool in pools.items() if kind == GENERAL or kind in kinds]
        team: list[tuple[int, int]] = []
        for index in self.hosted.get(candidate.group_id, ()):
            slot = self.slots[index]
            hops = self.communes.hops(candidate.commune_code, slot.commune_code)
            if hops is not None and self.weekend.keys[slot.slot_id] <= block:
                team.append((index, hops))
        if not usable and not team:
            return None
        net = self.net
        block_node = net.node(_BLOCK)
        self.block_owner[block_node] = position
        for pool in usable:
            self.block_arcs.append((net.arc(pool, block_node, 1), pool, block_node))
        for index, hops in team:
            arc = net.arc(self.slot_nodes[index], block_node, 1)
            self.team_arcs.append((arc, index, None, hops, block_node))
            for role, role_node, _ in self.role_arcs[index]:
                if role_kind(role) in kinds:
                    arc = net.arc(role_node, block_node, 1)
                    self.team_arcs.append((arc, index, role, hops, block_node))
        return block_node

    def arc_weights(self) -> Weights:
        """Weights for the arcs, from how much one residual cycle can change each level.

        A simple cycle passes each node at most once, and so the sink once: it uses at most
        two of the arcs into the sink, so fill changes by at most one and load by at most the
        largest load of one arc. The other levels sit on arcs leaving one layer (team: slot and
        role nodes of hosted slots; hops: hubs, and slot and role nodes; topics: slot nodes),
        or entering another (team: blocks; hops: pools and blocks; topics: role nodes), and at
        each such node a cycle enters and leaves once, changing the level by at most one arc's
        worth. So each level's change is bounded by the smaller count of those nodes.
        """
        net = self.net
        team_tails = {net.head[arc ^ 1] for arc, *_ in self.team_arcs}
        team_heads = {block for *_, block in self.team_arcs}
        far_pools = [(hub, net.head[arc]) for arc, hub, hops in self.pool_arcs if hops]
        far_team = [(net.head[arc ^ 1], block) for arc, _, _, hops, block in self.team_arcs if hops]
        hop_nodes = min(len({hub for hub, _ in far_pools}), len({pool for _, pool in far_pools}))
        hop_nodes += min(len({tail for tail, _ in far_team}), len({block for _, block in far_team}))
        topic_roles = [
            (index, node)
            for index, roles in enumerate(self.role_arcs)
            for (level, _), node, _ in roles
            if level == TOPIC
        ]
        return Weights.for_cycles(
            team=min(len(team_tails), len(team_heads)),
            load=max((load for _, load in self.load_arcs), default=0),
            hops=self.communes.max_hops * hop_nodes,
            topic=min(len({index for index, _ in topic_roles}), len(topic_roles)),
        )

    def price(self, weights: Weights) -> None:
        """Set every arc's cost from the weights of the levels it changes."""
        net = self.net
        for arc in self.gap_arcs:
            net.price(arc, weights.fill)
        for roles in self.role_arcs:
            for (level, _), _, arc in roles:
                net.price(arc, -(weights.topic if level == TOPIC else weights.requirement))
        for arc, _, hops in self.pool_arcs:
            net.price(arc, weights.distance * hops)
        for arc, _, _, hops, _ in self.team_arcs:
            net.price(arc, weights.distance * hops - weights.team)
        for arc, load in self.load_arcs:
            net.price(arc, weights.load * load)

    def supply(self) -> dict[int, int]:
        """Places to fill at each slot node, requirement slots first (it keeps searches short)."""
        slots = self.slots
        order = sorted(
            range(len(slots)),
            key=lambda i: (-len(slots[i].required_skills) - len(slots[i].required_languages), i),
        )
        return {self.slot_nodes[i]: slots[i].needed for i in order}

    def solve(self, send: FlowSolver) -> Solution:
        self.price(self.arc_weights())
        send(self.net, self.supply(), self.sink)
        placements = self._placements()
        return Solution(
            placements=tuple(placements),
            gaps=tuple(self._gaps(placements)),
            score=(score := self._score(placements)),
            weights=self.weights,
            objective=score.value(self.weights),
        )

    def _units(self) -> dict[int, list[tuple[_Unit, bool]]]:
        """Decompose the flow: each volunteer's units, with slot, role, hops and team."""
        net = self.net
        at_hub: dict[int, list[_Unit]] = defaultdict(list)
        for arc, index, role in self.hub_arcs:
            units = [_Unit(slot=index, role=role) for _ in range(net.flow(arc))]
            at_hub[net.head[arc]].extend(units)
        at_pool: dict[int, list[_Unit]] = defaultdict(list)
        for arc, hub, hops in self.pool_arcs:
            for _ in range(net.flow(arc)):
                unit = at_hub[hub].pop()
                unit.hops = hops
                at_pool[net.head[arc]].append(unit)
        per_volunteer: dict[int, list[tuple[_Unit, bool]]] = defaultdict(list)
        for arc, pool, block_node in self.block_arcs:
            if net.flow(arc):
                owner = self.block_owner[block_node]
                per_volunteer[owner].append((at_pool[pool].pop(), False))
        for arc, index, role, hops, block_node in self.team_arcs:
            if net.flow(arc):
                owner = self.block_owner[block_node]
                per_volunteer[owner].append((_Unit(slot=index, role=role, hops=hops), True))
        return per_volunteer

    def _placements(self) -> list[Placement]:
        placements: list[Placement] = []
        for position, units in self._units().items():
            candidate = self.candidates[position]
            units.sort(key=lambda pair: self.slots[pair[0].slot].starts_at)
            for earlier, (unit, team) in enumerate(units):
                slot = self.slots[unit.slot]
                placements.append(
                    Placement(
                        slot_id=slot.slot_id,
                        volunteer_id=candidate.volunteer_id,
                        role=role_kind(unit.role) if unit.role else GENERAL,
                        hops=unit.hops,
                        load=candidate.recent_load + earlier,
                        team=team,
                        explanation=explain(
                            slot,
                            candidate,
                            role=unit.role,
                            hops=unit.hops,
                            earlier=earlier,
                            team=team,
                        ),
                    )
                )
        placements.sort(key=lambda p: (p.slot_id, p.volunteer_id))
        return placements

    def _gaps(self, placements: Sequence[Placement]) -> list[Gap]:
        lookup = {c.volunteer_id: c for c in self.candidates}
        staff: dict[SlotId, list[Candidate]] = defaultdict(list)
        for placement in placements:
            staff[placement.slot_id].append(lookup[placement.volunteer_id])
        gaps = []
        for slot in self.slots:
            members = staff[slot.slot_id]
            gap = gap_for(
                slot,
                len(members),
                {skill for member in members for skill in member.skills},
                {language for member in members for language in member.languages},
            )
            if gap is not None:
                gaps.append(gap)
        return gaps

    def _score(self, placements: Sequence[Placement]) -> Score:
        designated = [
            role for roles in self.role_arcs for role, _, arc in roles if self.net.flow(arc)
        ]
        requirements = sum(level != TOPIC for roles in self.role_arcs for (level, _), _, _ in roles)
        return Score(
            uncovered_requirements=requirements - sum(level != TOPIC for level, _ in designated),
            unfilled=sum(self.net.flow(arc) for arc in self.gap_arcs),
            topic_roles=sum(level == TOPIC for level, _ in designated),
            hops=sum(p.hops for p in placements),
            load=sum(p.load for p in placements),
            team=sum(p.team for p in placements),
        )


def solve(
    slots: Sequence[Slot],
    candidates: Sequence[Candidate],
    communes: CommuneMap,
    *,
    send: FlowSolver = cost_scaling,
) -> Solution:
    """The optimal assignment of `candidates` to `slots` for the objective in the module doc."""
    return _WeekendNetwork(slots, candidates, communes).solve(send)


def gap_for(slot: Slot, staffed: int, skills: set[Skill], languages: set[Language]) -> Gap | None:
    """What a slot lacks with `staffed` volunteers who bring `skills` and `languages`."""
    missing_skills = tuple(sorted(slot.required_skills - skills))
    missing_languages = tuple(sorted(slot.required_languages - languages))
    missing_count = max(slot.needed - staffed, 0)
    if not missing_count and not missing_skills and not missing_languages:
        return None
    return Gap(
        slot_id=slot.slot_id,
        missing_count=missing_count,
        missing_skills=missing_skills,
        missing_languages=missing_languages,
    )


def explain(
    slot: Slot,
    candidate: Candidate,
    *,
    role: tuple[str, str] | None,
    hops: int,
    earlier: int,
    team: bool,
) -> str:
    """A short reason a coordinator can read: skills matched, distance, load, team."""
    parts: list[str] = []
    if role is not None:
        label = {SKILL: "required skill", LANGUAGE: "speaks", TOPIC: "teaches"}[role[0]]
        parts.append(f"{label} {role[1]}")
    other_topics = sorted(t.value for t in slot.topics & candidate.skills if role != (TOPIC, t))
    if other_topics:
        parts.append("also knows " + ", ".join(other_topics))
    parts.append(
        "same commune"
        if hops == 0
        else f"{hops} commune{'s' if hops > 1 else ''} away ({candidate.commune_code})"
    )
    load = f"{candidate.recent_load} recent assignment{'s' if candidate.recent_load != 1 else ''}"
    if earlier:
        load += f", {earlier} more this weekend"
    parts.append(load)
    if team:
        parts.append("host team")
    return "; ".join(parts)


__all__ = [
    "Candidate",
    "CommuneMap",
    "Gap",
    "HalfDay",
    "Placement",
    "Score",
    "Slot",
    "Solution",
    "Weekend",
    "Weights",
    "conflict_blocks",
    "explain",
    "gap_for",
    "slot_roles",
    "solve",
]
