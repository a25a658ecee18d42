"""The CP-SAT optimum against two independent oracles: a networkx min-cost flow and brute force.

Both oracles read the scenario through :class:`tests.strategies.Reference` (plain dicts, no ``optimizer`` code)
and must agree with :func:`optimizer.solve.solve` on feasibility and on the optimal objective.
"""

from __future__ import annotations

import itertools

import networkx as nx
import pytest
from hypothesis import HealthCheck, event, given, settings

from models import Plan, SolveResult, Status
from optimizer.solve import solve
from tests.strategies import BASIC, Generated, Reference, generated

ORACLE_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pairs_of(plan: Plan) -> list[tuple[str, str]]:
    return [(a.town_id, a.unit_id) for a in plan.assignments]


def flow_optimum(ref: Reference) -> tuple[int, list[tuple[str, str]]] | None:
    """Best plan value by min-cost flow, with the plan, or ``None`` when no flow meets every demand.

    Tier node τ supplies exactly its quota q_τ (demand −q_τ) → unit of τ (capacity = unit capacity, cost 0) →
    key town (capacity 1, cost −value, eligible pairs only) with demand 1. A feasible integral flow is a plan
    with one lead per key town, exact tier quotas and no unit above capacity, and vice versa.
    """
    g = nx.DiGraph()
    for tier, quota in ref.tier_quotas.items():
        g.add_node(("tier", tier.value), demand=-quota)
    for town_id in ref.key_ids:
        g.add_node(("town", town_id), demand=1)
    for unit_id, unit in ref.units.items():
        g.add_edge(("tier", unit.tier.value), ("unit", unit_id), capacity=unit.capacity, weight=0)
        for town_id in ref.key_ids:
            if ref.eligible(unit_id, town_id):
                g.add_edge(("unit", unit_id), ("town", town_id), capacity=1, weight=-ref.value(unit_id, town_id))
    try:
        cost, flow = nx.network_simplex(g)
    except nx.NetworkXUnfeasible:
        return None
    plan = [(town[1], unit[1]) for unit, out in flow.items() if unit[0] == "unit"
            for town, units in out.items() if units == 1]
    return -cost, plan


def brute_force(ref: Reference) -> int | None:
    """Best plan value over every choice of one candidate unit per key town, ``None`` if no choice is valid."""
    towns = sorted(ref.key_ids)
    best: int | None = None
    for choice in itertools.product(*(ref.candidates(t) for t in towns)):
        pairs = list(zip(towns, choice, strict=True))
        if not ref.violations(pairs):
            value = ref.plan_value(pairs)
            best = value if best is None else max(best, value)
    return best


def assert_agrees(g: Generated, result: SolveResult, expected: int | None) -> None:
    """Same feasibility; when feasible, an optimal plan of the expected value that the reference accepts."""
    event("feasible" if expected is not None else "infeasible")
    if g.planted is not None:
        assert expected is not None, "the oracle rejects a scenario built around a valid plan"
    if expected is None:
        assert result.status is Status.INFEASIBLE, f"oracle: infeasible; solver: {result.status} {result.objective}"
        assert result.plan is None
        return
    assert result.status is Status.OPTIMAL, f"oracle optimum {expected}; solver: {result.status} {result.message}"
    assert result.plan is not None
    ref = Reference(g.scenario)
    pairs = pairs_of(result.plan)
    assert ref.violations(pairs) == set()
    assert ref.plan_value(pairs) == result.objective
    assert result.objective == expected


@pytest.mark.parametrize("method", ["auto", "cp-sat"])
@ORACLE_SETTINGS
@given(generated(**BASIC))
def test_optimum_equals_min_cost_flow(method: str, g: Generated) -> None:
    ref = Reference(g.scenario)
    found = flow_optimum(ref)
    if found is not None:  # the flow's own plan must be a valid plan of that value, or the oracle is wrong
        value, plan = found
        assert ref.violations(plan) == set()
        assert ref.plan_value(plan) == value
    assert_agrees(g, solve(g.scenario, method=method), None if found is None else found[0])


@pytest.mark.parametrize("method", ["auto", "cp-sat"])
@ORACLE_SETTINGS
@given(generated(max_key=6, max_units=5))
def test_optimum_equals_brute_force_with_every_rule(method: str, g: Generated) -> None:
    assert_agrees(g, solve(g.scenario, method=method), brute_force(Reference(g.scenario)))
