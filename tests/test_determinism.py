"""Determinism and provenance: the scenario fingerprint is the same in every process and changes with any input;
results record the ortools version and the parameters used. (Same plan byte for byte in another process:
tests/test_cli.py and tests/test_guangdong.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import ortools
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from models import Scenario, ScenarioError, load_scenario
from optimizer.cli import app
from optimizer.solve import settings_for, solve, solver_parameters
from tests.strategies import generated

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [ROOT / "scenarios" / "tiny" / "scenario.yaml", ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"]


def test_fingerprint_is_the_same_in_every_process() -> None:
    """Whatever the hash seed: the fingerprint is a hash of JSON, with no set or dict-order dependence."""
    script = ("import sys; from models import load_scenario; "
              "print(*(load_scenario(p).fingerprint() for p in sys.argv[1:]))")
    here = [load_scenario(p).fingerprint() for p in SCENARIOS]
    for seed in ("0", "12345"):
        proc = subprocess.run([sys.executable, "-c", script, *map(str, SCENARIOS)], cwd=ROOT, capture_output=True,
                              text=True, check=True, env=os.environ | {"PYTHONHASHSEED": seed})
        assert proc.stdout.split() == here


def test_summary_records_version_parameters_and_fingerprint(tmp_path: Path) -> None:
    scenario_path = SCENARIOS[0]
    scenario = load_scenario(scenario_path)
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["solve", str(scenario_path), "--out", str(out), "--seed", "3", "-q"]).exit_code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["ortools_version"] == ortools.__version__
    assert summary["fingerprint"] == scenario.fingerprint()
    expected = solver_parameters(settings_for(scenario, seed=3))
    assert {k: summary["parameters"][k] for k in expected} == expected  # what CP-SAT was given, CLI overrides too
    assert summary["parameters"]["method"] == scenario.solver.method
    assert summary["parameters"]["catch_sigint_signal"] is False
    result = solve(scenario, seed=3)  # the library records the same
    assert (result.fingerprint, result.ortools_version, result.parameters) == (
        summary["fingerprint"], summary["ortools_version"], summary["parameters"])


def _edited(value: Any, draw: Any) -> Any:
    """A different value of the same kind."""
    if isinstance(value, StrEnum):
        return draw(st.sampled_from([m for m in type(value) if m is not value]))
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + draw(st.sampled_from([-1, 1]))
    if isinstance(value, float):
        return value / 2 if value else 0.5
    if isinstance(value, str):
        return value + draw(st.sampled_from(["x", "镇", " 2"]))
    return None


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(generated(), st.data())
def test_fingerprint_changes_with_any_input(g: Any, data: st.DataObject) -> None:
    scenario: Scenario = g.scenario
    dump = scenario.model_dump()
    same = Scenario.model_validate(dump | {"name": "renamed", "description": "other words", "sources": {"towns": "x"}})
    assert same.fingerprint() == scenario.fingerprint()  # labels are not inputs
    part = data.draw(st.sampled_from(["towns", "units", "counterparts", "relationships", "scores", "policy", "solver"]))
    if part in ("policy", "solver"):
        target = dump[part]
        key = data.draw(st.sampled_from(sorted(k for k, v in target.items() if isinstance(v, int | float | str))))
    else:
        assume(dump[part])
        target = data.draw(st.sampled_from(dump[part]))
        key = data.draw(st.sampled_from(sorted(k for k, v in target.items() if v is not None)))
    value = _edited(target[key], data.draw)
    assume(value is not None)
    target[key] = value
    try:
        changed = Scenario.model_validate(dump)
    except (ScenarioError, ValidationError):
        assume(False)  # the edit broke a cross-reference or a bound: not a scenario
        return
    assert changed.fingerprint() != scenario.fingerprint(), f"{part}.{key} → {value!r}"


def test_row_order_is_part_of_the_fingerprint() -> None:
    """File order decides the model's variable order, hence which of equal-valued plans CP-SAT returns."""
    scenario = load_scenario(SCENARIOS[0])
    reordered = Scenario.model_validate(scenario.model_dump() | {"towns": tuple(reversed(scenario.towns))})
    assert reordered.fingerprint() != scenario.fingerprint()



def test_fingerprint_ignores_how_the_files_are_saved(tmp_path: Path) -> None:
    """CRLF line endings, a BOM, quoted cells, padded cells and 1.50 for 1.5 are the same data."""
    folder = tmp_path / "tiny"
    shutil.copytree(SCENARIOS[0].parent, folder)
    units = folder / "units.csv"
    text = units.read_text(encoding="utf-8").replace("113.930413", "113.9304130").replace(
        "sz-futian,", '"sz-futian" ,')
    units.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert load_scenario(folder / "scenario.yaml").fingerprint() == load_scenario(SCENARIOS[0]).fingerprint()


def test_fingerprint_is_the_hash_of_the_whole_json_with_shared_rows() -> None:
    """Assembled field by field with tables cached under their rows' identities, the fingerprint is still the
    SHA-256 of ``model_dump_json``: for a base, for variants sharing its rows, and with one row replaced."""
    import hashlib

    from optimizer.grid import apply

    def reference(s: Scenario) -> str:
        return hashlib.sha256(s.model_dump_json(exclude={"sources", "name", "description"}).encode()).hexdigest()

    base = load_scenario(SCENARIOS[1])
    assert base.fingerprint() == reference(base)
    unit = base.units[0].unit_id
    for settings_ in ({"policy.distance_weight": 0.4}, {f"capacity.{unit}": 9}, {"remove_units": [unit]}):
        variant = apply(base, settings_)
        assert variant.fingerprint() == reference(variant) != base.fingerprint(), settings_
    middle = len(base.cadres) // 2  # same first and last rows: only the identity check sees the change
    older = base.cadres[middle].model_copy(update={"age": base.cadres[middle].age + 1})
    changed = base.model_copy(update={"cadres": (*base.cadres[:middle], older, *base.cadres[middle + 1:])})
    assert changed.fingerprint() == reference(changed) != base.fingerprint()
