"""Sweeps: grid files, variant scenarios, the dask runs (local processes and a cluster by address), the table,
the Pareto front and ``bangfu sweep``."""

from __future__ import annotations

import doctest
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster
from typer.testing import CliRunner

import optimizer.sweep
from models import RelationshipKind, Scenario, ScenarioError, Tier, TierRatio, load_scenario
from optimizer import audit, plan_frame, solve
from optimizer.cli import app
from optimizer.grid import Variant, apply, load_variants, variant_id
from optimizer.pareto import pareto_front
from optimizer.sweep import SECONDS, base_start, hubs, sweep
from optimizer.terms import objective_terms

ROOT = Path(__file__).resolve().parent.parent
TINY = load_scenario(ROOT / "scenarios" / "tiny" / "scenario.yaml")
GRID = """\
axes:
  policy.continuity_weight: [0, 50]
  policy.max_changes: [1, null]
variants:
  - {id: base}
  - {id: no-futian, remove_units: [sz-futian]}
  - {id: sysu-3, capacity.prov-sysu: 3, policy.tier_ratio: {prd: 4, provincial: 3, local: 3}}
  - {id: more-local, capacity_add.local: 1, policy.city_quotas.梅州市.local: 2}
  - {id: strict, policy.max_changes: 0}
"""


def _policy(scenario: Scenario, **changes: Any) -> Scenario:
    return scenario.model_copy(update={"policy": scenario.policy.model_copy(update=changes)})


def _units(scenario: Scenario, keep: Any = lambda u: True, capacity: Any = lambda u: u.capacity) -> Scenario:
    """The scenario with some units dropped (and every row naming them) and capacities changed, rebuilt."""
    fields = {name: getattr(scenario, name) for name in Scenario.model_fields}
    units = tuple(u.model_copy(update={"capacity": capacity(u)}) for u in scenario.units if keep(u))
    ids = {u.unit_id for u in units}
    return Scenario(**fields | {"units": units} | {table: tuple(r for r in fields[table] if r.unit_id in ids)
                                                   for table in ("relationships", "scores", "pins")})


EXPECTED = {  # each variant of GRID built by hand (the README's what-if recipes), not by optimizer.grid
    **{variant_id({"policy.continuity_weight": w, "policy.max_changes": m}):
       _policy(TINY, continuity_weight=w, max_changes=m) for w in (0, 50) for m in (1, None)},
    "base": TINY,
    "no-futian": _units(TINY, keep=lambda u: u.unit_id != "sz-futian"),
    "sysu-3": _policy(_units(TINY, capacity=lambda u: 3 if u.unit_id == "prov-sysu" else u.capacity),
                      tier_ratio=TierRatio(prd=4, provincial=3, local=3)),
    "more-local": _policy(_units(TINY, capacity=lambda u: u.capacity + (u.tier.value == "local")),
                          city_quotas={"梅州市": {Tier.LOCAL: 2}}),
    "strict": _policy(TINY, max_changes=0),
}


def _none(value: Any) -> Any:
    """A table's missing value (NaN, NA) as the result's None."""
    return None if not isinstance(value, str) and pd.isna(value) else value


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grid") / "grid.yaml"
    path.write_text(GRID, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two workers in this process, reached over TCP: tasks, results and the scattered scenario are serialised
    as on a remote cluster."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",  # type: ignore[no-untyped-call]
                      dashboard_address=":0", silence_logs=logging.ERROR) as running:
        yield running


@pytest.fixture(scope="module")
def local_table(grid: Path) -> pd.DataFrame:
    """The sweep as ``bangfu sweep`` runs it by default: a new LocalCluster of two worker processes."""
    return sweep(TINY, load_variants(grid, TINY), workers=2)


@pytest.fixture(scope="module")
def cluster_table(grid: Path, cluster: LocalCluster) -> pd.DataFrame:
    return sweep(TINY, load_variants(grid, TINY), scheduler=cluster.scheduler_address)


