"""Explanations of a plan (optimizer.explain): per-town contributions, reasons, binding rules, alternatives."""

from __future__ import annotations

import doctest
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import optimizer.explain
from models import Pin, PinAction, Plan, Rule, Scenario, SolveResult, Status, load_scenario
from optimizer import audit, plan_value, solve
from optimizer.cli import app
from optimizer.explain import Explanation, TownExplanation, explain
from optimizer.terms import TERMS
from tests.strategies import Reference

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "scenario.yaml"
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"
CHAYANG = "441422101000"  # 茶阳镇: border town, previous lead mz-propaganda has strength 2 < 3
HUACHENG, ZHANGXI, MEILIN, ANLIU = "441424104000", "441625200000", "441424125000", "441424120000"


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario(TINY)


@pytest.fixture(scope="module")
def tiny_result(tiny: Scenario) -> SolveResult:
    return solve(tiny)


@pytest.fixture(scope="module")
def guangdong() -> Scenario:
    return load_scenario(GUANGDONG)


@pytest.fixture(scope="module")
def guangdong_result(guangdong: Scenario) -> SolveResult:
    return solve(guangdong)


def plan_of(result: SolveResult) -> Plan:
    assert result.plan is not None, result.message
    return result.plan


def town_of(explanation: Explanation, town_id: str) -> TownExplanation:
    return next(t for t in explanation.towns if t.town_id == town_id)


def assert_adds_up(scenario: Scenario, result: SolveResult, explanation: Explanation) -> None:
    assert result.plan is not None
    assert sum(t.value for t in explanation.towns) == explanation.objective == result.objective
    assert explanation.objective == plan_value(scenario, result.plan)
    for term in TERMS:
        assert sum(t.terms[term] for t in explanation.towns) == explanation.terms[term]
    assert all(sum(t.terms.values()) == t.value for t in explanation.towns)
    assert len(explanation.towns) == len(scenario.key_towns)


def test_contributions_add_up_on_tiny(tiny: Scenario, tiny_result: SolveResult) -> None:
    assert_adds_up(tiny, tiny_result, explain(tiny, plan_of(tiny_result)))


def test_contributions_add_up_on_guangdong(guangdong: Scenario, guangdong_result: SolveResult) -> None:
    explanation = explain(guangdong, plan_of(guangdong_result))
    assert_adds_up(guangdong, guangdong_result, explanation)
    binding = explanation.binding
    assert [(q.tier, q.count, q.quota) for q in binding.tier_quotas] == [
        ("prd", 300, 300), ("provincial", 120, 120), ("local", 180, 180)]
    assert binding.city_quotas and all(q.met for q in binding.city_quotas)
    load = Counter(a.unit_id for a in plan_of(guangdong_result).assignments)
    assert {u.unit_id for u in binding.full_units} == {
        u.unit_id for u in guangdong.units if u.capacity > 0 and load[u.unit_id] == u.capacity}
    (cap,) = binding.caps
    assert cap.rule is Rule.CONTINUITY and cap.allowed == 48 and cap.changed <= 48


def test_previous_lead_removed_by_priority(tiny: Scenario, tiny_result: SolveResult) -> None:
    previous = town_of(explain(tiny, plan_of(tiny_result)), CHAYANG).previous
    assert previous is not None and previous.unit_id == "mz-propaganda" and not previous.kept
    assert previous.kind == "priority" and previous.rules == (Rule.PRIORITY,)
    assert "strength ≥ 3" in previous.message and "has 2" in previous.message and "border" in previous.message


def test_kept_previous_leads(tiny: Scenario, tiny_result: SolveResult) -> None:
    explanation = explain(tiny, plan_of(tiny_result))
    kept = {t.town_id for t in explanation.towns if t.previous is not None and t.previous.kept}
    assert kept == {"441623111000", MEILIN, HUACHENG}
    assert all(t.previous.kind == "kept" for t in explanation.towns if t.town_id in kept)  # type: ignore[union-attr]
    assert all(t.terms["continuity"] == 50 for t in explanation.towns if t.town_id in kept)


def edited(result: SolveResult, **leads: str) -> Plan:
    assert result.plan is not None
    return Plan.from_pairs(result.plan.lead_of() | {k.removeprefix("t"): v for k, v in leads.items()})


