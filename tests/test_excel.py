"""Excel in and out: the template round trip, located sheet errors, solving a workbook, plan.xlsx."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from conftest import TINY
from models import ScenarioError, load_scenario
from models.loader import Limits
from models.tables import TABLE_ROWS
from optimizer import solve
from optimizer.cli import app
from optimizer.excel import write_plan_workbook
from optimizer.glossary import COLUMNS, SETTINGS
from optimizer.template import _settings_fields, template_workbook

runner = CliRunner()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """The tiny scenario as a workbook, written by the template command."""
    path = tmp_path / "tiny.xlsx"
    result = runner.invoke(app, ["template", str(path), "--from", str(TINY / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    return path


def set_cell(path: Path, sheet: str, row: int, key: str, value: str) -> None:
    """Write ``value`` into the column whose header's first line is ``key`` (a new column if there is none)."""
    workbook = openpyxl.load_workbook(path)
    ws = workbook[sheet]
    keys = [str(c.value).split("\n")[0] for c in ws[1]]
    column = keys.index(key) + 1 if key in keys else len(keys) + 1
    ws.cell(row=1, column=column).value = key
    ws.cell(row=row, column=column).value = value
    workbook.save(path)


def test_template_round_trip(book: Path) -> None:
    yaml_scenario = load_scenario(TINY / "scenario.yaml")
    workbook_scenario = load_scenario(book)
    assert workbook_scenario.fingerprint() == yaml_scenario.fingerprint()
    assert workbook_scenario.pins == yaml_scenario.pins != ()
    assert workbook_scenario.pins[0].model_extra == {"note": "illustrative: a planner rules this pair out"}  # extra columns travel too
    assert workbook_scenario.sources["units"] == "tiny.xlsx [units]"


def test_empty_template_layout(tmp_path: Path) -> None:
    path = tmp_path / "new.xlsx"
    path.write_bytes(template_workbook())
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["instructions", *TABLE_ROWS, "policy"]
    units = workbook["units"]
    assert units.freeze_panes == "A2"
    assert units["C1"].value == "tier\n帮扶层级"
    lists = {str(v.sqref): v.formula1 for v in units.data_validations.dataValidation}
    assert lists == {"C2:C1048576": '"prd,provincial,local"', "I2:I1048576": '"agency,enterprise,institution,research"'}
    towns = {v.formula1 for v in workbook["towns"].data_validations.dataValidation}
    assert towns == {'"key,consolidation,pilot"', '"true,false"'}
    assert {v.formula1 for v in workbook["pins"].data_validations.dataValidation} == {'"pin,ban"'}
    assert {v.formula1 for v in workbook["relationships"].data_validations.dataValidation} == {
        '"previous_lead,county_pairing,previous_member"'}
    policy = {r[0]: r[1] for r in workbook["policy"].iter_rows(min_row=2, values_only=True)}
    assert policy["policy.tier_ratio"] == "{prd: 5, provincial: 2, local: 3}" and policy["solver.log"] == "false"
    explained = {(r[0], r[1]) for r in workbook["instructions"].iter_rows(values_only=True)}
    assert ("units", "capacity") in explained and ("policy", "policy.max_changes") in explained
    with pytest.raises(ScenarioError, match="no town has category 'key'"):
        load_scenario(path)


def test_every_column_and_setting_is_explained() -> None:
    for table, model in TABLE_ROWS.items():
        assert set(model.model_fields) <= set(COLUMNS[table]), table
    assert {key for key, _ in _settings_fields()} <= set(SETTINGS)


def test_template_refuses_to_overwrite(book: Path) -> None:
    before = book.read_bytes()
    result = runner.invoke(app, ["template", str(book)])
    assert result.exit_code == 2 and "--force" in result.output
    assert book.read_bytes() == before
    assert runner.invoke(app, ["template", str(book), "--force"]).exit_code == 0
    assert book.read_bytes() != before


CASES = [
    # (sheet, row, column key, new value, expected sheet, row, field, words in message)
    ("units", 3, "capacity", "=1+1", "units", 3, "capacity", "'=1+1'"),  # a formula is text, not 2
    ("towns", 4, "category", "kye", "towns", 4, "category", "'key', 'consolidation' or 'pilot'"),
    ("relationships", 3, "town_id", "441424125999", "relationships", 3, "town_id", "unknown town"),
    ("pins", 2, "action", "pinn", "pins", 2, "action", "'pin' or 'ban'"),
    # policy rows: 2 name, 3 description, 4 policy.tier_ratio, 5 policy.city_quotas, 6 policy.continuity_weight
    ("policy", 6, "value", "-1", "policy", 6, "policy.continuity_weight", "greater than or equal to 0"),
    ("policy", 6, "key", "policy.continuity_weigth", "policy", 6, "policy.continuity_weigth", "Extra inputs"),
    ("policy", 7, "value", "-1", "policy", 7, "policy.max_changes", "greater than or equal to 0"),
    ("policy", 5, "value", "{梅县市: {prd: 1}}", "policy", 5, "policy.city_quotas", "does not exist"),
    ("policy", 4, "value", "{prd: 5", "policy", 4, "policy.tier_ratio", "broken YAML"),
    ("policy", 2, "key", "tables.towns", "policy", 2, "key", "unknown key"),
]


@pytest.mark.parametrize(("sheet", "row", "key", "value", "where", "at", "field", "words"), CASES,
                         ids=[f"{c[0]}:{c[2]}:{c[3]}" for c in CASES])