def test_variants_are_the_grid_in_order(grid: Path) -> None:
    variants = load_variants(grid, TINY)
    assert [v.id for v in variants] == list(EXPECTED)  # product first (first axis slowest), then the list
    for v in variants:
        assert apply(TINY, v.settings).fingerprint() == EXPECTED[v.id].fingerprint(), v.id
    assert variants[5].values == {"policy.continuity_weight": 50, "policy.max_changes": 2, "remove_units": ["sz-futian"],
                                  "capacity.prov-sysu": 2, "policy.tier_ratio": {"prd": 5, "provincial": 2, "local": 3},
                                  "capacity_add.local": 0, "policy.city_quotas.梅州市.local": None}


def test_capacity_add_widens_leads_and_makes_no_member_a_lead() -> None:
    """``capacity_add.<tier>`` is "one more town for every unit of the tier that leads": a member-only unit
    (capacity 0) stays member-only, while ``capacity.<unit_id>`` may still make one a lead."""
    member = TINY.units[0].model_copy(update={"unit_id": "member-prd", "capacity": 0, "kind": "enterprise",
                                             "member_capacity": 2})
    base = TINY.model_copy(update={"units": (*TINY.units, member)})
    capacity = {u.unit_id: u.capacity for u in apply(base, {"capacity_add.prd": 2}).units}
    for unit in base.units:
        expected = unit.capacity + 2 if unit.tier is Tier.PRD and unit.capacity > 0 else unit.capacity
        assert capacity[unit.unit_id] == expected, unit.unit_id
    made = apply(base, {"capacity.member-prd": 1, "capacity_add.prd": 1})
    assert {u.unit_id: u.capacity for u in made.units}["member-prd"] == 2


def test_hubs_are_the_first_variant_differing_only_in_the_first_setting() -> None:
    def variant(**settings: Any) -> Variant:
        return Variant(id=variant_id(settings), settings=settings, values=settings)

    grid = [variant(a=1, b=1), variant(a=2, b=1), variant(a=1, b=2), variant(a=2, b=2), variant(b=1),
            variant(), variant(b=1, a=3), variant(a=3, b=[1, 2]), variant(a=4, b=[1, 2])]
    # (a, b=1) follow the first a with b=1; {b: 1} alone and {} start from the base; a key order matters (b, a
    # is another first setting); lists compare by value
    assert hubs(grid) == [0, 0, 2, 2, 4, 5, 6, 7, 7]


def test_every_row_equals_a_direct_solve(local_table: pd.DataFrame, grid: Path) -> None:
    """Each row is the variant solved from where its hub's search ended (the hub's own from the base's)."""
    assert list(local_table["variant"]) == list(EXPECTED)
    variants = load_variants(grid, TINY)
    starts = hubs(variants)
    warm = {i: solve(EXPECTED[variants[i].id], workers=1, warm=base_start(TINY)).warm_start for i in set(starts)}
    for position, (row, start) in enumerate(zip(local_table.to_dict("records"), starts, strict=True)):
        scenario = EXPECTED[row["variant"]]
        result = solve(scenario, workers=1, warm=base_start(TINY) if start == position else warm[start])
        assert tuple(_none(row[c]) for c in ("status", "objective", "bound", "gap", "path")) == (
            result.status.value, result.objective, result.best_bound, result.gap, result.path), row["variant"]
        if result.plan is None:
            assert pd.isna(row["changes"]) and pd.isna(row["audit_passed"]) and row["message"]
            continue
        frame = plan_frame(scenario, result.plan)
        previous = {r.town_id: r.unit_id for r in scenario.relationships if r.kind is RelationshipKind.PREVIOUS_LEAD}
        lead = result.plan.lead_of()
        assert row["changes"] == sum(lead[t] != u for t, u in previous.items() if t in lead)
        assert {t: row[t] for t in ("prd", "provincial", "local")} == frame["tier"].value_counts().to_dict()
        terms = objective_terms(scenario, result.plan)
        assert row["value"] == terms["score"].sum() + terms["distance"].sum()
        assert row["audit_passed"] is True and audit(scenario, result.plan).passed
    assert set(local_table["status"]) == {"OPTIMAL", "INFEASIBLE"}  # the grid reaches both outcomes
    assert local_table.loc[local_table["variant"] == "strict", "status"].item() == "INFEASIBLE"


