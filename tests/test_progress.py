"""Live progress: the solve reports (elapsed, best objective, bound) to a callback, ending at the optimum."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models import load_scenario
from optimizer import solve
from optimizer.cli import app

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"


@pytest.mark.parametrize("method", ["auto", "cp-sat"])
def test_callback_sees_the_bound_close(method: str) -> None:
    seen: list[tuple[float, float, float]] = []
    result = solve(load_scenario(TINY), method=method, progress=lambda *update: seen.append(update))
    assert seen, "no progress reported"
    times = [t for t, _, _ in seen]
    assert times == sorted(times) and times[0] >= 0
    assert all(bound >= result.objective - 1e-6 for _, _, bound in seen)  # every bound is a valid upper bound
    if method == "cp-sat":
        assert seen[-1][1] == result.objective  # the last CP-SAT solution is the plan
    else:
        assert not math.isnan(seen[-1][2])


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["solve", str(TINY), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0 and result.output == ""
