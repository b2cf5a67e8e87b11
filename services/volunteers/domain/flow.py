"""A residual flow network, and min-cost flow on it by successive shortest paths.

Successive shortest paths with potentials (Dijkstra on reduced costs) return an optimal integral
flow for integral capacities and costs. `assignment` builds the weekend's network here.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

INFINITE = 1 << 40


class ResidualNetwork:
    """A residual network: arcs in pairs (a, a ^ 1), integral capacities and costs."""

    def __init__(self) -> None:
        self.head: list[int] = []
        self.cap: list[int] = []
        self.cost: list[int] = []
        self.adj: list[list[int]] = []
        self.layer: list[int] = []

    def node(self, layer: int) -> int:
        """A new node; every arc goes from a lower layer to a higher one (the sink is last)."""
        self.adj.append([])
        self.layer.append(layer)
        return len(self.adj) - 1

    def arc(self, tail: int, head: int, cap: int, cost: int = 0) -> int:
        """A new arc and its reverse; the arc's number is even, its reverse's is `number ^ 1`."""
        number = len(self.head)
        self.head += (head, tail)
        self.cap += (cap, 0)
        self.cost += (cost, -cost)
        self.adj[tail].append(number)
        self.adj[head].append(number + 1)
        return number

    def initial_potentials(self, sink: int) -> list[int]:
        """Minus the cheapest cost from each node to the sink, so searches head straight for it.

        Arcs only go from lower to higher layers, so one backward pass over the layers is
        exact; nodes that cannot reach the sink get a potential low enough to never matter.
        """
        unreachable = INFINITE**3
        to_sink = [unreachable] * len(self.adj)
        to_sink[sink] = 0
        head, cap, cost, adj = self.head, self.cap, self.cost, self.adj
        layer = self.layer
        for node in sorted(range(len(adj)), key=layer.__getitem__, reverse=True):
            if node == sink:
                continue
            best = unreachable
            for number in adj[node]:
                if number & 1 == 0 and cap[number] > 0:
                    other = to_sink[head[number]]
                    if other != unreachable and cost[number] + other < best:
                        best = cost[number] + other
            to_sink[node] = best
        return [-value for value in to_sink]

    def send(self, supply: dict[int, int], sink: int, potential: list[int]) -> None:
        """Route every unit of supply to the sink along successive shortest paths."""
        for source, amount in supply.items():
            left = amount
            while left > 0:
                parent = self._shortest_path(source, sink, potential)
                left -= self._augment(parent, source, sink, left)

    def _shortest_path(self, source: int, sink: int, potential: list[int]) -> dict[int, int]:
        """Dijkstra on reduced costs from `source`, stopped at the sink; returns parent arcs.

        Only the nodes it settled get new potentials, which keeps every reduced cost
        non-negative. Ties are broken last-in-first-out, so a search dives along tight arcs.
        """
        head, cap, cost, adj = self.head, self.cap, self.cost, self.adj
        heappush, heappop = heapq.heappush, heapq.heappop
        never = INFINITE**4
        distance: dict[int, int] = {source: 0}
        seen = distance.get
        parent: dict[int, int] = {}
        popped: list[int] = []
        heap: list[tuple[int, int, int]] = [(0, 0, source)]
        tick = 0
        bound = never
        while heap:
            here, _, node = heappop(heap)
            if here != distance[node]:
                continue
            if node == sink:
                break
            popped.append(node)
            base = here + potential[node]
            for number in adj[node]:
                if cap[number]:
                    other = head[number]
                    reached = base + cost[number] - potential[other]
                    if reached < bound and reached < seen(other, never):
                        distance[other] = reached
                        parent[other] = number
                        if other == sink:
                            bound = reached
                        tick -= 1
                        heappush(heap, (reached, tick, other))
        to_sink = distance[sink]
        for node in popped:
            potential[node] += distance[node] - to_sink
        return parent

    def _augment(self, parent: dict[int, int], source: int, sink: int, most: int) -> int:
        head, cap = self.head, self.cap
        flow = most
        node = sink
        while node != source:
            number = parent[node]
            flow = min(flow, cap[number])
            node = head[number ^ 1]
        node = sink
        while node != source:
            number = parent[node]
            cap[number] -= flow
            cap[number ^ 1] += flow
            node = head[number ^ 1]
        return flow

    def price(self, arc: int, cost: int) -> None:
        """Set a forward arc's cost per unit (its reverse's is the opposite)."""
        self.cost[arc] = cost
        self.cost[arc ^ 1] = -cost

    def flow(self, arc: int) -> int:
        """Units sent along a forward arc."""
        return self.cap[arc ^ 1]


# Sends each node's supply to the sink at least cost, leaving the flow in the network's arcs.
FlowSolver = Callable[[ResidualNetwork, dict[int, int], int], None]


def successive_shortest_paths(net: ResidualNetwork, supply: dict[int, int], sink: int) -> None:
    """Min-cost flow in pure Python: one Dijkstra per augmenting path, sources in `supply` order."""
    net.send(supply, sink, net.initial_potentials(sink))
