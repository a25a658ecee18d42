"""The dual search's neighbour cuts (:meth:`optimizer.network.Lagrangian.neighbours`): every one comes from a
genuine flow of the network, priced exactly, so the search still ends at the brute-force optimum."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Tier
from optimizer.model.build import candidate_pairs
from optimizer.network import SCALE, FlowNetwork, Lagrangian, relax
from optimizer.solve import solve
from tests.strategies import Generated, Reference, generated
from tests.test_oracle import assert_agrees, brute_force


def assert_flow(network: FlowNetwork, chosen: np.ndarray) -> None:
    """Each town exactly one lead, no unit above its capacity, each tier exactly its quota."""
    assert np.array_equal(np.bincount(network.pair_town[chosen], minlength=network.n_towns), np.ones(network.n_towns))
    units = network.pair_unit[chosen]
    assert (np.bincount(units, minlength=network.n_units) <= network.unit_capacity).all()
    assert np.array_equal(np.bincount(network.unit_tier[units], minlength=len(Tier)), network.tier_supply)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated(max_key=7, max_units=6), st.data())
def test_neighbours_are_flows_with_exact_cuts(g: Generated, data: st.DataObject) -> None:
    """At any multipliers: each neighbour is a flow, its cut is its plain value and slacks, and it is priced no
    higher than the optimum it was derived from (the bound L(μ))."""
    lagrangian = Lagrangian(g.scenario, candidate_pairs(g.scenario)[0])
    grid = np.array([data.draw(st.integers(-60 * SCALE if row.equal else 0, 60 * SCALE), label=row.key)
                     for row in lagrangian.rows], dtype=np.int64)
    point = lagrangian.evaluate(grid)
    if point is None:
        return
    reach = data.draw(st.sampled_from([0.0, SCALE, 1e18]), label="reach")
    for value, slack, flow in lagrangian.neighbours(point, reach):
        chosen = flow.mask()
        assert_flow(lagrangian.network, chosen)
        assert value == int(lagrangian.values[chosen].sum())
        assert np.array_equal(slack, lagrangian.slack(chosen))
        assert SCALE * value + int(grid @ slack) <= round(SCALE * point.bound)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated(max_key=6, max_units=5))
def test_search_with_neighbour_cuts_reaches_the_brute_force_optimum(g: Generated) -> None:
    """The bound stays above every plan, and the solve (which stops on the search's certificate) is optimal."""
    expected = brute_force(Reference(g.scenario))
    relaxation = relax(g.scenario, candidate_pairs(g.scenario)[0])
    if expected is not None:
        assert relaxation is not None and relaxation.bound >= expected - 1e-9
    assert_agrees(g, solve(g.scenario), expected)
