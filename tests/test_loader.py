"""Bad input: every error names file, row and field; the CLI exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from models import ScenarioError, load_scenario
from optimizer.cli import app

from conftest import edit

runner = CliRunner()

CASES = [
    # (file, old, new, expected file, row, field, words in message)
    ("towns.csv", "town_id,name,city,county,category", "town_id,name,city,county,kind", "towns.csv", 1,
     "category", "missing column"),
    ("units.csv", "sz-futian,深圳市福田区,prd", "sz-futian,深圳市福田区,district", "units.csv", 3, "tier", "prd"),
    ("units.csv", "gz-panyu,", "sz-nanshan,", "units.csv", 4, "unit_id", "duplicate"),
    ("counterparts.csv", "广州市,梅州市", "广州市,梅县市", "counterparts.csv", 3, "target_city", "does not exist"),
    ("units.csv", "prd,深圳市,1,5", "prd,深圳市,-1,5", "units.csv", 3, "capacity", "greater than or equal"),
    ("towns.csv", "441623110000,忠信镇,河源市,连平县,key,true", "441623110000,忠信镇,河源市,连平县,key,maybe",
     "towns.csv", 3, "border", "boolean"),
    ("units.csv", "prov-stats,广东省统计局,provincial,,", "prov-stats,广东省统计局,provincial,广州市,", "units.csv", 6,
     None, "provincial unit has no city"),
    ("relationships.csv", "gz-panyu,441424125000", "gz-panyu,441424125999", "relationships.csv", 3, "town_id",
     "unknown town"),
    ("scores.csv", "hy-office,441624116000,10", "hy-office,441624116000,ten", "scores.csv", 5, "score", "integer"),
    ("scenario.yaml", "continuity_weight: 50", "continuity_weigth: 50", "scenario.yaml", None,
     "policy.continuity_weigth", "Extra inputs"),
    ("scenario.yaml", "tier_ratio: {prd: 5, provincial: 2, local: 3}", "tier_ratio: {prd: 5, provincial: 2, local: 3",
     "scenario.yaml", 13, None, "broken YAML"),  # the line where the parser noticed
    ("scenario.yaml", "towns: towns.csv", "towns: town.csv", "town.csv", None, None, "file not found"),
    ("scenario.yaml", "towns: towns.csv", "towns: ../../etc/passwd", "scenario.yaml", None, "tables.towns",
     "leaves the scenario folder"),
]


@pytest.mark.parametrize(("file", "old", "new", "where", "row", "field", "words"), CASES,
                         ids=[f"{c[0]}:{c[-1]}" for c in CASES])
def test_bad_input_is_located(tiny_dir: Path, tmp_path: Path, file: str, old: str, new: str, where: str,
                              row: int | None, field: str | None, words: str) -> None:
    edit(tiny_dir / file, old, new)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tiny_dir / "scenario.yaml")
    err = caught.value
    assert err.file == where
    assert err.row == row
    assert err.field == field
    assert words in err.message
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(tiny_dir / "scenario.yaml"), "--out", str(out)])
    assert result.exit_code == 2
    assert where in result.output
    assert not out.exists()


def test_missing_scenario_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "file not found" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_plan_file_exits_2(tiny_dir: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("town,unit\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["audit", str(tiny_dir / "scenario.yaml"), str(plan)])
    assert result.exit_code == 2
    assert "missing column" in result.output


def test_bom_and_blank_cells_take_defaults(tiny_dir: Path) -> None:
    path = tiny_dir / "units.csv"
    text = path.read_text(encoding="utf-8").replace("hy-office,河源市委办公室,local,河源市,2,3,",
                                                    "hy-office,河源市委办公室,local,河源市,2,,")
    path.write_text("\ufeff" + text, encoding="utf-8")
    scenario = load_scenario(tiny_dir / "scenario.yaml")
    assert next(u for u in scenario.units if u.unit_id == "hy-office").strength == 3