def test_sheet_error_is_located(book: Path, tmp_path: Path, sheet: str, row: int, key: str, value: str,
                                where: str, at: int, field: str, words: str) -> None:
    set_cell(book, sheet, row, key, value)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(book)
    err = caught.value
    assert (err.file, err.sheet, err.row, err.field) == ("tiny.xlsx", where, at, field)
    assert words in err.message
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(book), "--out", str(out), "--excel"])
    assert result.exit_code == 2
    assert f"tiny.xlsx [{where}], row {at}" in result.output
    assert not out.exists()


def test_empty_rows_are_skipped_and_rows_stay_true(book: Path) -> None:
    workbook = openpyxl.load_workbook(book)
    workbook["relationships"].insert_rows(2, amount=2)  # two empty rows above the data
    workbook["relationships"]["A20"] = "  "             # and a blank-looking one far below
    workbook.save(book)
    assert load_scenario(book).fingerprint() == load_scenario(TINY / "scenario.yaml").fingerprint()
    set_cell(book, "relationships", 5, "town_id", "441424125999")  # the second relationship, moved down by 2
    with pytest.raises(ScenarioError) as caught:
        load_scenario(book)
    assert (caught.value.sheet, caught.value.row, caught.value.field) == ("relationships", 5, "town_id")


def test_limits_hold_for_workbooks(book: Path) -> None:
    with pytest.raises(ScenarioError, match="more than 3 rows") as caught:
        load_scenario(book, limits=Limits(max_rows=3))
    assert (caught.value.sheet, caught.value.row) == ("towns", 5)
    with pytest.raises(ScenarioError, match="file is larger than"):
        load_scenario(book, limits=Limits(max_file_bytes=1000))


def test_unknown_and_missing_sheets(book: Path) -> None:
    workbook = openpyxl.load_workbook(book)
    workbook["scores"].title = "score"
    workbook.save(book)
    with pytest.raises(ScenarioError, match=r"unknown sheet 'score'") as caught:
        load_scenario(book)
    assert caught.value.sheet == "score"
    del workbook["towns"]
    del workbook["score"]
    workbook.save(book)
    with pytest.raises(ScenarioError, match="missing sheet 'towns'"):
        load_scenario(book)


def test_formula_in_text_cell_is_text(book: Path) -> None:
    set_cell(book, "towns", 2, "name", "=HYPERLINK(\"http://x\",\"高莞镇\")")
    assert load_scenario(book).towns[0].name == "=HYPERLINK(\"http://x\",\"高莞镇\")"


def test_solve_workbook_gives_the_yaml_plan(book: Path, tmp_path: Path) -> None:
    set_cell(book, "towns", 2, "name", "=cmd|' /C calc'!A0")  # a name a spreadsheet would run
    assert runner.invoke(app, ["solve", str(TINY / "scenario.yaml"), "--out", str(tmp_path / "yaml"), "-q"]
                         ).exit_code == 0
    out = tmp_path / "xlsx"
    result = runner.invoke(app, ["solve", str(book), "--out", str(out), "--excel", "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["plan.csv", "plan.xlsx", "summary.json"]
    plans = [(tmp_path / d / "plan.csv").read_text(encoding="utf-8").splitlines() for d in ("yaml", "xlsx")]
    assert [line.split(",")[4] for line in plans[0]] == [line.split(",")[4] for line in plans[1]]  # same leads
    summaries = [json.loads((tmp_path / d / "summary.json").read_text(encoding="utf-8")) for d in ("yaml", "xlsx")]
    assert summaries[0]["fingerprint"] != summaries[1]["fingerprint"]  # the town name differs
    assert summaries[0]["objective"] == summaries[1]["objective"]

    workbook = openpyxl.load_workbook(out / "plan.xlsx")
    tiers = {"prd 珠三角": "prd", "provincial 省直中直": "provincial", "local 本市": "local"}
    assert workbook.sheetnames == ["summary", "plan", "梅州市", "河源市", *tiers]
    assert all(ws.freeze_panes == "A2" for ws in workbook.worksheets)
    figures = {r[0]: r[2] for r in workbook["summary"].iter_rows(min_row=2, values_only=True)}
    assert figures["status"] == "OPTIMAL" and figures["audit.passed"] is True
    assert figures["objective"] == summaries[1]["objective"]
    plan = workbook["plan"]
    assert plan.max_row - 1 == figures["key_towns"] == 10
    assert sum(workbook[c].max_row - 1 for c in ("梅州市", "河源市")) == 10
    for sheet, tier in tiers.items():
        assert workbook[sheet].max_row - 1 == figures[f"tier_counts.{tier}"] == summaries[1]["tier_counts"][tier]
    names = [c.value for c in plan["B"]]
    assert "'=cmd|' /C calc'!A0" in names  # neutralised
    assert all(c.data_type != "f" for ws in workbook.worksheets for row in ws.iter_rows() for c in row)

    # a later run without --excel leaves no stale plan.xlsx beside the new plan.csv
    assert runner.invoke(app, ["solve", str(book), "--out", str(out), "-q"]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["plan.csv", "summary.json"]


def test_write_plan_workbook_library(tmp_path: Path) -> None:
    scenario = load_scenario(TINY / "scenario.yaml")
    target = tmp_path / "reports" / "plan.xlsx"
    write_plan_workbook(target, scenario, solve(scenario, time_limit=10, workers=1, seed=0))
    assert openpyxl.load_workbook(target)["plan"].max_row == 11
    assert [p.name for p in target.parent.iterdir()] == ["plan.xlsx"]  # no temporary file left