def test_a_cluster_by_address_gives_the_same_table(local_table: pd.DataFrame, cluster_table: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(local_table.drop(columns=list(SECONDS)), cluster_table.drop(columns=list(SECONDS)))


def test_pareto_flags_the_undominated_plans(local_table: pd.DataFrame) -> None:
    plans = local_table[local_table["audit_passed"].eq(True).fillna(False)]
    points = list(zip(plans["changes"], plans["value"], strict=True))
    dominated = [any(c <= x and v >= y and (c, v) != (x, y) for c, v in points) for x, y in points]
    assert list(plans["pareto"]) == [not d for d in dominated]
    assert not local_table.loc[local_table["audit_passed"].isna(), "pareto"].any()


def test_pareto_front_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(0, 12))
        changes, value = rng.integers(0, 5, n).astype(float), rng.integers(-3, 4, n).astype(float)
        brute = [not any(changes[j] <= changes[i] and value[j] >= value[i] and
                         (changes[j], value[j]) != (changes[i], value[i]) for j in range(n)) for i in range(n)]
        assert list(pareto_front(changes, value)) == brute


def test_failed_tasks_are_error_rows(grid: Path, cluster: LocalCluster) -> None:
    table = sweep(TINY, load_variants(grid, TINY)[:2], scheduler=cluster.scheduler_address, time_limit=-1)
    assert list(table["status"]) == ["ERROR", "ERROR"]
    assert table["message"].str.contains("time_limit").all()
    assert not table["audit_passed"].any() and not table["pareto"].any()


