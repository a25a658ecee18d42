"""One test per rule family: the model obeys the rule, and the audit catches a plan that breaks it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from models import Plan, Rule, Scenario, Tier, TierRatio, load_scenario
from optimizer import audit, plan_value, solve
from optimizer.audit import expected_quotas
from optimizer.model import tier_quotas

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"
# towns of the tiny scenario
GAOGUAN, ZHONGXIN, LINZHAI, ZHANGXI = "441623111000", "441623110000", "441624116000", "441625200000"
CHAYANG, GAOPI, MEILIN, HUACHENG, SHUIZHAI = "441422101000", "441422102000", "441424125000", "441424104000", \
    "441424100000"


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario(TINY)


@pytest.fixture(scope="module")
def lead(tiny: Scenario) -> dict[str, str]:
    result = solve(tiny)
    assert result.status.value == "OPTIMAL"
    assert audit(tiny, result.plan).passed
    assert plan_value(tiny, result.plan) == result.objective
    return result.plan.lead_of()


def broken(tiny: Scenario, lead: dict[str, str], **changes: str | None) -> set[Rule]:
    """Rules the audit reports after reassigning towns (``None`` drops the town)."""
    ids = {"gaoguan": GAOGUAN, "zhongxin": ZHONGXIN, "linzhai": LINZHAI, "zhangxi": ZHANGXI, "chayang": CHAYANG,
           "gaopi": GAOPI, "meilin": MEILIN, "huacheng": HUACHENG}
    moved = dict(lead)
    for town, unit in changes.items():
        if unit is None:
            moved.pop(ids[town])
        else:
            moved[ids[town]] = unit
    return audit(tiny, Plan.from_pairs(moved)).rules_broken()


def tier_of(tiny: Scenario) -> dict[str, Tier]:
    return {u.unit_id: u.tier for u in tiny.units}


def test_coverage(tiny: Scenario, lead: dict[str, str]) -> None:
    assert set(lead) == {t.town_id for t in tiny.key_towns}
    assert broken(tiny, lead, gaoguan=None) == {Rule.COVERAGE, Rule.TIER_QUOTA}
    extra = Plan.from_pairs([*lead.items(), (SHUIZHAI, "mz-office")])  # a consolidation town gets a lead
    assert Rule.COVERAGE in audit(tiny, extra).rules_broken()
    twice = Plan.from_pairs([*lead.items(), (GAOGUAN, lead[GAOGUAN])])
    assert Rule.COVERAGE in audit(tiny, twice).rules_broken()


def test_tier_quota(tiny: Scenario, lead: dict[str, str]) -> None:
    assert Counter(tier_of(tiny)[u] for u in lead.values()) == {Tier.PRD: 5, Tier.PROVINCIAL: 2, Tier.LOCAL: 3}
    # 林寨镇 to the other Heyuan local unit's tier (prd → local or local → provincial): quota breaks
    swap = "prov-sysu" if tier_of(tiny)[lead[LINZHAI]] is not Tier.PROVINCIAL else "hy-office"
    assert Rule.TIER_QUOTA in broken(tiny, lead, linzhai=swap)


@pytest.mark.parametrize(("n", "ratio", "expected"), [
    (600, (5, 2, 3), (300, 120, 180)),
    (10, (5, 2, 3), (5, 2, 3)),
    (12, (5, 2, 3), (6, 2, 4)),      # 6, 2.4, 3.6 → the leftover town goes to local (.6)
    (7, (5, 2, 3), (4, 1, 2)),       # 3.5, 1.4, 2.1 → prd (.5)
    (5, (1, 1, 1), (2, 2, 1)),       # ties go to the earlier tier
    (901, (5, 2, 3), (451, 180, 270)),
])
def test_quota_rounding(n: int, ratio: tuple[int, int, int], expected: tuple[int, int, int]) -> None:
    tr = TierRatio(prd=ratio[0], provincial=ratio[1], local=ratio[2])
    built = tier_quotas(n, tr)
    assert (built[Tier.PRD], built[Tier.PROVINCIAL], built[Tier.LOCAL]) == expected
    assert expected_quotas(n, {"prd": ratio[0], "provincial": ratio[1], "local": ratio[2]}) == dict(
        zip(("prd", "provincial", "local"), expected, strict=True))


def test_quota_rounding_agrees_everywhere() -> None:
    for n in range(0, 60):
        for ratio in [(5, 2, 3), (1, 1, 1), (3, 0, 4), (7, 5, 1)]:
            built = tier_quotas(n, TierRatio(prd=ratio[0], provincial=ratio[1], local=ratio[2]))
            assert {t.value: q for t, q in built.items()} == expected_quotas(
                n, dict(zip(("prd", "provincial", "local"), ratio, strict=True)))
            assert sum(built.values()) == n


def test_eligibility(tiny: Scenario, lead: dict[str, str]) -> None:
    units = {u.unit_id: u for u in tiny.units}
    towns = {t.town_id: t for t in tiny.towns}
    for town, unit in lead.items():
        u, t = units[unit], towns[town]
        if u.tier is Tier.PRD:
            assert (u.city, t.city) in {("深圳市", "河源市"), ("广州市", "梅州市")}
        if u.tier is Tier.LOCAL:
            assert u.city == t.city
        if unit == "sz-nanshan":
            assert t.county == "连平县"
    assert Rule.ELIGIBILITY in broken(tiny, lead, gaoguan="gz-panyu")      # wrong counterpart city
    assert Rule.ELIGIBILITY in broken(tiny, lead, gaopi="hy-office")       # local unit of another city
    assert Rule.ELIGIBILITY in broken(tiny, lead, linzhai="sz-nanshan")    # outside its paired county
    assert Rule.ELIGIBILITY in broken(tiny, lead, linzhai="no-such-unit")


def test_capacity(tiny: Scenario, lead: dict[str, str]) -> None:
    load = Counter(lead.values())
    assert all(load[u.unit_id] <= u.capacity for u in tiny.units)
    full = next(u for u in tiny.units if u.tier is Tier.LOCAL and load[u.unit_id] == u.capacity
                and u.city == "梅州市" and u.strength >= 3)
    victim = next(t for t, u in lead.items() if t.startswith("4414") and tier_of(tiny)[u] is Tier.LOCAL
                  and u != full.unit_id)
    moved = dict(lead) | {victim: full.unit_id}
    assert Rule.CAPACITY in audit(tiny, Plan.from_pairs(moved)).rules_broken()


def test_continuity(tiny: Scenario, lead: dict[str, str]) -> None:
    # 茶阳镇's previous lead (strength 2) may not lead a border town any more: one change is forced
    previous = {r.town_id: r.unit_id for r in tiny.relationships if r.kind.value == "previous_lead"}
    changed = [t for t, u in previous.items() if lead[t] != u]
    assert len(changed) <= 2
    strict = tiny.model_copy(update={"policy": tiny.policy.model_copy(update={"max_changes": 1})})
    result = solve(strict)
    assert result.has_plan
    assert [t for t, u in previous.items() if result.plan.lead_of()[t] != u] == [CHAYANG]
    assert audit(strict, result.plan).passed
    # moving a kept town away breaks the cap of 1
    kept = next(t for t, u in previous.items() if t != CHAYANG)
    other = next(u.unit_id for u in tiny.units if u.unit_id != previous[kept])
    assert Rule.CONTINUITY in audit(strict, Plan.from_pairs(result.plan.lead_of() | {kept: other})).rules_broken()
    zero = tiny.model_copy(update={"policy": tiny.policy.model_copy(update={"max_changes": 0})})
    none = solve(zero)
    assert none.status.value == "INFEASIBLE"
    assert any(Rule.CONTINUITY in c.rules for c in none.conflicts)


def test_continuity_weight_keeps_previous_leads(tiny: Scenario) -> None:
    heavy = tiny.model_copy(update={"policy": tiny.policy.model_copy(update={"continuity_weight": 10_000,
                                                                            "max_changes": None})})
    result = solve(heavy)
    previous = {r.town_id: r.unit_id for r in tiny.relationships if r.kind.value == "previous_lead"}
    assert sum(result.plan.lead_of()[t] != u for t, u in previous.items()) == 1  # only the forced change


def test_priority(tiny: Scenario, lead: dict[str, str]) -> None:
    units = {u.unit_id: u for u in tiny.units}
    assert units[lead[ZHANGXI]].tier in (Tier.PRD, Tier.PROVINCIAL)          # ethnic → prd/provincial
    for town in tiny.key_towns:
        if town.border:
            assert units[lead[town.town_id]].strength >= 3                    # border → strength ≥ 3
    assert Rule.PRIORITY in broken(tiny, lead, zhangxi="hy-office")
    assert Rule.PRIORITY in broken(tiny, lead, chayang="mz-propaganda")


def test_objective_is_sum_of_scores_without_other_weights(tiny: Scenario) -> None:
    plain = tiny.model_copy(update={"policy": tiny.policy.model_copy(update={
        "continuity_weight": 0, "distance_weight": 0.0, "max_changes": None})})
    result = solve(plain)
    scores = {(s.unit_id, s.town_id): s.score for s in tiny.scores}
    assert result.objective == sum(scores.get((a.unit_id, a.town_id), 0) for a in result.plan.assignments)
    assert result.objective == result.best_bound
