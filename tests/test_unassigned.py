"""Overconstrained mode (``policy.allow_unassigned``): the best partial plan, against independent oracles.

The oracles read the scenario through :class:`tests.strategies.Reference` and implement the mode from the README:
at most one lead per key town, each unassigned town costs the penalty, every quota is met by its leads plus one
vacancy of some tier per unassigned town of that city (found by enumerating the vacancies' tiers), every other
rule as without the mode.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from models import Category, Pin, PinAction, Plan, Rule, Scenario, Status, Tier, load_scenario
from models.penalty import automatic_penalty, unassigned_penalty
from optimizer.audit import audit, plan_value
from optimizer.cli import PARTIAL, app
from optimizer.shortfall import shortfall
from optimizer.solve import solve
from tests.strategies import BASIC, TIERS, Generated, Reference, generated
from tests.test_oracle import brute_force

ORACLE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"
runner = CliRunner()


def partial(scenario: Scenario, penalty: int | None = None) -> Scenario:
    policy = scenario.policy.model_copy(update={"allow_unassigned": True, "unassigned_penalty": penalty})
    return scenario.model_copy(update={"policy": policy})


def quotas_met_with_vacancies(ref: Reference, pairs: Sequence[tuple[str, str]], left: Sequence[str]) -> bool:
    """Some tier per unassigned town makes every tier and city quota exact (leads + vacancies)."""
    leads = Counter((ref.units[u].tier, ref.towns[t].city) for t, u in pairs)
    for tiers in itertools.product(TIERS, repeat=len(left)):
        count = leads + Counter((tier, ref.towns[t].city) for t, tier in zip(left, tiers, strict=True))
        per_tier: Counter[Tier] = Counter()
        for (tier, _), n in count.items():
            per_tier[tier] += n
        if any(per_tier[tier] != q for tier, q in ref.tier_quotas.items()):
            continue
        if all(count[(tier, city)] == q for city, qs in ref.policy.city_quotas.items() for tier, q in qs.items()):
            return True
    return False


def partial_valid(ref: Reference, pairs: Sequence[tuple[str, str]]) -> bool:
    """The mode's rules on a list of ``(town_id, unit_id)`` leads (at most one per key town, none elsewhere)."""
    led = Counter(t for t, _ in pairs)
    if any(n > 1 for n in led.values()) or set(led) - ref.key_ids:
        return False
    if ref.violations(pairs) - {Rule.COVERAGE, Rule.TIER_QUOTA}:
        return False
    return quotas_met_with_vacancies(ref, pairs, sorted(ref.key_ids - set(led)))


def brute_force_partial(ref: Reference, penalty: int) -> tuple[int, int] | None:
    """(best objective, fewest unassigned towns among the best plans) over every choice of a candidate or none;
    None when no choice is valid (a change cap, or city quotas above the city's towns)."""
    towns = sorted(ref.key_ids)
    best: tuple[int, int] | None = None
    for choice in itertools.product(*([*ref.candidates(t), None] for t in towns)):
        pairs = [(t, u) for t, u in zip(towns, choice, strict=True) if u is not None]
        left = len(towns) - len(pairs)
        if best is not None and ref.plan_value(pairs) - penalty * left < best[0]:
            continue  # cannot beat the best: skip the rule checks
        if partial_valid(ref, pairs):
            key = (ref.plan_value(pairs) - penalty * left, -left)
            best = key if best is None else max(best, key)
    return None if best is None else (best[0], -best[1])


