"""The dense assignment form of the lead network (:mod:`optimizer.assignment`) and ortools' min-cost flow (over all
pairs and over pruned subsets) against networkx's network simplex: same feasibility and optimal cost, any costs."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.model.build import candidate_pairs
from optimizer.network import FlowNetwork
from tests.strategies import BASIC, Generated, generated


def simplex_cost(net: FlowNetwork, costs: np.ndarray, active: np.ndarray) -> int | None:
    """The network as networkx builds it from the arrays alone: tier → unit (capacity) → town (demand 1)."""
    g = nx.DiGraph()
    for tier, supply in enumerate(net.tier_supply):
        g.add_node(("tier", tier), demand=-int(supply))
    for town in range(net.n_towns):
        g.add_node(("town", town), demand=1)
    for unit, (tier, capacity) in enumerate(zip(net.unit_tier, net.unit_capacity, strict=True)):
        g.add_edge(("tier", int(tier)), ("unit", unit), capacity=int(capacity), weight=0)
    for i in np.flatnonzero(active):
        g.add_edge(("unit", int(net.pair_unit[i])), ("town", int(net.pair_town[i])), capacity=1, weight=int(costs[i]))
    try:
        return int(nx.network_simplex(g)[0])
    except nx.NetworkXUnfeasible:
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated(**BASIC), st.integers(0, 2**32 - 1))
def test_assignment_equals_min_cost_flow(g: Generated, seed: int) -> None:
    pairs, _ = candidate_pairs(g.scenario)
    dense, flow = FlowNetwork(g.scenario, pairs), FlowNetwork(g.scenario, pairs, dense=False)
    assert dense.engine == "assignment" and flow.engine == "min-cost flow"
    rng = np.random.default_rng(seed)
    active = rng.random(len(pairs)) < rng.choice([0.5, 1.0])
    everything = np.ones(len(pairs), dtype=bool)
    for _ in range(2):  # two cost vectors in turn, as the search re-solves one network
        costs = rng.integers(-10**7, 10**7, len(pairs))
        # all pairs, and a pruned subset (as Kelley's pruned search; the dense network solves it as a flow)
        for net, arcs in ((dense, everything), (dense, active), (flow, everything), (flow, active)):
            check(net, costs, arcs, simplex_cost(dense, costs, arcs))


def check(net: FlowNetwork, costs: np.ndarray, arcs: np.ndarray, expected: int | None) -> None:
    """``net``'s optimum over ``arcs`` is a valid flow of the expected cost (None: both infeasible)."""
    chosen = net.solve(costs, None if arcs.all() else arcs)
    assert (chosen is None) == (expected is None)
    if chosen is not None:
        assert not (chosen & ~arcs).any()
        assert np.bincount(net.pair_town[chosen], minlength=net.n_towns).tolist() == [1] * net.n_towns
        used = np.bincount(net.pair_unit[chosen], minlength=len(net.unit_capacity))
        assert (used <= net.unit_capacity).all()
        assert np.bincount(net.unit_tier[net.pair_unit[chosen]], minlength=3).tolist() == net.tier_supply.tolist()
        assert int(costs[chosen].sum()) == expected
