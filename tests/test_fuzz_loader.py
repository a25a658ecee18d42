"""Fuzzing the loaders through the CLI: hostile edits of a valid scenario never crash bangfu, never give a wrong plan.

Every run of ``bangfu solve`` on a mutated copy of ``scenarios/tiny`` ends in one of three ways:

- exit 0: a plan, written whole, that the independent audit passes again after reading ``plan.csv`` back;
- exit 1: no plan (infeasible or out of time), a ``summary.json`` that says why, and no ``plan.csv``;
- exit 2: a message naming the file (and the row and field where there is one), and no output folder at all.

Never a Python traceback, never an exception escaping the command. The mutations are what real files suffer:
wrong types, empty cells, full-width digits, a BOM, traditional for simplified characters, trailing and zero-width
spaces, huge numbers, duplicated ids, dangling references, cyclic or missing counterparts, empty tables, truncated
files, other encodings, binary garbage, and hostile YAML (unknown, duplicate or wrongly typed keys, paths out of the
folder, deep nesting). The cases that once crashed are kept below as a regression corpus.

CI runs a fixed number of derandomised examples (about 30 s); ``BANGFU_FUZZ_EXAMPLES=5000`` explores further.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from models import ScenarioError, load_plan, load_scenario
from optimizer.audit import audit, plan_value
from optimizer.cli import app

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny"
FILES: dict[str, bytes] = {p.name: p.read_bytes() for p in sorted(TINY.iterdir()) if p.is_file()}
CSV_FILES = sorted(n for n in FILES if n.endswith(".csv"))
EXAMPLES = int(os.environ.get("BANGFU_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 250, deadline=None, derandomize=not EXAMPLES, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

runner = CliRunner()
Files = dict[str, bytes]


# ---------------------------------------------------------------------------------------------------------------
# Hostile values
# ---------------------------------------------------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789.-abcdefghijklmnopqrstuvwxyz", "０１２３４５６７８９．－ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ")
TRADITIONAL = str.maketrans("广东梅县区镇乡宁华阳龙丰顺汕头尾阳江湛韶关云浮肇庆莲发办统计党宣传部", "廣東梅縣區鎮鄉寧華陽龍豐順汕頭尾陽江湛韶關雲浮肇慶蓮發辦統計黨宣傳部")
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u202e", "\u2028", "\x00", "\x07", "\x1b[31m"]
FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", '=HYPERLINK("http://example.com","x")', "=cmd|' /C calc'!A0"]
WEIRD = ["abc", "0", "1", "-1", "1.5", "1e9", "1e308", "-0", "0x10", "1_000", "99999999999999999999999",
         "-99999999999999999999999", "nan", "inf", "-inf", "true", "FALSE", "yes", "None", "null", "NULL", "key",
         "consolidation", "pilot", "prd", "provincial", "local", "previous_lead", "county_pairing", "pin", "ban",
         "[/x]", "[bold]", "'", '"', ",", "\\", "%s", "{0}", "../etc/passwd", "\u3000", "\t", " \n "]


def hostile(original: str, pool: list[str]) -> st.SearchStrategy[str]:
    """Values a cell may hold in a damaged file, derived from its original value and other values of the data."""
    options = [
        st.just(""), st.just("   "), st.sampled_from(WEIRD), st.sampled_from(FORMULAS),
        st.just(original.translate(FULL_WIDTH)), st.just(original.translate(TRADITIONAL)),
        st.sampled_from([original + "  ", "\u3000" + original, original + "\u00a0", original.upper()]),
        st.sampled_from(INVISIBLE).map(lambda z: original[:1] + z + original[1:]),
        st.just(original + "x"),  # dangling reference
        st.text(max_size=12), st.just("x" * 5000),
        st.integers(-10**6, 10**6).map(str), st.floats().map(repr),
    ]
    if pool:
        options.append(st.sampled_from(pool))  # duplicated ids, swapped references
    return st.one_of(options)


def value_pool(files: Files) -> list[str]:
    """Every distinct cell of the original tables: ids, names, cities, counties, tiers, numbers."""
    return sorted({cell for name in CSV_FILES for row in parse_csv(FILES[name]) for cell in row})


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"))))


def write_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------------------------
# Mutations: each edits the files in place and returns a description (shown when a case fails)
# ---------------------------------------------------------------------------------------------------------------

Draw = Callable[..., Any]


def edit_cell(draw: Draw, files: Files) -> str:
    name = draw(st.sampled_from(CSV_FILES))
    rows = parse_csv(files[name])
    if not rows:
        return f"{name}: empty, no cell to edit"
    r = draw(st.integers(0, len(rows) - 1))
    if not rows[r]:
        return f"{name}: row {r + 1} is empty"
    c = draw(st.integers(0, len(rows[r]) - 1))
    original = rows[r][c]
    rows[r][c] = draw(hostile(original, value_pool(files)), label="cell")
    files[name] = write_csv(rows)
    return f"{name}: row {r + 1} column {c + 1}: {original!r} → {rows[r][c]!r}"


def edit_rows(draw: Draw, files: Files) -> str:
    name = draw(st.sampled_from(CSV_FILES))
    rows = parse_csv(files[name])
    kind = draw(st.sampled_from(["delete", "duplicate", "swap", "header only", "no header", "drop column",
                                 "rename column", "add column", "add row", "extra cell", "missing cell",
                                 "blank row"]))
    body = len(rows) - 1
    width = len(rows[0]) if rows else 0
    if kind in ("delete", "duplicate", "extra cell", "missing cell", "blank row") and body < 1:
        return f"{name}: {kind}: no data row"
    r = draw(st.integers(1, body)) if body >= 1 else 0
    if kind == "delete":
        del rows[r]
    elif kind == "duplicate":
        rows.insert(draw(st.integers(1, body + 1)), list(rows[r]))
    elif kind == "swap" and body >= 2:
        s = draw(st.integers(1, body))
        rows[r], rows[s] = rows[s], rows[r]
    elif kind == "header only":
        rows = rows[:1]
    elif kind == "no header":
        rows = rows[1:]
    elif kind in ("drop column", "rename column") and width:
        c = draw(st.integers(0, width - 1))
        if kind == "drop column":
            rows = [row[:c] + row[c + 1:] for row in rows]
        else:
            rows[0][c] = draw(st.sampled_from(["", "Town_ID", rows[0][c] + " ", "\ufeff" + rows[0][c], "x",
                                               rows[0][(c + 1) % width]]))
    elif kind == "add column":
        rows = [row + [draw(st.sampled_from(["note", "", "town_id", "=1+1"]))] for row in rows]
    elif kind == "add row":  # made of values seen anywhere: duplicates, dangling or cyclic references
        pool = value_pool(files)
        rows.append([draw(st.sampled_from(pool) | hostile("", pool)) for _ in range(max(width, 1))])
    elif kind == "extra cell":
        rows[r].append(draw(st.sampled_from(["x", "", "1"])))
    elif kind == "missing cell" and rows[r]:
        rows[r].pop()
    elif kind == "blank row":
        rows.insert(r, [])
    files[name] = write_csv(rows)
    return f"{name}: {kind} (row {r + 1})"


def edit_bytes(draw: Draw, files: Files) -> str:
    name = draw(st.sampled_from(sorted(files)))
    data = files[name]
    kind = draw(st.sampled_from(["truncate", "garbage", "append garbage", "empty", "nul", "bom", "double bom",
                                 "crlf", "gbk", "utf-16", "latin-1 mojibake"]))
    at = draw(st.integers(0, len(data)))
    if kind == "truncate":
        data = data[:at]
    elif kind == "garbage":
        data = draw(st.binary(max_size=300))
    elif kind == "append garbage":
        data = data + draw(st.binary(min_size=1, max_size=40))
    elif kind == "empty":
        data = b""
    elif kind == "nul":
        data = data[:at] + b"\x00" + data[at:]
    elif kind == "bom":
        data = b"\xef\xbb\xbf" + data
    elif kind == "double bom":
        data = b"\xef\xbb\xbf\xef\xbb\xbf" + data
    elif kind == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif kind == "gbk":  # Excel on a Chinese Windows saves CSV as GBK
        data = data.decode("utf-8", errors="replace").encode("gbk", errors="replace")
    elif kind == "utf-16":
        data = data.decode("utf-8", errors="replace").encode("utf-16")
    elif kind == "latin-1 mojibake":
        data = data.decode("latin-1").encode("utf-8")
    files[name] = data
    return f"{name}: {kind} at byte {at}"


YAML_PATHS: list[tuple[str | int, ...]] = [
    ("name",), ("description",), ("tables",), ("tables", "towns"), ("tables", "units"), ("tables", "counterparts"),
    ("tables", "relationships"), ("tables", "scores"), ("tables", "pins"), ("policy",), ("policy", "tier_ratio"),
    ("policy", "tier_ratio", "prd"), ("policy", "tier_ratio", "local"), ("policy", "city_quotas"),
    ("policy", "continuity_weight"), ("policy", "max_changes"), ("policy", "distance_weight"), ("policy", "priority"),
    ("policy", "priority", 0, "flags"), ("policy", "priority", 0, "tiers"), ("policy", "priority", 1, "min_strength"),
    ("solver", "time_limit"), ("solver", "workers"), ("solver", "seed"), ("solver", "relative_gap"),
    ("solver", "presolve"), ("solver", "deterministic"), ("solver", "method"), ("solver",),
]
YAML_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 3, 0.5, 1.5, 10**30, -10**30, float("nan"), float("inf"), "", "abc", "1", [], {},
    [1, "x"], {"a": 1}, "../towns.csv", "/etc/passwd", "towns.csv", "units.csv", "scores.csv", ".", "a" * 300,
    "towns.csv\x00", "sub/../towns.csv", "河源市", "廣州市", "[/x]", {"河源市": {"prd": 3}}, {"梅州市": {"local": 2}},
    {"ghost": {"prd": 1}}, {"梅州市": {"local": 10**12}}, {"河源市": {"prd": 1, "provincial": 1, "local": 1}},
    {"prd": 0, "provincial": 0, "local": 0}, {"prd": 1, "provincial": 1, "local": 1}, {"prd": 5},
    [{"flags": ["border"], "tiers": ["local"]}], [{"flags": ["ethnic"], "min_strength": 5}], [{"flags": []}],
    [{"flags": ["old_base"], "tiers": ["prd"], "min_strength": 5}], ["border"], ["prd", "provincial"], "prd",
    "cp-sat", "auto", 0.001, 64, 2**31, {"towns": "towns.csv"},
]


def edit_yaml(draw: Draw, files: Files) -> str:
    data = _try_yaml(files["scenario.yaml"])
    if not isinstance(data, dict):
        return "scenario.yaml: not a mapping any more"
    path = draw(st.sampled_from(YAML_PATHS))
    kind = draw(st.sampled_from(["set", "set", "set", "delete", "unknown key"]))
    parent: Any = data
    for part in path[:-1]:
        if (isinstance(parent, dict) and part in parent) or (
                isinstance(parent, list) and isinstance(part, int) and part < len(parent)):
            parent = parent[part]
        else:
            return f"scenario.yaml: {path} is gone"
    key = path[-1]
    if not isinstance(parent, dict | list) or (isinstance(parent, list) and not isinstance(key, int)):
        return f"scenario.yaml: {path} has no parent"
    if kind == "set":
        value = draw(st.sampled_from(YAML_VALUES))
        if isinstance(parent, list):
            if key < len(parent):  # type: ignore[operator]
                parent[key] = value  # type: ignore[index]
        else:
            parent[key] = value
        description = f"{'.'.join(map(str, path))} = {value!r}"
    elif kind == "delete":
        if isinstance(parent, dict):
            parent.pop(key, None)
        description = f"delete {'.'.join(map(str, path))}"
    else:
        if isinstance(parent, dict):
            parent[draw(st.sampled_from(["continuity_weigth", "extra", "Tables", "max_change"]))] = 1
        description = f"unknown key under {'.'.join(map(str, path[:-1]))}"
    files["scenario.yaml"] = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")
    return f"scenario.yaml: {description}"


def edit_yaml_text(draw: Draw, files: Files) -> str:
    text = files["scenario.yaml"].decode("utf-8", errors="replace")
    kind = draw(st.sampled_from(["duplicate key", "deep nesting", "tabs", "not a mapping", "anchors", "flow junk"]))
    if kind == "duplicate key":
        text += draw(st.sampled_from(["\nname: again\n", "\npolicy: {max_changes: 9}\n", "\ntables: {towns: x.csv}\n"]))
    elif kind == "deep nesting":
        depth = draw(st.sampled_from([50, 5000]))
        text += f"\nextra: {'[' * depth}{']' * depth}\n"
    elif kind == "tabs":
        text = text.replace("  ", "\t", 1)
    elif kind == "not a mapping":
        text = draw(st.sampled_from(["- a\n- b\n", "just text\n", "42\n", "~\n", ""]))
    elif kind == "anchors":  # aliases must not blow up: a billion-laughs style expansion
        text += "\nlol: &a [x, x, x, x, x, x, x, x, x]\nlol2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
                "lol3: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    else:
        text = text.replace("tier_ratio: {", "tier_ratio: {{", 1)
    files["scenario.yaml"] = text.encode("utf-8")
    return f"scenario.yaml: {kind}"


def _try_yaml(data: bytes) -> Any:
    try:
        return yaml.safe_load(data.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return None


VALID_CELLS: dict[tuple[str, str], st.SearchStrategy[str]] = {
    ("units.csv", "capacity"): st.sampled_from(["0", "0", "1", "2", "3"]),
    ("units.csv", "strength"): st.integers(1, 5).map(str),
    ("scores.csv", "score"): st.integers(-60, 60).map(str),
    ("towns.csv", "category"): st.sampled_from(["key", "key", "consolidation", "pilot"]),
    ("towns.csv", "border"): st.sampled_from(["true", "false"]),
    ("towns.csv", "ethnic"): st.sampled_from(["true", "false"]),
    ("relationships.csv", "unit_id"): st.sampled_from(["sz-nanshan", "gz-panyu", "prov-sysu", "hy-office"]),
    ("pins.csv", "action"): st.sampled_from(["pin", "ban"]),
}


def edit_valid_cell(draw: Draw, files: Files) -> str:
    """A change that keeps the files valid but may make the scenario infeasible: exercises solve, audit and the
    diagnosis of infeasible scenarios rather than the loader."""
    name, column = draw(st.sampled_from(sorted(VALID_CELLS)))
    rows = parse_csv(files[name])
    if not rows or column not in rows[0] or len(rows) < 2:
        return f"{name}: no column {column}"
    c = rows[0].index(column)
    r = draw(st.integers(1, len(rows) - 1))
    if c >= len(rows[r]):
        return f"{name}: row {r + 1} is short"
    original, rows[r][c] = rows[r][c], draw(VALID_CELLS[(name, column)])
    files[name] = write_csv(rows)
    return f"{name}: row {r + 1} {column}: {original!r} → {rows[r][c]!r}"


MUTATIONS = [edit_cell, edit_cell, edit_cell, edit_rows, edit_rows, edit_bytes, edit_yaml, edit_yaml, edit_yaml_text,
             edit_valid_cell, edit_valid_cell, edit_valid_cell]


@st.composite
def mutated(draw: Draw) -> tuple[Files, list[str]]:
    """The tiny scenario's files after one to three mutations, and what was done."""
    files = dict(FILES)
    done = []
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(MUTATIONS))
        done.append(mutation(draw, files))
    return files, done