@pytest.mark.parametrize(("leads", "town", "kind", "rule"), [
    # the previous unit of 华城镇 now leads 漳溪畲族乡, and has capacity 1
    ({f"t{HUACHENG}": "prov-sysu", f"t{ZHANGXI}": "prov-stats"}, HUACHENG, "capacity", Rule.CAPACITY),
    # 梅林镇 goes to a local unit, a prd unit takes a local town: giving it back breaks the tier counts
    ({f"t{MEILIN}": "mz-propaganda", f"t{ANLIU}": "gz-office"}, MEILIN, "tier_quota", Rule.TIER_QUOTA),
    # 华城镇 moves within its tier to a worse unit while its previous lead sits idle: not optimal
    ({f"t{HUACHENG}": "prov-sysu"}, HUACHENG, "improvable", None),
])
def test_reasons_on_edited_plans(tiny: Scenario, tiny_result: SolveResult, leads: dict[str, str], town: str,
                                 kind: str, rule: Rule | None) -> None:
    plan = edited(tiny_result, **leads)
    assert audit(tiny, plan).passed  # every edited plan obeys the rules: only the reason differs
    previous = town_of(explain(tiny, plan), town).previous
    assert previous is not None and not previous.kept and previous.kind == kind
    assert previous.rules == ((rule,) if rule else ())
    if kind == "capacity":
        assert previous.towns == (ZHANGXI,) and previous.figures == {"leads": 1, "capacity": 1}
        assert "漳溪畲族乡" in previous.message and "1/1" in previous.message
    if kind == "improvable":
        assert previous.figures["gain"] == -50


def test_tradeoff(tiny_dir: Path, editor: Callable[[Path, str, str], None]) -> None:
    editor(tiny_dir / "scores.csv", "prov-sysu,441625200000,30", f"prov-sysu,441625200000,30\nprov-sysu,{HUACHENG},100")
    scenario = load_scenario(tiny_dir / "scenario.yaml")
    result = solve(scenario)
    assert result.plan is not None and result.plan.lead_of()[HUACHENG] == "prov-sysu"
    previous = town_of(explain(scenario, result.plan), HUACHENG).previous
    assert previous is not None and previous.kind == "tradeoff" and previous.rules == ()
    assert previous.figures == {"value": 87, "earlier_value": 37, "gain": 50}
    assert "50 higher" in previous.message


@pytest.mark.parametrize(("previous", "pin", "kind", "rule"), [
    ("sz-futian", None, "ban", Rule.PINS),                   # pins.csv bans sz-futian → 林寨镇
    ("gz-office", None, "ineligible", Rule.ELIGIBILITY),     # 河源 is not a counterpart city of 广州
    ("hy-office", "prov-sysu", "pin", Rule.PINS),            # a planner pins 林寨镇 to 中山大学
])
def test_not_a_candidate(tiny_dir: Path, editor: Callable[[Path, str, str], None], previous: str, pin: str | None,
                         kind: str, rule: Rule) -> None:
    linzhai = "441624116000"
    editor(tiny_dir / "relationships.csv", "prov-stats,", f"{previous},{linzhai},,previous_lead,test\nprov-stats,")
    if pin:
        editor(tiny_dir / "pins.csv", "sz-futian,", f"{pin},{linzhai},pin,test\nsz-futian,")
    scenario = load_scenario(tiny_dir / "scenario.yaml")
    result = solve(scenario)
    assert result.plan is not None
    reason = town_of(explain(scenario, result.plan), linzhai).previous
    assert reason is not None and reason.kind == kind and reason.rules == (rule,) and not reason.kept


def test_other_cap_blocks_the_way_back(tiny: Scenario, tiny_result: SolveResult) -> None:
    """Re-planning a plan that moved 华城镇 off its previous lead, with no baseline change allowed: the way back
    is closed by the baseline cap, not by the continuity rule."""
    baseline = edited(tiny_result, **{f"t{HUACHENG}": "prov-sysu"})
    scenario = tiny.with_baseline(baseline)
    scenario = scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"max_baseline_changes": 0})})
    plan = plan_of(solve(scenario))
    assert plan == baseline
    town = town_of(explain(scenario, plan), HUACHENG)
    previous, kept = town.earlier
    assert (previous.rule, previous.kind, previous.rules) == (Rule.CONTINUITY, "cap", (Rule.BASELINE,))
    assert previous.figures == {"changed": 0, "allowed": 0} and "max_baseline_changes allows 0" in previous.message
    assert (kept.rule, kept.kind) == (Rule.BASELINE, "kept") and town.terms["baseline"] == 1000