def flow_partial(ref: Reference, penalty: int) -> int:
    """Best objective by min-cost flow: tier (supply = quota) → unit (capacity) → town, and tier → town at the
    penalty (the town left unassigned, counting as a vacancy of that tier)."""
    g = nx.DiGraph()
    for tier, quota in ref.tier_quotas.items():
        g.add_node(("tier", tier.value), demand=-quota)
    for town_id in ref.key_ids:
        g.add_node(("town", town_id), demand=1)
        for tier in ref.tier_quotas:
            g.add_edge(("tier", tier.value), ("town", town_id), capacity=1, weight=penalty)
    for unit_id, unit in ref.units.items():
        g.add_edge(("tier", unit.tier.value), ("unit", unit_id), capacity=unit.capacity, weight=0)
        for town_id in ref.key_ids:
            if ref.eligible(unit_id, town_id):
                g.add_edge(("unit", unit_id), ("town", town_id), capacity=1, weight=-ref.value(unit_id, town_id))
    cost, _ = nx.network_simplex(g)
    return int(-cost)


def checked(scenario: Scenario, ref: Reference, method: str = "auto") -> tuple[int, int, Plan]:
    """Solve in the mode; the plan passes the audit and the oracle's rules; (objective, unassigned towns, plan)."""
    result = solve(scenario, method=method)  # type: ignore[arg-type]
    assert result.status is Status.OPTIMAL, (result.status, result.message)
    assert result.plan is not None and result.objective is not None
    pairs = [(a.town_id, a.unit_id) for a in result.plan.assignments]
    assert partial_valid(ref, pairs)
    assert audit(scenario, result.plan).violations == ()
    left = len(ref.key_ids) - len(pairs)
    assert result.objective == ref.plan_value(pairs) - unassigned_penalty(scenario) * left  # penalty in the objective
    assert plan_value(scenario, result.plan) == result.objective
    return result.objective, left, result.plan


penalties = st.one_of(st.none(), st.integers(1, 60))
"""Automatic, or small enough that leaving a town out can pay (scores reach 50, continuity 30)."""


@ORACLE
@given(generated(**BASIC), penalties, st.sampled_from(["auto", "cp-sat"]))
def test_optimum_equals_min_cost_flow(g: Generated, penalty: int | None, method: str) -> None:
    scenario = partial(g.scenario, penalty)
    ref = Reference(scenario)
    objective, left, _ = checked(scenario, ref, method)
    event(f"unassigned: {min(left, 2)}+")
    assert objective == flow_partial(ref, unassigned_penalty(scenario))


@settings(ORACLE, max_examples=30)
@given(generated(max_key=5, max_units=4), penalties)
def test_optimum_equals_brute_force_with_every_rule(g: Generated, penalty: int | None) -> None:
    scenario = partial(g.scenario, penalty)
    ref = Reference(scenario)
    expected = brute_force_partial(ref, unassigned_penalty(scenario))
    event("no plan" if expected is None else "plan")
    if expected is None:
        assert solve(scenario).status is Status.INFEASIBLE
        return
    objective, left, _ = checked(scenario, ref)
    best, fewest = expected
    assert objective == best
    strict = brute_force(Reference(g.scenario))
    if penalty is None:  # automatic: nobody is left out when a complete plan exists, and the optimum is the same
        assert left == (0 if strict is not None else fewest)
        if strict is not None:
            assert objective == strict


@settings(ORACLE, max_examples=25)
@given(generated(planted=True, **BASIC), st.integers(1, 3))
def test_prd_short_by_k_leaves_exactly_k_towns_unassigned(g: Generated, k: int) -> None:
    """Every PRD unit's capacity cut to its planted load, k planted PRD leads removed: the PRD tier can lead
    k towns fewer than its quota, and the best partial plan leaves exactly k towns out."""
    assert g.planted is not None
    tier = {u.unit_id: u.tier for u in g.scenario.units}
    prd = [(a.town_id, a.unit_id) for a in g.planted.assignments if tier[a.unit_id] is Tier.PRD]
    assume(prd)
    k = min(k, len(prd))
    event(f"k = {k}")
    load = Counter(u for _, u in prd[k:])
    units = tuple(u.model_copy(update={"capacity": load[u.unit_id]}) if u.tier is Tier.PRD else u
                  for u in g.scenario.units)
    short = g.scenario.model_copy(update={"units": units})
    assert solve(short).status is Status.INFEASIBLE
    scenario = partial(short)
    ref = Reference(scenario)
    objective, left, plan = checked(scenario, ref)
    assert left == k
    assert objective == flow_partial(ref, unassigned_penalty(scenario))
    towns = shortfall(scenario, plan)
    assert len(towns.towns) == k and towns.total_penalty == k * unassigned_penalty(scenario)
    assert [(q.tier, q.short) for q in towns.quotas] == [("prd", k)]
    assert {t.rule for t in towns.towns} <= {Rule.CAPACITY.value, Rule.TIER_QUOTA.value}


