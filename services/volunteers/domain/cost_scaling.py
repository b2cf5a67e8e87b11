"""Min-cost flow by OR-Tools' `SimpleMinCostFlow` (cost scaling, in C++) on the same network.

OR-Tools is a pure computation library: no I/O, nothing kept between calls. The domain calls it
as it calls `heapq`, a named exception to "standard library and msgspec only"
(docs/volunteers.md#assignment).
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from services.volunteers.domain.flow import ResidualNetwork, successive_shortest_paths


class FlowNotSolvedError(Exception):
    """The solver found no optimal flow, though every slot can always leave its places open."""


def cost_scaling(net: ResidualNetwork, supply: dict[int, int], sink: int) -> None:
    """Min-cost flow by OR-Tools; falls back to successive shortest paths out of its range.

    OR-Tools multiplies costs by the number of nodes in 64 bits and refuses (`BAD_COST_RANGE`)
    a network whose largest cost would overflow; the pure-Python solver has no such limit.
    """
    forward = np.arange(0, len(net.head), 2)
    heads = np.asarray(net.head, dtype=np.int32)
    capacities = np.asarray(net.cap, dtype=np.int64)[forward]
    total = sum(supply.values())
    solver = SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        heads[forward + 1],
        heads[forward],
        np.minimum(capacities, total),
        np.asarray(net.cost, dtype=np.int64)[forward],
    )
    nodes = np.zeros(len(net.adj), dtype=np.int64)
    nodes[list(supply)] = list(supply.values())
    nodes[sink] -= total
    solver.set_nodes_supplies(np.arange(len(net.adj), dtype=np.int32), nodes)
    status = solver.solve()
    if status == SimpleMinCostFlow.BAD_COST_RANGE:
        successive_shortest_paths(net, supply, sink)
        return
    if status != SimpleMinCostFlow.OPTIMAL:
        raise FlowNotSolvedError(status.name)
    flows = np.asarray(solver.flows(np.arange(len(forward), dtype=np.int32)), dtype=np.int64)
    residual = np.empty(len(net.head), dtype=np.int64)
    residual[0::2] = capacities - flows
    residual[1::2] = flows
    net.cap = residual.tolist()