def test_binding_rules(tiny: Scenario, tiny_result: SolveResult) -> None:
    assert tiny_result.plan is not None
    binding = explain(tiny, plan_of(tiny_result)).binding
    load = Counter(a.unit_id for a in tiny_result.plan.assignments)
    full = [u.unit_id for u in tiny.units if load[u.unit_id] == u.capacity]
    assert sorted(u.unit_id for u in binding.full_units) == sorted(full)
    assert {u.unit_id: u.label for u in binding.full_units}["sz-nanshan"] == "2/2"
    lead = tiny_result.plan.lead_of()
    for use in binding.full_units:
        assert set(use.towns) == {t for t, u in lead.items() if u == use.unit_id}
    assert "gz-office" not in {u.unit_id for u in binding.full_units}  # idle, capacity 1
    assert [(q.tier, q.count, q.quota, q.met) for q in binding.tier_quotas] == [
        ("prd", 5, 5, True), ("provincial", 2, 2, True), ("local", 3, 3, True)]
    (cap,) = binding.caps
    assert (cap.rule, cap.earlier, cap.changed, cap.forced, cap.allowed, cap.binding) == (
        Rule.CONTINUITY, 4, 1, 1, 2, False)


def test_binding_continuity_cap(tiny_dir: Path, editor: Callable[[Path, str, str], None]) -> None:
    editor(tiny_dir / "scenario.yaml", "max_changes: 2", "max_changes: 1")
    scenario = load_scenario(tiny_dir / "scenario.yaml")
    result = solve(scenario)
    assert result.plan is not None
    (cap,) = explain(scenario, result.plan).binding.caps
    assert (cap.changed, cap.allowed, cap.binding) == (1, 1, True)


def valid_plans(scenario: Scenario) -> list[tuple[dict[str, str], int]]:
    """Every plan of a small scenario that obeys every rule, with its value: depth-first over the towns with
    capacity and tier counts pruned on the way, the rest checked on each full plan by the reference rules
    (tests.strategies.Reference, no optimizer code); values pair by pair by the audit's plan_value."""
    ref = Reference(scenario)
    bans = {(p.unit_id, p.town_id) for p in scenario.pins if p.action is PinAction.BAN}
    pins = {p.town_id: p.unit_id for p in scenario.pins if p.action is PinAction.PIN}
    towns = sorted(ref.key_ids)
    options = {t: [u for u in ref.candidates(t) if (u, t) not in bans and pins.get(t, u) == u] for t in towns}
    value = {(u, t): plan_value(scenario, Plan.from_pairs([(t, u)])) for t in towns for u in options[t]}
    plans: list[tuple[dict[str, str], int]] = []
    load: Counter[str] = Counter()
    tiers: Counter[object] = Counter()
    choice: dict[str, str] = {}

    def extend(i: int) -> None:
        if i == len(towns):
            if not ref.violations(list(choice.items())):
                plans.append((dict(choice), sum(value[(u, t)] for t, u in choice.items())))
            return
        town = towns[i]
        for u in options[town]:
            unit = ref.units[u]
            if load[u] < unit.capacity and tiers[unit.tier] < ref.tier_quotas[unit.tier]:
                load[u] += 1
                tiers[unit.tier] += 1
                choice[town] = u
                extend(i + 1)
                load[u] -= 1
                tiers[unit.tier] -= 1
                del choice[town]

    extend(0)
    return plans


def test_alternatives_match_brute_force(tiny: Scenario, tiny_result: SolveResult) -> None:
    """Every alternative of every tiny town: cost ≤ 0, the brute-force optimum with the pin, infeasible exactly
    when no valid plan has that choice, and the fewest other towns moved among those optima."""
    assert tiny_result.plan is not None
    plans = valid_plans(tiny)
    best = max(v for _, v in plans)
    assert best == tiny_result.objective
    lead = tiny_result.plan.lead_of()
    infeasible = 0
    for town in sorted(lead):
        explanation = explain(tiny, tiny_result.plan, town=town, top=99)
        assert [t.town_id for t in explanation.towns] == [town]
        options = {u for u in Reference(tiny).candidates(town) if u != lead[town]
                   and (u, town) not in {(p.unit_id, p.town_id) for p in tiny.pins}}
        assert {a.unit_id for a in explanation.alternatives} == options
        for alt in explanation.alternatives:
            with_pin = [(p, v) for p, v in plans if p[town] == alt.unit_id]
            if not with_pin:
                infeasible += 1
                assert alt.status is Status.INFEASIBLE and alt.objective is None and alt.delta is None
                assert alt.rules and alt.message
                continue
            top = max(v for _, v in with_pin)
            fewest = min(sum(p[t] != lead[t] for t in p if t != town) for p, v in with_pin if v == top)
            assert alt.status is Status.OPTIMAL
            assert alt.objective == top and alt.delta == top - tiny_result.objective <= 0
            assert alt.minimal_moves and len(alt.moved) == fewest
    assert infeasible > 0  # the continuity cap rules some choices out


