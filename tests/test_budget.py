"""Funding (policy.funding, bangfu budget): the published 108.12亿元, the 6:3:1 split, sub-districts, payers, CLI."""

from __future__ import annotations

import csv
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import ROOT, edit
from models import Category, Counterpart, Pin, PinAction, Plan, Scenario, ScenarioError, Tier, Town, load_scenario
from models.funding import FundingPolicy, FundingSplit, Payer
from optimizer import solve
from optimizer.budget import BUDGET_FILES, Budget, budget, split_amount, yi
from optimizer.cli import app

FUNDING = ROOT / "scenarios" / "guangdong-2021-funding"
GUANGDONG = ROOT / "scenarios" / "guangdong-2021"
TINY = ROOT / "scenarios" / "tiny" / "scenario.yaml"
runner = CliRunner()


def rebuilt(scenario: Scenario, **changes: object) -> Scenario:
    """The scenario with some tables or the policy replaced, validated again."""
    return Scenario(**{name: getattr(scenario, name) for name in Scenario.model_fields} | changes)


def with_funding(scenario: Scenario, **funding: object) -> Scenario:
    policy = scenario.policy.model_copy(update={"funding": FundingPolicy.model_validate(funding)})
    return rebuilt(scenario, policy=policy)


def check_sums(result: Budget) -> None:
    """Every town's shares add up to its amount; every table adds up to the same total, payer by payer."""
    pays = [f"pay_{p.value}" for p in Payer]
    for f in result.towns:
        assert sum(getattr(f, p) for p in pays) == f.amount
    for table in (result.by_city, result.by_level):
        assert sum(r.per_year for r in table) == result.total.per_year == sum(f.amount for f in result.towns)
    for p in pays:
        assert sum(getattr(r, p) for r in result.by_city) == getattr(result.total, p)
        assert sum(getattr(r, p) for r in result.by_level) == getattr(result.total, p)
    assert sum(r.pay_prd_city for r in result.by_prd_city) == result.total.pay_prd_city
    for row in (*result.by_city, *result.by_prd_city, *result.by_level, result.total):
        assert row.over_years == tuple(row.per_year * n for n in range(1, result.years + 1))


def test_published_figure_from_the_scenarios_own_counts() -> None:
    """901 towns × 2000万 × 3/10 × 2 years = 108.12亿元 paid by the PRD helper cities (seed 002)."""
    scenario = load_scenario(FUNDING / "scenario.yaml")
    categories = Counter(t.category.value for t in scenario.towns)
    assert categories == {"key": 600, "consolidation": 301, "pilot": 227}  # the programme's published counts
    result = budget(scenario)
    funding = scenario.policy.funding
    funded = sum(t.category in funding.categories for t in scenario.towns)  # the oracle counts the rows itself
    shares = funding.town_split.shares()
    expected = Fraction(funded * funding.town_amount * shares[Payer.PRD_CITY], sum(shares.values())) * 2
    prd = {r.group: r for r in result.by_level}["prd_city"]
    assert prd.over_years[1] == expected == 10_812_000_000
    assert yi(prd.over_years[1]) == "108.12"
    assert prd.towns == funded == len(result.towns)
    assert {r.group: r.towns for r in result.by_prd_city} == Counter(
        {c.target_city: c.prd_city for c in scenario.counterparts}[t.city] for t in scenario.towns
        if t.category in funding.categories)
    check_sums(result)
    guangdong = budget(load_scenario(GUANGDONG / "scenario.yaml"))  # 905 towns: the 4 of 深汕 are counted there
    assert {r.group: r for r in guangdong.by_level}["prd_city"].over_years[1] == 10_812_000_000 + 4 * 12_000_000


def test_funding_scenario_is_the_guangdong_towns_with_shenshan_as_pilot() -> None:
    """Only the 4 深汕 towns and the 2 towns promoted in their place differ; units and counterparts are copies."""
    def rows(folder: Path) -> dict[str, dict[str, str]]:
        with (folder / "towns.csv").open(encoding="utf-8", newline="") as handle:
            return {r["town_id"]: r for r in csv.DictReader(handle)}
    ours, theirs = rows(FUNDING), rows(GUANGDONG)
    assert ours.keys() == theirs.keys()
    changed = {t: (theirs[t]["category"], ours[t]["category"]) for t in ours if ours[t] != theirs[t]}
    assert {ours[t]["name"] for t, (_, now) in changed.items() if now == "pilot"} == {"鹅埠镇", "小漠镇", "鮜门镇", "赤石镇"}
    assert all(ours[t]["county"] == "海丰县" for t, (_, now) in changed.items() if now == "pilot")
    promoted = [t for t, (before, now) in changed.items() if (before, now) == ("consolidation", "key")]
    demoted = [t for t, (before, now) in changed.items() if (before, now) == ("key", "pilot")]
    assert len(promoted) == len(demoted) == 2 and len(changed) == 6
    assert all({k: v for k, v in ours[t].items() if k != "category"} == {k: v for k, v in theirs[t].items()
               if k != "category"} for t in changed)
    for name in ("units.csv", "counterparts.csv"):
        assert (FUNDING / name).read_bytes() == (GUANGDONG / name).read_bytes()


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 10**10), st.tuples(*[st.integers(0, 50)] * 4).filter(any))
def test_split_is_exact_to_the_yuan(amount: int, shares: tuple[int, int, int, int]) -> None:
    split = FundingSplit(**dict(zip([p.value for p in Payer], shares, strict=True)))
    pay = split_amount(amount, split)
    assert sum(pay.values()) == amount
    for payer, share in zip(Payer, shares, strict=True):
        assert abs(pay[payer] - Fraction(amount * share, sum(shares))) < 1