# ---------------------------------------------------------------------------------------------------------------
# The invariant
# ---------------------------------------------------------------------------------------------------------------

def materialise(files: Files, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder / "scenario.yaml"


def solve_cli(scenario: Path, out: Path, *extra: str) -> Result:
    return runner.invoke(app, ["solve", str(scenario), "--out", str(out), "--time-limit", "5", *extra])


def flat(text: str) -> str:
    """Text without white space: the 80-column console breaks long messages across lines."""
    return re.sub(r"\s+", "", text)


def check_run(scenario: Path, out: Path, result: Result) -> int:
    """The three ways a run may end (module docstring); returns the exit code."""
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (
        f"exception escaped: {type(exc).__name__}: {exc}\n{''.join(_format(result))}")
    assert "Traceback" not in result.output, result.output
    code = result.exit_code
    assert code in (0, 1, 2), f"exit {code}: {result.output}"
    if code == 2:
        assert not out.exists(), "bad input must create no output folder"
        assert "error" in result.output
        with pytest.raises(ScenarioError) as caught:
            load_scenario(scenario)
        err = caught.value
        assert err.file, f"the error names no file: {err}"
        assert flat(err.file) in flat(result.output)
        if err.row is not None:
            assert err.row >= 1
        if err.field is not None:
            assert err.field in flat(result.output) or len(err.field) > 60
        return code
    loaded = load_scenario(scenario)  # it solved, so it loads
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    files = sorted(p.name for p in out.iterdir())
    assert not [f for f in files if f.startswith(".")], f"temporary files left behind: {files}"
    if code == 0:
        assert summary["status"] in ("OPTIMAL", "FEASIBLE")
        assert summary["audit"]["passed"] is True
        plan = load_plan(out / "plan.csv")  # read back as a planner's tool would, then audited again
        report = audit(loaded, plan)
        assert report.passed, report.violations
        assert plan_value(loaded, plan) == summary["objective"]
        assert len(plan) == len(loaded.key_towns)
    else:
        assert summary["status"] in ("INFEASIBLE", "UNKNOWN"), "a plan that fails its own audit is a bug"
        assert summary["message"] or summary["conflicts"]
        assert "plan.csv" not in files
    return code


def _format(result: Result) -> list[str]:
    import traceback

    return traceback.format_exception(*result.exc_info) if result.exc_info else []


@FUZZ
@given(mutated())
def test_mutated_scenario_never_crashes_nor_lies(case: tuple[Files, list[str]]) -> None:
    files, done = case
    for line in done:
        note(line)
    with tempfile.TemporaryDirectory() as tmp:
        scenario = materialise(files, Path(tmp) / "scenario")
        out = Path(tmp) / "out"
        code = check_run(scenario, out, solve_cli(scenario, out))
    event(f"exit {code}")


@settings(FUZZ, max_examples=EXAMPLES or 100)
@given(st.lists(st.sampled_from(sorted(VALID_CELLS)), min_size=1, max_size=4), st.data())
def test_valid_edits_give_an_audited_plan_or_a_reason(cells: list[tuple[str, str]], data: st.DataObject) -> None:
    """Edits that keep the files valid (capacities, strengths, scores, categories, flags, previous leads, pins):
    exit 0 with a plan that passes the audit again, or exit 1 with the reason (often infeasible, diagnosed)."""
    files = dict(FILES)
    for _ in cells:
        note(edit_valid_cell(data.draw, files))
    with tempfile.TemporaryDirectory() as tmp:
        scenario = materialise(files, Path(tmp) / "scenario")
        out = Path(tmp) / "out"
        code = check_run(scenario, out, solve_cli(scenario, out))
    event(f"exit {code}")


@settings(max_examples=EXAMPLES or 80, deadline=None, derandomize=not EXAMPLES, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_plan_is_audited_or_refused(data: st.DataObject) -> None:
    """``bangfu audit`` on a damaged plan.csv: exit 0 (obeys), 1 (violations) or 2 (unreadable), no traceback."""
    plan = {"plan.csv": PLAN_CSV}
    mutation = data.draw(st.sampled_from([_plan_cell, _plan_cell, _plan_rows, _plan_bytes]))
    note(mutation(data.draw, plan))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.csv"
        path.write_bytes(plan["plan.csv"])
        result = runner.invoke(app, ["audit", str(TINY / "scenario.yaml"), str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output, result.output
    event(f"exit {result.exit_code}")


def _solved_plan() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        assert solve_cli(TINY / "scenario.yaml", Path(tmp) / "out", "--quiet").exit_code == 0
        return (Path(tmp) / "out" / "plan.csv").read_bytes()


PLAN_CSV = _solved_plan()


def _plan_cell(draw: Draw, files: Files) -> str:
    rows = parse_csv(files["plan.csv"])
    r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows[0]) - 1))
    rows[r][c] = draw(hostile(rows[r][c], [row[c] for row in rows[1:]]))
    files["plan.csv"] = write_csv(rows)
    return f"plan.csv row {r + 1} column {c + 1} = {rows[r][c]!r}"


def _plan_rows(draw: Draw, files: Files) -> str:
    return edit_rows(draw, _PlanView(files))  # type: ignore[arg-type]


def _plan_bytes(draw: Draw, files: Files) -> str:
    return edit_bytes(draw, files)


class _PlanView(dict):  # type: ignore[type-arg]
    """The plan file under the name edit_rows picks (one of the CSV tables)."""

    def __init__(self, files: Files) -> None:
        super().__init__()
        self.files = files

    def __getitem__(self, name: str) -> bytes:
        return self.files["plan.csv"]

    def __setitem__(self, name: str, value: bytes) -> None:
        self.files["plan.csv"] = value


# ---------------------------------------------------------------------------------------------------------------
# Regression corpus: cases the fuzzer (or review) found, each a crash or a silent wrong answer before its fix
# ---------------------------------------------------------------------------------------------------------------

def replace(name: str, old: str, new: str) -> Callable[[Files], None]:
    def apply(files: Files) -> None:
        text = files[name].decode("utf-8")
        assert old in text, (name, old)
        files[name] = text.replace(old, new, 1).encode("utf-8")
    return apply


def put(name: str, data: bytes | str) -> Callable[[Files], None]:
    def apply(files: Files) -> None:
        files[name] = data.encode("utf-8") if isinstance(data, str) else data
    return apply


CORPUS: list[tuple[str, Callable[[Files], None], int, str]] = [
    # (id, mutation, exit code, words in the output)
    ("path-nul-byte", replace("scenario.yaml", "towns: towns.csv", 'towns: "towns.csv\\0"'), 2, "tables.towns"),
    ("path-empty", replace("scenario.yaml", "towns: towns.csv", 'towns: ""'), 2, "it is empty"),
    ("path-is-folder", replace("scenario.yaml", "towns: towns.csv", "towns: ."), 2, "not a regular file"),
    ("path-through-file", replace("scenario.yaml", "towns: towns.csv", "towns: units.csv/x"), 2, "cannot read"),
    ("path-too-long", replace("scenario.yaml", "towns: towns.csv", "towns: " + "a" * 300), 2, "cannot read"),
    ("city-quota-above-int64", replace("scenario.yaml", "continuity_weight: 50",
                                       "city_quotas: {河源市: {prd: 100000000000000000000000}}\n  continuity_weight: 50"),
     2, "policy.city_quotas.河源市.prd"),
    ("max-changes-union-tag", replace("scenario.yaml", "max_changes: 2", "max_changes: .nan"), 2,
     "field 'policy.max_changes':"),
    ("city-quota-unknown-city-names-yaml", replace("scenario.yaml", "continuity_weight: 50",
                                                   "city_quotas: {廣州市: {prd: 1}}\n  continuity_weight: 50"),
     2, "scenario.yaml, field 'policy.city_quotas'"),
    ("yaml-deep-nesting", put("scenario.yaml", "a: " + "[" * 5000 + "]" * 5000), 2, "nested too deeply"),
    ("yaml-duplicate-key", replace("scenario.yaml", "max_changes: 2", "max_changes: 2\n  max_changes: 9"), 2,
     "duplicate key 'max_changes'"),
    ("markup-in-scenario-name", replace("scenario.yaml", "name: tiny", "name: '[/bold]'"), 0, "[/bold]"),
    ("markup-in-city-name", replace("towns.csv", "河源市,连平县", "[/x],连平县"), 0, "│ [/x]"),  # a city of its own
    ("markup-in-error", replace("units.csv", "sz-futian,深圳市福田区,prd", "sz-futian,深圳市福田区,[/x]"), 2, "[/x]"),
    ("nul-in-name", replace("towns.csv", "高莞镇", "高\0莞镇"), 2, "U+0000"),
    ("zero-width-in-city", replace("units.csv", "local,河源市", "local,河源市\u200b"), 2, "U+200B"),
    ("bom-inside-id", replace("towns.csv", "441623111000,高莞镇", "\ufeff441623111000,高莞镇"), 2, "U+FEFF"),
    ("traditional-counterpart-city", replace("counterparts.csv", "广州市,梅州市", "廣州市,梅州市"), 2,
     "no prd unit has city '廣州市'"),
    ("traditional-prd-unit-city", replace("units.csv", "gz-office,广州市政府办公厅,prd,广州市", "gz-office,广州市政府办公厅,prd,廣州市"),
     2, "has no counterpart city"),
    ("counterpart-to-itself", replace("counterparts.csv", "广州市,梅州市", "梅州市,梅州市"), 2, "its own counterpart"),
    ("formula-id", replace("units.csv", "sz-futian,", "=1+1,"), 2, "formula"),
    ("formula-name-is-neutralised", replace("towns.csv", "高莞镇", "=HYPERLINK(\"http://x\")"), 0, "OPTIMAL"),
    ("empty-units-table", put("units.csv", "unit_id,name,tier,city,capacity,strength,lon,lat\n"), 2,
     "no prd unit has city"),
    ("gbk-encoded-csv", lambda f: f.__setitem__("towns.csv", f["towns.csv"].decode().encode("gbk")), 2, "UTF-8"),
    ("full-width-capacity", replace("units.csv", "prd,深圳市,2,5", "prd,深圳市,２,5"), 2, "capacity"),
    ("huge-field", replace("towns.csv", "高莞镇", "x" * 200_000), 2, "malformed CSV"),
]


@pytest.mark.parametrize(("mutate", "code", "words"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_corpus(tmp_path: Path, mutate: Callable[[Files], None], code: int, words: str) -> None:
    files = dict(FILES)
    mutate(files)
    scenario = materialise(files, tmp_path / "scenario")
    out = tmp_path / "out"
    result = solve_cli(scenario, out)
    assert check_run(scenario, out, result) == code, result.output
    assert flat(words) in flat(result.output)


def test_formula_cells_are_neutralised_and_ids_read_back(tmp_path: Path) -> None:
    files = dict(FILES)
    replace("towns.csv", "高莞镇", '"=HYPERLINK(""http://x"",""高莞镇"")"')(files)
    replace("units.csv", "深圳市南山区", "@南山区")(files)
    scenario = materialise(files, tmp_path / "scenario")
    assert solve_cli(scenario, tmp_path / "out").exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "plan.csv").read_text(encoding="utf-8"))))
    gaoguan = next(r for r in rows if r["town_id"] == "441623111000")
    assert gaoguan["town_name"] == "'=HYPERLINK(\"http://x\",\"高莞镇\")"
    cells = [cell for r in rows for cell in r.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], "a cell a spreadsheet would run"
    result = runner.invoke(app, ["audit", str(scenario), str(tmp_path / "out" / "plan.csv")])
    assert result.exit_code == 0, result.output  # the ids came back unchanged