def test_infeasible_alternative_names_the_cap(tiny: Scenario, tiny_result: SolveResult) -> None:
    assert tiny_result.plan is not None
    (alt,) = explain(tiny, tiny_result.plan, town=MEILIN, units=["prov-stats"]).alternatives
    assert alt.status is Status.INFEASIBLE and alt.rules == (Rule.CONTINUITY,)
    assert "at least 3 previous leads" in alt.message and "max_changes allows 2" in alt.message


def test_alternatives_on_guangdong(guangdong: Scenario, guangdong_result: SolveResult) -> None:
    assert guangdong_result.plan is not None
    previous = {r.town_id for r in guangdong.relationships if r.town_id}
    town = next(t.town_id for t in guangdong.key_towns if t.town_id in previous)
    explanation = explain(guangdong, guangdong_result.plan, town=town, top=2)
    assert len(explanation.alternatives) == 2
    first = explanation.alternatives[0]
    for alt in explanation.alternatives:
        assert alt.status is Status.OPTIMAL and alt.delta is not None and alt.delta <= 0
        assert alt.minimal_moves and alt.seconds < 20
    # the same cost from a plain re-solve with the pin (no lexicographic second key)
    data = guangdong.model_dump()
    pinned = Scenario.model_validate(data | {"pins": [*data["pins"], Pin(unit_id=first.unit_id, town_id=town,
                                                                         action=PinAction.PIN).model_dump()]})
    assert solve(pinned).objective == first.objective


def test_unknown_town(tiny: Scenario, tiny_result: SolveResult) -> None:
    assert tiny_result.plan is not None
    with pytest.raises(ValueError, match="unknown town"):
        explain(tiny, tiny_result.plan, town="nope")
    with pytest.raises(ValueError, match="not a key town"):
        explain(tiny, tiny_result.plan, town="441424100000")


def test_docstring_example() -> None:
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(optimizer.explain.explain, "explain", globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_cli_json_and_text(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(TINY), "--out", str(out), "--quiet"]).exit_code == 0
    plan = str(out / "plan.csv")
    result = runner.invoke(app, ["explain", str(TINY), plan, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["objective"] == sum(t["value"] for t in data["towns"]) and len(data["towns"]) == 10
    assert Explanation.model_validate(data).objective == data["objective"]
    result = runner.invoke(app, ["explain", str(TINY), plan, "--town", CHAYANG, "--top", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["town"] == CHAYANG and len(data["alternatives"]) == 2
    assert all(a["delta"] <= 0 for a in data["alternatives"])
    text = runner.invoke(app, ["explain", str(TINY), plan, "--town", CHAYANG])
    assert text.exit_code == 0 and "priority" in text.output and "Alternatives" in text.output
    assert runner.invoke(app, ["explain", str(TINY), plan, "--town", "nope"]).exit_code == 2
    assert runner.invoke(app, ["explain", str(TINY), plan, "--unit", "gz-office"]).exit_code == 2


def previous_reason(explanation: Explanation, town_id: str) -> str:
    previous = town_of(explanation, town_id).previous
    assert previous is not None
    return previous.kind


def test_lead_count_blocks_the_way_back(tiny: Scenario) -> None:
    """广东省统计局, 华城镇's previous lead, must lead no town (``lead_counts``): the way back is closed by the count,
    not a trade-off, and the binding rules show the count met."""
    scenario = tiny.model_copy(update={"policy": tiny.policy.model_copy(update={"lead_counts": {"prov-stats": 0}})})
    optimal = solve(scenario)  # 华城镇 goes to a prd unit: the tier counts alone would block the way back
    assert previous_reason(explain(scenario, plan_of(optimal)), HUACHENG) == "tier_quota"
    plan = edited(optimal, **{f"t{HUACHENG}": "prov-sysu", "t441422102000": "gz-office"})  # same tier, 高陂镇 swapped
    assert audit(scenario, plan).passed
    explanation = explain(scenario, plan)
    previous = town_of(explanation, HUACHENG).previous
    assert previous is not None and not previous.kept
    assert (previous.kind, previous.rules) == ("lead_counts", (Rule.LEAD_COUNTS,))
    assert previous.figures == {"prov-stats_count": 0, "prov-stats_target": 0}
    assert "广东省统计局 lead 1 (policy.lead_counts[prov-stats] = 0)" in previous.message
    [count] = explanation.binding.lead_counts
    assert (count.key, count.unit_ids, count.count, count.target, count.met) == ("prov-stats", ("prov-stats",), 0, 0,
                                                                                 True)
