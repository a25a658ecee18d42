"""Time limits and interruptions: a short time limit gives an audited feasible plan with its gap, or UNKNOWN with a
message, never a plan that breaks a rule; Ctrl-C stops the solve at once, writes nothing and exits 130."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models import Scenario, Status, load_scenario
from optimizer import audit, plan_value, solve
from optimizer.cli import INTERRUPTED, app
from optimizer.report import _sigint_deferred, write_outputs

ROOT = Path(__file__).resolve().parent.parent
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"
TINY = ROOT / "scenarios" / "tiny" / "scenario.yaml"


@pytest.fixture(scope="module")
def guangdong() -> Scenario:
    return load_scenario(GUANGDONG)


@pytest.mark.parametrize(("method", "limit"), [("cp-sat", 0.05), ("cp-sat", 0.5), ("auto", 0.05)])
def test_short_time_limit_gives_audited_plan_or_unknown(guangdong: Scenario, method: str, limit: float) -> None:
    result = solve(guangdong, method=method, time_limit=limit)  # type: ignore[arg-type]
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE, Status.UNKNOWN), result.message
    if result.status is Status.UNKNOWN:
        assert result.plan is None and "time limit" in result.message
        return
    assert result.plan is not None
    report = audit(guangdong, result.plan)
    assert report.passed, report.violations  # never a plan that breaks a rule, proven or not
    assert plan_value(guangdong, result.plan) == result.objective
    assert result.best_bound is not None and result.gap is not None
    assert result.best_bound >= result.objective - 1e-6 and result.gap >= 0
    if result.status is Status.OPTIMAL:
        assert result.gap == 0


def test_gap_limit_is_feasible_with_its_gap_not_optimal(guangdong: Scenario) -> None:
    """CP-SAT reports OPTIMAL when ``relative_gap`` stops it; bangfu reports FEASIBLE and the real bound."""
    loose = guangdong.model_copy(update={"solver": guangdong.solver.model_copy(update={"relative_gap": 0.1})})
    result = solve(loose, method="cp-sat", time_limit=60)
    assert result.plan is not None and audit(guangdong, result.plan).passed
    assert result.objective is not None and result.best_bound is not None and result.gap is not None
    if result.status is Status.FEASIBLE:
        assert 0 < result.gap <= 0.1 and result.best_bound > result.objective
        assert result.objective < solve(guangdong).objective  # the network path's proven optimum
    else:  # it may happen to stop exactly at the optimum: then it must be the optimum
        assert result.status is Status.OPTIMAL and result.gap == 0
        assert result.objective == solve(guangdong).objective


def test_cli_short_time_limit_exits_0_with_gap_or_1(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(GUANGDONG), "--out", str(out), "--method", "cp-sat",
                                      "--time-limit", "0.5"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["parameters"]["method"] == "cp-sat"
    if result.exit_code == 0:
        assert summary["status"] in ("OPTIMAL", "FEASIBLE") and summary["audit"]["passed"]
        assert summary["gap"] >= 0 and (out / "plan.csv").exists()
    else:
        assert result.exit_code == 1 and summary["status"] == "UNKNOWN", result.output
        assert "raise --time-limit" in result.output and not (out / "plan.csv").exists()


def test_bad_method_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["solve", str(TINY), "--out", str(tmp_path / "out"), "--method", "simplex"])
    assert result.exit_code == 2 and "cp-sat" in result.output
    assert not (tmp_path / "out").exists()


def _without_ignored_sigint() -> None:
    """A child of a non-interactive shell starts with SIGINT ignored; the test needs Python's own handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_exits_130(tmp_path: Path) -> None:
    folder = tmp_path / "guangdong"
    shutil.copytree(GUANGDONG.parent, folder)
    yaml_file = folder / "scenario.yaml"  # with CP-SAT's log on, to know when the search has started
    text = yaml_file.read_text(encoding="utf-8")
    assert "presolve: false}" in text
    yaml_file.write_text(text.replace("presolve: false}", "presolve: false, log: true}"), encoding="utf-8")
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "optimizer.cli", "solve", str(yaml_file), "--out", str(out), "--method", "cp-sat",
         "--time-limit", "120"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_without_ignored_sigint)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Starting CP-SAT"):
            break
    time.sleep(2)  # well into the search (the full model needs ~15 s to prove its optimum)
    assert process.poll() is None, "solved before the interrupt: the test needs a longer search"
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    stopped = time.perf_counter() - sent
    assert process.returncode == INTERRUPTED == 130, stderr
    assert stopped < 5, f"took {stopped:.1f} s to stop after Ctrl-C"
    assert "interrupted" in stderr and "Traceback" not in stderr + stdout
    assert not (out / "plan.csv").exists() and not out.exists()  # nothing partial, not even the folder


def test_sigint_still_works_after_a_solve() -> None:
    """ortools 9.15's own SIGINT catching leaves SIGINT at its default action after a solve (the next Ctrl-C kills
    the process, skipping every clean-up); bangfu turns it off, so Python's handler survives."""
    script = textwrap.dedent(f"""
        import os, signal, time
        from models import load_scenario
        from optimizer import solve
        solve(load_scenario({str(TINY)!r}), method="cp-sat")
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
            print("no KeyboardInterrupt")
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          preexec_fn=_without_ignored_sigint)
    assert proc.returncode == 0 and proc.stdout.strip() == "KeyboardInterrupt", (proc.returncode, proc.stderr)


def test_ctrl_c_during_the_renames_is_held_until_they_are_done(tmp_path: Path) -> None:
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # as interactive, even if started ignored
    try:
        with pytest.raises(KeyboardInterrupt), _sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here: it must only record the signal
            (tmp_path / "done").write_text("yes", encoding="utf-8")
        assert (tmp_path / "done").read_text(encoding="utf-8") == "yes"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_interrupted_write_leaves_no_temp_file_nor_new_folder(tmp_path: Path) -> None:
    class Interrupting(str):
        def encode(self, *args: object, **kwargs: object) -> bytes:  # type: ignore[override]
            raise KeyboardInterrupt

    out = tmp_path / "new" / "out"
    with pytest.raises(KeyboardInterrupt):
        write_outputs(out, {"summary.json": "{}", "plan.csv": Interrupting("x")})
    assert not out.exists()
    out.mkdir(parents=True)
    (out / "plan.csv").write_text("old", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        write_outputs(out, {"summary.json": "{}", "plan.csv": Interrupting("x")})
    assert sorted(p.name for p in out.iterdir()) == ["plan.csv"]  # the old file, untouched; no temp files
    assert (out / "plan.csv").read_text(encoding="utf-8") == "old"