@settings(ORACLE, max_examples=100)
@given(generated(max_key=6), st.data())
def test_audit_accepts_exactly_the_valid_partial_plans(g: Generated, data: st.DataObject) -> None:
    """Random partial plans (a candidate, any unit or none per key town): the audit in the mode passes exactly
    those the oracle accepts, and without the mode only complete valid ones."""
    scenario = partial(g.scenario)
    ref = Reference(scenario)
    units = sorted(ref.units)
    pairs = []
    for town in sorted(ref.key_ids):
        pick = data.draw(st.one_of(st.none(), st.sampled_from(units), st.sampled_from(ref.candidates(town) or units)))
        if pick is not None:
            pairs.append((town, pick))
    plan = Plan.from_pairs(pairs)
    valid = partial_valid(ref, pairs)
    event("valid" if valid else "invalid")
    assert audit(scenario, plan).passed == valid
    assert audit(g.scenario, plan).passed == (valid and len(pairs) == len(ref.key_ids))


def test_automatic_penalty_outweighs_any_difference_in_value() -> None:
    """The bound of models.penalty on the tiny scenario (scores, previous leads, distances), checked by hand."""
    scenario = load_scenario(TINY)
    assert automatic_penalty(scenario) == unassigned_penalty(partial(scenario)) > 0
    assert unassigned_penalty(partial(scenario, 7)) == 7
    spread = 0
    for t in scenario.key_towns:  # any unit, eligible or not: the bound holds for every pair
        values = [plan_value(scenario, Plan.from_pairs([(t.town_id, u.unit_id)])) for u in scenario.units]
        spread += max(max(values), 0) - min(min(values), 0)
    assert automatic_penalty(scenario) > spread


def test_complete_plan_when_one_exists_and_the_same_optimum() -> None:
    scenario = load_scenario(TINY)
    strict, mode = solve(scenario), solve(partial(scenario))
    assert mode.plan is not None and len(mode.plan) == len(scenario.key_towns)
    assert mode.objective == strict.objective


def test_city_quota_short_without_an_unassigned_town_is_a_violation() -> None:
    scenario = load_scenario(TINY)
    plan = solve(scenario).plan
    assert plan is not None
    tier = {u.unit_id: u.tier for u in scenario.units}
    city = {t.town_id: t.city for t in scenario.towns}
    count = Counter((tier[a.unit_id], city[a.town_id]) for a in plan.assignments)
    heyuan_prd = count[(Tier.PRD, "河源市")]
    higher = {"河源市": {Tier.PRD: heyuan_prd + 1}}
    tight = partial(scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"city_quotas": higher})}))
    report = audit(tight, plan)  # complete, so no vacancy can make up the 河源 shortfall
    assert report.rules_broken() == {Rule.TIER_QUOTA}
    assert "quota shortfalls must be unassigned towns" in report.violations[0].message
    dropped = next(a for a in plan.assignments if tier[a.unit_id] is Tier.PRD and city[a.town_id] == "梅州市")
    elsewhere = Plan(assignments=tuple(a for a in plan.assignments if a != dropped))
    assert not audit(tight, elsewhere).passed  # the town left out is in 梅州, the shortfall in 河源
    exact = partial(scenario.model_copy(update={"policy": scenario.policy.model_copy(
        update={"city_quotas": {"河源市": {Tier.PRD: heyuan_prd}}})}))
    assert audit(exact, elsewhere).passed  # the 梅州 vacancy is the prd tier's shortfall


