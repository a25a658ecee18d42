"""The command line: outputs, exit codes, infeasible scenarios, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from conftest import edit
from optimizer.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_solve_writes_plan_and_summary(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = run("solve", str(tiny_dir / "scenario.yaml"), "--out", str(out))
    assert code == 0, text
    assert "OPTIMAL" in text and "audit: passed" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL"
    assert summary["tier_counts"] == {"prd": 5, "provincial": 2, "local": 3}
    assert summary["audit"]["passed"] is True
    assert summary["audit"]["objective"] == summary["objective"] == summary["best_bound"]
    assert summary["gap"] == 0
    assert summary["changes"] == summary["continuity"]["changed"] >= 1
    for key in ("build_seconds", "solve_seconds", "ortools_version", "parameters", "fingerprint"):
        assert key in summary
    header = (out / "plan.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:8] == ["town_id", "town_name", "city", "county", "unit_id", "unit_name", "tier", "kept_previous"]
    assert sorted(p.name for p in out.iterdir()) == ["plan.csv", "summary.json"]  # no temp files left
    code, text = run("audit", str(tiny_dir / "scenario.yaml"), str(out / "plan.csv"))
    assert code == 0 and "passed" in text


def test_audit_cli_reports_violations(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("solve", str(tiny_dir / "scenario.yaml"), "--out", str(out), "--quiet") == (0, "")
    plan = out / "plan.csv"
    lines = plan.read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("441625200000"))  # ethnic town
    cells = lines[row].split(",")
    cells[4] = "hy-office"
    lines[row] = ",".join(cells)
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, text = run("audit", str(tiny_dir / "scenario.yaml"), str(plan))
    assert code == 1
    assert "[priority]" in text and "[tier_quota]" in text


def test_infeasible_names_rules_and_writes_no_plan(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("solve", str(tiny_dir / "scenario.yaml"), "--out", str(out), "--quiet")[0] == 0
    # PRD capacity 6 → 4, below the PRD quota of 5
    edit(tiny_dir / "units.csv", "sz-nanshan,深圳市南山区,prd,深圳市,2", "sz-nanshan,深圳市南山区,prd,深圳市,0")
    code, text = run("solve", str(tiny_dir / "scenario.yaml"), "--out", str(out))
    assert code == 1
    assert "tier_quota" in text and "capacity" in text and "INFEASIBLE" in text
    assert sorted(p.name for p in out.iterdir()) == ["diagnosis.json", "summary.json"]  # the stale plan.csv is gone
    diagnosis = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
    assert diagnosis["minimal"] is True
    assert [(c["rules"], c["entities"]) for c in diagnosis["conflicts"]] == [(["tier_quota"], ["prd"]),
                                                                          (["capacity"], ["prd"])]
    assert "珠三角帮扶层级牵头 5 个重点帮扶镇" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "INFEASIBLE"
    conflict = summary["conflicts"][0]
    assert conflict["rules"][:2] == ["tier_quota", "capacity"]
    assert conflict["figures"] == {"needed": 5, "available": 4}


def test_infeasible_found_by_cp_sat_exits_1(tiny_dir: Path, tmp_path: Path) -> None:
    # each city's provincial quota can be met on its own, but together they exceed the provincial tier's 2
    edit(tiny_dir / "scenario.yaml", "continuity_weight: 50",
         "city_quotas: {梅州市: {provincial: 2}, 河源市: {provincial: 1}}\n  continuity_weight: 50")
    code, text = run("solve", str(tiny_dir / "scenario.yaml"), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "INFEASIBLE" in text
    assert not (tmp_path / "out" / "plan.csv").exists()


def test_same_seed_same_plan_across_processes(tiny_dir: Path, tmp_path: Path) -> None:
    plans = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        subprocess.run([sys.executable, "-m", "optimizer.cli", "solve", str(tiny_dir / "scenario.yaml"),
                        "--out", str(out), "--quiet", "--workers", "2", "--seed", "7"], check=True)
        plans.append((out / "plan.csv").read_bytes())
    assert plans[0] == plans[1]


def test_schema_lists_every_table() -> None:
    code, text = run("schema")
    assert code == 0
    document = json.loads(text)
    assert set(document["tables"]) == {"towns", "units", "counterparts", "relationships", "scores", "pins", "baseline",
                                       "cadres"}
    assert "policy" in document["scenario_file"]["properties"]