def test_six_three_one() -> None:
    result = budget(load_scenario(TINY))
    for f in result.towns:
        assert (f.pay_province, f.pay_prd_city, f.pay_city, f.pay_county) == (12_000_000, 6_000_000, 0, 2_000_000)
    assert {r.group: r.per_year for r in result.by_level} == {
        "province": 6 * len(result.towns) * 2_000_000, "prd_city": 3 * len(result.towns) * 2_000_000,
        "city": 0, "county": len(result.towns) * 2_000_000}
    assert [f.town_id for f in result.towns] == [t.town_id for t in load_scenario(TINY).towns
                                                  if t.category in (Category.KEY, Category.CONSOLIDATION)]
    check_sums(result)


def test_subdistricts_and_pilot_towns() -> None:
    tiny = load_scenario(TINY)
    streets = tuple(Town.model_validate({"town_id": town_id, "name": name, "city": city, "county": county,
                                         "category": category, "town_type": "街道"}) for town_id, name, city, county,
                    category in (("441402004000", "江南街道", "梅州市", "梅江区", "consolidation"),
                                 ("440117001000", "街口街道", "广州市", "从化区", "pilot")))
    scenario = rebuilt(tiny, towns=tiny.towns + streets)
    result = budget(scenario)
    rows = {f.town_id: f for f in result.towns}
    for street in streets:  # funded whatever their category: 2,000,000 a year, paid by their own city
        f = rows[street.town_id]
        assert (f.kind, f.amount, f.pay_city, f.pay_province, f.pay_prd_city, f.helper_city) == (
            "subdistrict", 2_000_000, 2_000_000, 0, 0, "")
    assert "440117107000" not in rows  # the pilot town is not funded by default
    assert {r.group: (r.towns, r.subdistricts) for r in result.by_city}["梅州市"] == (6, 1)
    assert result.total.subdistricts == 2 and result.total.pay_city == 4_000_000
    check_sums(result)

    funded = budget(with_funding(scenario, categories=["key", "consolidation", "pilot"], subdistrict_amount=5_000_000))
    pilot = {f.town_id: f for f in funded.towns}["440117107000"]  # 广州市 has no PRD helper: it pays the 3 itself
    assert (pilot.helper_city, pilot.helper_rule, pilot.pay_city, pilot.pay_prd_city) == ("", "own city", 6_000_000, 0)
    assert funded.total.subdistricts == 2 and funded.total.pay_city == 6_000_000 + 2 * 5_000_000
    check_sums(funded)


def test_payer_of_a_city_with_two_counterparts_with_and_without_a_plan() -> None:
    tiny = load_scenario(TINY)
    two = rebuilt(tiny, counterparts=tiny.counterparts + (Counterpart(prd_city="深圳市", target_city="梅州市"),),
                  pins=tiny.pins + (Pin(unit_id="sz-futian", town_id="441422101000", action=PinAction.PIN),))
    with pytest.raises(ScenarioError, match="梅州市 has 2 counterparts") as error:
        budget(two)
    assert (error.value.file, error.value.field) == ("policy", "funding.prd_city")

    chosen = with_funding(two, prd_city={"梅州市": "广州市"})
    by_policy = budget(chosen)
    assert {(f.city, f.helper_city, f.helper_rule) for f in by_policy.towns} == {
        ("河源市", "深圳市", "counterpart"), ("梅州市", "广州市", "policy")}

    result = solve(chosen)
    assert result.plan is not None
    units = {u.unit_id: u for u in chosen.units}
    prd_lead = {a.town_id: units[a.unit_id].city for a in result.plan.assignments
                if units[a.unit_id].tier is Tier.PRD}
    assert prd_lead["441422101000"] == "深圳市"  # pinned: a 深圳 unit leads a 梅州 town
    by_plan = budget(chosen, result.plan)
    for f in by_plan.towns:
        if f.town_id in prd_lead:
            assert (f.helper_city, f.helper_rule) == (prd_lead[f.town_id], "plan")
        else:
            assert (f.helper_city, f.helper_rule) == (("深圳市", "counterpart") if f.city == "河源市" else
                                                      ("广州市", "policy"))
    assert {r.group: r.towns for r in by_plan.by_prd_city}["深圳市"] == 6  # 河源's 5 + the pinned 梅州 town
    check_sums(by_plan)