@pytest.mark.parametrize("case", ["bad-input", "infeasible", "solved"])
def test_no_traceback_reaches_stderr(tmp_path: Path, case: str) -> None:
    """The real process (not CliRunner): stderr carries a one-line message at most, never a traceback."""
    files = dict(FILES)
    if case == "bad-input":
        replace("scenario.yaml", "towns: towns.csv", 'towns: "towns.csv\\0"')(files)
    elif case == "infeasible":
        replace("units.csv", "sz-nanshan,深圳市南山区,prd,深圳市,2", "sz-nanshan,深圳市南山区,prd,深圳市,0")(files)
    else:
        replace("scenario.yaml", "name: tiny", "name: '[/bold]'")(files)
    scenario = materialise(files, tmp_path / "scenario")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "optimizer.cli", "solve", str(scenario), "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert proc.returncode == {"bad-input": 2, "infeasible": 1, "solved": 0}[case], proc.stderr
    assert out.exists() is (case != "bad-input")


# ---------------------------------------------------------------------------------------------------------------
# Hostile paths and sizes
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, Path]:
    """A scenario folder and, next to it, a folder holding a copy of towns.csv."""
    scenario = materialise(dict(FILES), tmp_path / "scenario")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(TINY / "towns.csv", elsewhere / "towns.csv")
    return scenario, elsewhere / "towns.csv"


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "symlinked-folder"])
def test_table_paths_stay_inside_unless_allowed(outside: tuple[Path, Path], how: str) -> None:
    scenario, towns = outside
    folder = scenario.parent
    if how == "absolute":
        rel = str(towns)
    elif how == "dotdot":
        rel = "../elsewhere/towns.csv"
    elif how == "symlink":
        (folder / "link.csv").symlink_to(towns)
        rel = "link.csv"
    else:
        (folder / "data").symlink_to(towns.parent, target_is_directory=True)
        rel = "data/towns.csv"
    replace("scenario.yaml", "towns: towns.csv", f"towns: {rel}")(files := {"scenario.yaml": scenario.read_bytes()})
    scenario.write_bytes(files["scenario.yaml"])
    with pytest.raises(ScenarioError, match="leaves the scenario folder") as caught:
        load_scenario(scenario)
    assert caught.value.field == "tables.towns" and caught.value.file == "scenario.yaml"
    out = folder.parent / "out"
    result = solve_cli(scenario, out)
    assert result.exit_code == 2 and not out.exists()
    assert load_scenario(scenario, allow_outside=True).towns  # the explicit opt-in
    assert solve_cli(scenario, out, "--allow-outside", "--quiet").exit_code == 0


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    scenario = materialise(dict(FILES), tmp_path / "scenario")
    (scenario.parent / "loop.csv").symlink_to(scenario.parent / "loop.csv")
    scenario.write_text(scenario.read_text(encoding="utf-8").replace("towns: towns.csv", "towns: loop.csv"),
                        encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario, allow_outside=True)
    assert caught.value.file in ("scenario.yaml", "loop.csv")