def test_a_failing_hub_hands_on_its_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub whose solve raises gives its ERROR row and passes the base's start on to the variants that follow
    it, which are then solved instead of failing with it."""
    warm = base_start(TINY)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(optimizer.sweep, "solve", broken)
    row, start = optimizer.sweep.solve_hub(TINY, {"policy.continuity_weight": 0}, None, warm)
    assert row["status"] == "ERROR" and row["message"] == "RuntimeError: solver crashed"
    assert row["audit_passed"] is False and start is warm
    monkeypatch.undo()
    follower = optimizer.sweep.solve_variant(TINY, {"policy.continuity_weight": 50}, None, start)
    assert follower["status"] == "OPTIMAL" and follower["audit_passed"] is True


def test_ids_are_stable_across_grids(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    two = tmp_path / "two.yaml"
    one.write_text("axes: {policy.max_changes: [1, 2], policy.continuity_weight: [0]}\n", encoding="utf-8")
    two.write_text("axes: {policy.continuity_weight: [10, 0], policy.max_changes: [3, 2, 1]}\n", encoding="utf-8")
    ids = {v.id: dict(v.settings) for v in load_variants(two, TINY)}
    for v in load_variants(one, TINY):
        assert ids[v.id] == v.settings


@pytest.mark.parametrize(("text", "field", "message"), [
    ("axes: {policy.max_chnges: [1]}", "axes.policy.max_chnges", "unknown policy field 'max_chnges'"),
    ("axes: {policy.max_changes: [-1]}", "axes.policy.max_changes", "greater than or equal to 0"),
    ("axes: {policy.max_changes: []}", "axes.policy.max_changes", "at least 1 item"),
    ("axes: {policy.max_changes: [1, 1]}", "axes.policy.max_changes", "listed twice"),
    ("axes: {capacity.nobody: [1]}", "axes.capacity.nobody", "unknown unit 'nobody'"),
    ("axes: {capacity.sz-futian: [1.5]}", "axes.capacity.sz-futian", "valid integer"),
    ("axes: {capacity_add.metro: [1]}", "axes.capacity_add.metro", "unknown tier 'metro'"),
    ("axes: {remove_units: [[nobody]]}", "axes.remove_units", "unknown unit(s) nobody"),
    ("axes: {units.sz-futian: [1]}", "axes.units.sz-futian", "unknown setting"),
    ("axes: {policy.tier_ratio.prd: [0], policy.tier_ratio.provincial: [0], policy.tier_ratio.local: [0]}",
     "axes", "the combination"),
    ("variants: [{policy.city_quotas.香港市: {prd: 1}}]", "variants.0.policy.city_quotas.香港市", "does not exist"),
    ("variants: [{policy.max_changes.count: 1}]", "variants.0.policy.max_changes.count", "not a mapping"),
    ("variants: [{policy.tier_ratio: {prd: 1}, policy.tier_ratio.prd: 2}]", "variants.0.policy.tier_ratio.prd",
     "overlaps 'policy.tier_ratio'"),
    ("variants: [{id: a}, {id: a, policy.max_changes: 1}]", "variants.1", "already"),
    ("variants: [{policy.max_changes: 1}, {policy.max_changes: 1}]", "variants.1", "same settings"),
    ("variants: [{id: '=cmd'}]", "variants.0.id", "formula"),
    ("varients: []", "varients", "Extra inputs"),
    ("axes: {policy.max_changes: [1]}\naxes: {}", "row 2", "duplicate key 'axes'"),
    ("[1, 2]", "grid.yaml", "must be a YAML mapping"),
    ("{}", "grid.yaml", "no variants"),
])
def test_grid_errors_name_the_file_and_key(tmp_path: Path, text: str, field: str, message: str) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_variants(path, TINY)
    assert str(caught.value).startswith("grid.yaml"), caught.value
    assert field in str(caught.value) and message in str(caught.value), caught.value


def test_cli_writes_csv_and_chart(grid: Path, cluster: LocalCluster, cluster_table: pd.DataFrame,
                                  tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(ROOT / "scenarios" / "tiny" / "scenario.yaml"), "--grid",
                                      str(grid), "--out", str(out), "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    assert "Pareto front" in result.output and "9 variants" in result.output
    csv = pd.read_csv(out / "sweep.csv", keep_default_na=False)
    assert list(csv["variant"]) == list(cluster_table["variant"])
    assert list(csv["status"]) == list(cluster_table["status"])
    assert [str(v) for v in csv["objective"]] == [("" if pd.isna(v) else str(v)) for v in cluster_table["objective"]]
    assert list(csv["remove_units"])[5] == '["sz-futian"]'
    assert list(csv["policy.max_changes"])[:2] == ["1", ""]  # as the grid wrote it: 1, not 1.0; null empty
    svg = ET.parse(out / "pareto.svg").getroot()
    titles = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    plans = cluster_table[cluster_table["audit_passed"].eq(True).fillna(False)]
    assert sorted(t.split(":")[0] for t in titles) == sorted(plans["variant"])


def test_cli_bad_input_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("axes: {policy.max_changes: [-1]}\n", encoding="utf-8")
    out = tmp_path / "out"
    scenario = str(ROOT / "scenarios" / "tiny" / "scenario.yaml")
    result = CliRunner().invoke(app, ["sweep", scenario, "--grid", str(bad), "--out", str(out)])
    assert result.exit_code == 2 and "axes.policy.max_changes" in result.output and not out.exists()
    good = tmp_path / "good.yaml"
    good.write_text("variants: [{id: base}]\n", encoding="utf-8")
    for extra in (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ["--time-limit", "-1"],
                  ["--scheduler", "http://127.0.0.1:1"], ["--scheduler", "nonsense:::"]):
        result = CliRunner().invoke(app, ["sweep", scenario, "--grid", str(good), "--out", str(out), *extra])
        assert result.exit_code == 2 and not out.exists(), result.output


def test_docstring_examples() -> None:
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(optimizer.sweep, "optimizer.sweep", globs={}):
        runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(failed=0, attempted=7)


def test_plan_column_types_survive(local_table: pd.DataFrame) -> None:
    """Counts stay integers beside a missing value, settings stay as the grid wrote them."""
    assert str(local_table["objective"].dtype) == "Int64" and str(local_table["changes"].dtype) == "Int64"
    assert list(local_table["policy.max_changes"])[:4] == [1, None, 1, None]