def test_pin_on_an_ineligible_pair_leaves_its_town_unassigned() -> None:
    scenario = load_scenario(TINY)
    pin = Pin(unit_id="gz-panyu", town_id="441624116000", action=PinAction.PIN)  # 广州 unit, 河源 town
    pinned = partial(scenario.model_copy(update={"pins": (*scenario.pins, pin)}))
    assert solve(pinned.model_copy(update={"policy": scenario.policy})).status is Status.INFEASIBLE
    result = solve(pinned)
    assert result.plan is not None and "441624116000" not in result.plan.lead_of()
    assert len(result.plan) == len(scenario.key_towns) - 1
    assert audit(pinned, result.plan).passed
    (town,) = shortfall(pinned, result.plan).towns
    assert (town.town_id, town.rule) == ("441624116000", "pins")


def test_cli_writes_the_shortfall_and_exits_partial(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    for f in TINY.parent.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    units = folder / "units.csv"
    text = units.read_text(encoding="utf-8")
    units.write_text(text.replace("gz-panyu,广州市番禺区,prd,广州市,2", "gz-panyu,广州市番禺区,prd,广州市,0"), encoding="utf-8")
    out = tmp_path / "out"
    scenario = str(folder / "scenario.yaml")
    assert runner.invoke(app, ["solve", scenario, "--out", str(out)]).exit_code == 1  # no complete plan
    run = runner.invoke(app, ["solve", scenario, "--out", str(out), "--allow-unassigned"])
    assert run.exit_code == PARTIAL, run.output
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = (out / "shortfall.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "town_id,town_name,city,county,rule,reason,penalty" and len(rows) == 2
    town_name = rows[1].split(",")[1]  # which PRD town goes without is a tie: the output names the one chosen
    assert "partial plan" in run.output and town_name in run.output and town_name in {"茶阳镇", "高陂镇"}
    assert data["shortfall"]["unassigned"] == 1 and data["shortfall"]["quotas"][0]["tier"] == "prd"
    assert data["audit"]["passed"] and data["audit"]["objective"] == data["objective"]
    plan = str(out / "plan.csv")
    assert runner.invoke(app, ["audit", scenario, plan]).exit_code == 1  # the mode is the scenario's, not the plan's
    assert runner.invoke(app, ["audit", scenario, plan, "--allow-unassigned"]).exit_code == 0
    complete = runner.invoke(app, ["solve", str(TINY), "--out", str(out), "--allow-unassigned", "--quiet"])
    assert complete.exit_code == 0
    assert (out / "shortfall.csv").read_text(encoding="utf-8").splitlines() == rows[:1]


def test_key_towns_only() -> None:
    """Consolidation and pilot towns never appear in the shortfall: they get no lead anyway."""
    scenario = partial(load_scenario(TINY))
    other = {t.town_id for t in scenario.towns if t.category is not Category.KEY}
    assert not other & {t.town_id for t in shortfall(scenario, Plan()).towns}
    assert len(shortfall(scenario, Plan()).towns) == len(scenario.key_towns)


def test_a_small_penalty_trades_towns_away_and_says_so() -> None:
    """With unassigned_penalty 10, towns whose best lead is worth less than −10 (distance) are left out: rule
    penalty, with the (negative) gain of leading them; a town the plan then drops for no reason is improvable."""
    scenario = partial(load_scenario(TINY), penalty=10)
    result = solve(scenario)
    assert result.plan is not None
    towns = shortfall(scenario, result.plan).towns
    traded = [t for t in towns if t.rule == "penalty"]
    assert traded and all(t.figures["gain"] == t.figures["best_value"] + 10 <= 0 for t in traded)
    dropped = result.plan.assignments[0]
    worse = Plan(assignments=result.plan.assignments[1:])
    reasons = {t.town_id: t for t in shortfall(scenario, worse).towns}
    assert reasons[dropped.town_id].rule == "improvable" and reasons[dropped.town_id].figures["gain"] > 0
