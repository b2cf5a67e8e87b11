"""Both min-cost-flow solvers on hand-made networks: costs beyond OR-Tools' 64-bit range."""

from __future__ import annotations

from services.volunteers.domain.cost_scaling import cost_scaling
from services.volunteers.domain.flow import FlowSolver, ResidualNetwork, successive_shortest_paths


def two_routes(cost: int) -> tuple[ResidualNetwork, list[int], int, int]:
    """A source with two places, two routes to the sink, the second one unit dearer."""
    net = ResidualNetwork()
    sink = net.node(2)
    source = net.node(0)
    routes = []
    for extra in (1, 0):
        middle = net.node(1)
        net.arc(source, middle, 1, cost + extra)
        routes.append(net.arc(middle, sink, 2))
    return net, routes, source, sink


def routed(send: FlowSolver, cost: int) -> list[int]:
    net, routes, source, sink = two_routes(cost)
    net.arc(source, sink, 1, 3 * cost)  # the dearest: taken only when both routes are full
    send(net, {source: 2}, sink)
    return [net.flow(arc) for arc in routes]


def test_or_tools_routes_each_unit_along_the_cheapest_free_route() -> None:
    assert routed(cost_scaling, 10) == [1, 1]


def test_a_network_beyond_or_tools_range_is_solved_by_shortest_paths() -> None:
    # OR-Tools refuses costs that would overflow 64 bits once scaled by the number of nodes.
    huge = 1 << 61
    assert routed(cost_scaling, huge) == routed(successive_shortest_paths, huge) == [1, 1]


def test_the_cheaper_route_is_filled_first() -> None:
    for send in (cost_scaling, successive_shortest_paths):
        net, routes, source, sink = two_routes(5)
        send(net, {source: 1}, sink)
        assert [net.flow(arc) for arc in routes] == [0, 1]