def test_bad_payer_rules_and_plans() -> None:
    tiny = load_scenario(TINY)
    for payers, message in (({"潮州市": "广州市"}, "does not exist"), ({"梅州市": "深圳市"}, "not a counterpart")):
        with pytest.raises(ScenarioError, match=message) as error:
            budget(with_funding(tiny, prd_city=payers))
        assert error.value.field == "funding.prd_city"
    for plan, field in ((Plan.from_pairs({"nowhere": "gz-panyu"}), "town_id"),
                        (Plan.from_pairs({"441422101000": "ghost"}), "unit_id"),
                        (Plan.from_pairs({"441422101000": "sz-futian"}), "unit_id")):  # 深圳 does not help 梅州
        with pytest.raises(ScenarioError) as error:
            budget(tiny, plan)
        assert (error.value.file, error.value.field) == ("plan", field)


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_cli_writes_the_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.csv").write_text("kept\n", encoding="utf-8")  # another command's output stays
    code, text = run("budget", str(FUNDING / "scenario.yaml"), "--out", str(out), "--years", "2")
    assert code == 0, text
    assert "10,812,000,000 yuan (108.12亿元)" in text and "Funding by city" in text
    assert sorted(p.name for p in out.iterdir()) == sorted((*BUDGET_FILES, "plan.csv"))
    levels = {r["level"]: r for r in read_csv(out / "by_level.csv")}
    assert levels["prd_city"]["years_2"] == "10812000000" and "years_3" not in levels["prd_city"]
    towns = read_csv(out / "budget.csv")
    assert len(towns) == 901 and sum(int(r["pay_prd_city"]) for r in towns) == 5_406_000_000
    cities = read_csv(out / "by_city.csv")
    assert sum(int(r["towns"]) for r in cities) == 901 and len(cities) == 13
    assert sum(int(r["pay_prd_city"]) for r in read_csv(out / "by_prd_city.csv")) == 5_406_000_000


def test_cli_with_a_plan(tiny_dir: Path, tmp_path: Path) -> None:
    solved, out = tmp_path / "solved", tmp_path / "budget"
    assert run("solve", str(tiny_dir / "scenario.yaml"), "--out", str(solved), "--quiet")[0] == 0
    code, text = run("budget", str(tiny_dir / "scenario.yaml"), str(solved / "plan.csv"), "--out", str(out))
    assert code == 0, text
    plan = {r["town_id"]: r for r in read_csv(solved / "plan.csv")}
    for row in read_csv(out / "budget.csv"):
        lead = plan.get(row["town_id"])
        assert row["helper_rule"] == ("plan" if lead and lead["tier"] == "prd" else "counterpart")


def test_cli_bad_input_names_file_row_and_field(tiny_dir: Path, tmp_path: Path) -> None:
    scenario, out = tiny_dir / "scenario.yaml", tmp_path / "out"
    plan = tmp_path / "plan.csv"
    plan.write_text("town_id,unit_id\n441623111000,sz-nanshan\n441422101000,ghost\n", encoding="utf-8")
    code, text = run("budget", str(scenario), str(plan), "--out", str(out))
    assert code == 2 and "row 3" in text and "field 'unit_id'" in text and "ghost" in text, text
    assert not out.exists()  # nothing written

    edit(scenario, "policy:\n", "policy:\n  funding: {prd_city: {梅州市: 深圳市}}\n")
    code, text = run("budget", str(scenario), "--out", str(out))
    assert code == 2 and "scenario.yaml, field 'policy.funding.prd_city'" in text and "深圳市" in text, text
    assert not out.exists()

    edit(scenario, "funding: {prd_city: {梅州市: 深圳市}}", "funding: {town_split: {province: 0}}")
    code, text = run("budget", str(scenario))
    assert code == 2 and "scenario.yaml" in text and "policy.funding.town_split" in text, text


def test_docstring_example() -> None:
    import doctest

    import optimizer.budget

    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(optimizer.budget.budget, "budget", globs={}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted > 0


def test_county_targets_need_their_own_funding(tmp_path: Path) -> None:
    """The default funding is the town programme's: the 62 counties of the vertical scenario get none of it unless
    the scenario gives a funding block, and the CLI says so naming the field, writing nothing."""
    vertical = load_scenario(ROOT / "scenarios" / "vertical-2023" / "scenario.yaml")
    with pytest.raises(ScenarioError) as caught:
        budget(vertical)
    assert (caught.value.file, caught.value.field) == ("policy", "funding") and "counties" in caught.value.message
    given_block = with_funding(vertical, town_amount=5_000_000, town_split={"province": 1}, years=1)
    result = budget(given_block)
    assert len(result.towns) == 62 and {f.pay_province for f in result.towns} == {5_000_000}
    out = tmp_path / "out"
    run = runner.invoke(app, ["budget", str(ROOT / "scenarios" / "vertical-2023" / "scenario.yaml"), "--out",
                              str(out)])
    assert run.exit_code == 2 and "policy.funding" in run.output and not out.exists()