def test_size_limits_are_clear_and_configurable(tmp_path: Path) -> None:
    from models.loader import Limits

    scenario = materialise(dict(FILES), tmp_path / "scenario")
    with pytest.raises(ScenarioError, match="more than 5 rows") as caught:
        load_scenario(scenario, limits=Limits(max_rows=5))
    assert (caught.value.file, caught.value.row) == ("towns.csv", 7)
    with pytest.raises(ScenarioError, match="larger than") as caught:
        load_scenario(scenario, limits=Limits(max_file_bytes=500))
    assert caught.value.file in ("scenario.yaml", str(scenario))
    result = solve_cli(scenario, tmp_path / "out", "--max-rows", "5")
    assert result.exit_code == 2 and flat("more than 5 rows") in flat(result.output)
    assert not (tmp_path / "out").exists()
    assert solve_cli(scenario, tmp_path / "out", "--max-rows", "20", "--max-file-mib", "1", "-q").exit_code == 0


def test_out_is_a_file_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    result = solve_cli(TINY / "scenario.yaml", out)
    assert result.exit_code == 2 and flat("is not a folder") in flat(result.output)
    assert out.read_text(encoding="utf-8") == "not a folder"


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    """Python tags are refused: the loader is yaml.safe_load's (a SafeLoader subclass)."""
    scenario = materialise(dict(FILES), tmp_path / "scenario")
    scenario.write_text("name: !!python/object/apply:os.system ['echo pwned']\n" + scenario.read_text(
        encoding="utf-8").replace("name: tiny\n", ""), encoding="utf-8")
    with pytest.raises(ScenarioError, match="broken YAML"):
        load_scenario(scenario)
    source = (ROOT / "models" / "loader.py").read_text(encoding="utf-8")
    assert "yaml.load(text, Loader=_StrictLoader)" in source and "class _StrictLoader(yaml.SafeLoader)" in source
    for module in [*(ROOT / "models").glob("*.py"), *(ROOT / "optimizer").rglob("*.py")]:
        text = module.read_text(encoding="utf-8")
        assert not re.search(r"yaml\.(unsafe_load|full_load|load\((?![^)]*Loader=_StrictLoader))", text), module
