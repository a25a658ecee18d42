"""Side-row prices (``SolveResult.prices``) and warm starts (``solve(warm=WarmStart(...))``: prices to begin from,
plans of a similar scenario as cuts): a start changes where the Lagrangian search begins, never the optimum."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Scenario, SolveResult, Status, Tier, load_scenario
from optimizer.grid import apply
from optimizer.model.build import candidate_pairs
from optimizer.network import WarmStart, side_rows
from optimizer.solve import solve
from optimizer.sweep import base_start
from tests.strategies import Generated, Reference, generated
from tests.test_oracle import assert_agrees, brute_force

GUANGDONG = Path(__file__).resolve().parents[1] / "scenarios" / "guangdong-2021" / "scenario.yaml"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated(max_key=6, max_units=5), st.data())
def test_any_start_gives_the_brute_force_optimum(g: Generated, data: st.DataObject) -> None:
    """Starts anywhere (even far from the prices, or on rows the scenario does not have) reach the optimum."""
    keys = [row.key for row in side_rows(g.scenario, candidate_pairs(g.scenario)[0])] + ["tier_quota:nowhere:prd"]
    prices = {key: data.draw(st.floats(-500, 500, allow_nan=False), label=key)
              for key in keys if data.draw(st.booleans(), label=f"price {key}?")}
    assert_agrees(g, solve(g.scenario, warm=WarmStart(prices=prices)), brute_force(Reference(g.scenario)))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated(max_key=6, max_units=5), st.integers(0, 60), st.integers(-1, 1), st.sampled_from(list(Tier)))
def test_plans_of_another_scenario_as_cuts_keep_the_optimum(g: Generated, weight: int, add: int, tier: Tier) -> None:
    """The plans of a neighbour (other continuity weight, capacities) become cuts only where they are still flows
    here, priced with this scenario's values: the brute-force optimum stands."""
    neighbour = apply(g.scenario, {"policy.continuity_weight": weight, f"capacity_add.{tier.value}": add})
    warm = base_start(neighbour)
    assert_agrees(g, solve(g.scenario, warm=warm), brute_force(Reference(g.scenario)))


@pytest.fixture(scope="module")
def guangdong() -> tuple[Scenario, SolveResult]:
    scenario = load_scenario(GUANGDONG)
    return scenario, solve(scenario, groups=False)


def test_guangdong_prices_name_each_side_row(guangdong: tuple[Scenario, SolveResult]) -> None:
    scenario, result = guangdong
    assert result.status is Status.OPTIMAL
    quotas = {f"tier_quota:{city}:{tier.value}" for city, per_tier in scenario.policy.city_quotas.items()
              for tier in per_tier}
    # 湛江市's quotas name every tier and add up to its 56 key towns: coverage implies its last row, unpriced
    assert set(result.prices) == (quotas - {"tier_quota:湛江市:local"}) | {"continuity"}
    assert result.prices["continuity"] == 0.0  # the change cap does not bind: 20 % may change, fewer need to


def test_a_variant_started_from_the_base_has_the_same_optimum(guangdong: tuple[Scenario, SolveResult]) -> None:
    scenario, result = guangdong
    variant = apply(scenario, {"capacity_add.prd": 1, "policy.max_changes": 0.1, "policy.continuity_weight": 25})
    cold, warm = solve(variant, groups=False), solve(variant, groups=False, warm=base_start(scenario))
    assert cold.status is warm.status is Status.OPTIMAL
    assert warm.objective == cold.objective
