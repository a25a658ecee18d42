"""First staffing: each eligibility rule refused in policy words, shortages across towns, the flow's optimum
against brute force and networkx, the team audit on random staffings, determinism, and ``bangfu staff``."""

from __future__ import annotations

import csv
import doctest
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from staffing_cases import build, cadre, staffing_cases
from typer.testing import CliRunner

import optimizer.teams.staff
import optimizer.teams.teams_audit
from models import Rule, Status, load_scenario
from optimizer import solve
from optimizer.cli import app
from optimizer.teams.cadres import assign_cadres, candidate_arcs
from optimizer.teams.posts import CadreTable, TeamUnits
from optimizer.teams.staff import staff
from optimizer.teams.teams_audit import audit_staffing, failures

TINY = ROOT / "scenarios" / "tiny-staffing" / "scenario.yaml"
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"
runner = CliRunner()


def case(**changes: dict[str, Any]) -> Any:
    """A leader L (lead unit; 47, too old to be a member), a member M (member unit) and a county head H (lead
    unit, paired with 梅县区; 52, too old to lead or join a team), so each post has one candidate;
    ``changes`` edits a cadre's fields (``unit_id`` moves them)."""
    rows = {"L": ("lead", {"rank": "副科", "age": 47}), "M": ("mem", {}), "H": ("lead", {"rank": "副处", "age": 52})}
    cadres = []
    for name, (unit, fields) in rows.items():
        change = dict(changes.get(name, {}))
        cadres.append(cadre(name, str(change.pop("unit_id", unit)), **(fields | change)))
    return build(cadres, leads={"t1": "lead"}, members={"t1": ["mem"]}, units=["other"], pairings=[("lead", "梅县区")])


ELIGIBILITY = [
    # (id, changes to one cadre, rule that must be named, words that must appear)
    ("leader-party", {"L": {"party_member": False, "party_years": 0}}, Rule.LEADER,
     "of the others 1 is not a Party member, 1 is over 50"),  # H, 52, is the other
    ("leader-age", {"L": {"age": 51}}, Rule.LEADER,
     "has 0 eligible cadre(s) for its leader post; of the others 2 are over 50"),
    ("leader-rank", {"L": {"rank": "科员"}}, Rule.LEADER, "of the others 1 is over 50, 1 is below 副科"),
    ("leader-unit", {"L": {"unit_id": "mem"}}, Rule.LEADER,
     "its lead unit lead has 0 eligible cadre(s) for its leader post; of the others 1 is over 50"),
    ("member-party", {"M": {"party_member": False, "party_years": 0}}, Rule.MEMBER,
     "0 eligible cadre(s) for its member post; of the others 1 is not a Party member, 2 are over 45"),  # L and H
    ("member-party-years", {"M": {"party_years": 0}}, Rule.MEMBER,
     "of the others 1 has under 1 year(s) of Party membership, 2 are over 45"),
    ("member-work-years", {"M": {"work_years": 1}}, Rule.MEMBER,
     "of the others 1 has under 2 year(s) of work, 2 are over 45"),
    ("member-age", {"M": {"age": 46}}, Rule.MEMBER, "of the others 3 are over 45"),
    ("member-unit", {"M": {"unit_id": "other"}}, Rule.MEMBER,
     "its group's units (lead, mem) have 0 eligible cadre(s) for its member post; of the others 2 are over 45"),
    ("head-rank", {"H": {"rank": "正科"}}, Rule.COUNTY_HEAD, "2 are below 副处"),
    ("availability", {"M": {"available_from": 2023}}, Rule.AVAILABILITY, "2 are over 45, 1 is not available in 2022"),
]


def test_the_base_case_is_staffed_and_audited() -> None:
    scenario, plan = case()
    result = staff(scenario, plan)
    assert result.status is Status.OPTIMAL
    assert [(t.leader, t.members) for t in result.teams] == [("L", ("M",))]
    assert [(h.unit_id, h.county, h.cadre_id) for h in result.county_heads] == [("lead", "梅县区", "H")]
    assert audit_staffing(scenario, plan, result).passed


@pytest.mark.parametrize(("changes", "rule", "words"), [c[1:] for c in ELIGIBILITY], ids=[c[0] for c in ELIGIBILITY])
def test_only_an_ineligible_cadre_is_refused_by_name(changes: dict[str, Any], rule: Rule, words: str) -> None:
    scenario, plan = case(**changes)
    result = staff(scenario, plan)
    assert result.status is Status.INFEASIBLE and not result.teams
    assert len(result.conflicts) == 1, [c.message for c in result.conflicts]
    conflict = result.conflicts[0]
    assert rule in conflict.rules
    assert words in conflict.message, conflict.message


def test_the_shortage_message_counts_every_reason() -> None:
    """The brief's example: 4 members needed, 2 eligible; 3 are over 45 and 1 is not a Party member."""
    cadres = [cadre("L", "lead", age=47), cadre("ok1", "mem"), cadre("ok2", "mem"), cadre("old1", "mem", age=46),
              cadre("old2", "mem", age=50), cadre("np", "mem", party_member=False, party_years=0)]
    scenario, plan = build(cadres, leads={"t1": "lead"}, members={"t1": ["mem"]}, min_team_size=5)
    result = staff(scenario, plan)
    [conflict] = result.conflicts
    assert conflict.message == ("town 镇t1 (t1) needs 4 members; its group's units (lead, mem) have 2 eligible "
                                "cadre(s) for its member post; of the others 1 is not a Party member, 3 are over 45")
    assert conflict.rules == (Rule.TEAM_SIZE, Rule.MEMBER) and conflict.figures == {"needed": 4, "eligible": 2}


def test_a_scenario_without_cadres_says_so() -> None:
    scenario, plan = build([], leads={"t1": "lead"})
    result = staff(scenario, plan)
    assert result.status is Status.INFEASIBLE
    assert [c.message for c in result.conflicts] == [
        "the scenario has no cadres: add a cadres table (scenario file: tables: {cadres: cadres.csv})"]


def test_a_unit_leading_two_towns_needs_two_leaders() -> None:
    scenario, plan = build([cadre("L1", "lead"), cadre("x1", "lead", rank="科员"), cadre("M1", "m"), cadre("M2", "m")],
                           leads={"t1": "lead", "t2": "lead"}, members={"t1": ["m"], "t2": ["m"]})
    result = staff(scenario, plan)
    assert result.status is Status.INFEASIBLE
    [conflict] = result.conflicts
    assert {Rule.LEADER, Rule.ONE_POST} <= set(conflict.rules)
    assert conflict.figures["needed"] > conflict.figures["eligible"]
    assert "town 镇t1 (t1) needs a leader" in conflict.message and "town 镇t2 (t2) needs a leader" in conflict.message


def test_previous_town_is_kept_first() -> None:
    """Two equally eligible members; the one who served the town before is chosen, in either file order."""
    for order in (["new", "old"], ["old", "new"]):
        cadres = [cadre("L", "lead")] + [cadre(c, "mem", previous_town="t1" if c == "old" else None) for c in order]
        scenario, plan = build(cadres, leads={"t1": "lead"}, members={"t1": ["mem"]})
        result = staff(scenario, plan)
        assert result.teams[0].members == ("old",) and result.kept == 1


# --- exact optimum: brute force and networkx ---------------------------------------------------------------

def _oracle_posts(scenario: Any, plan: Any) -> list[tuple[str, set[str], int, Any]]:
    """(role, units, seats, rule) per post, read from the policy without the model's helpers."""
    policy = scenario.policy.staffing
    out = []
    members = plan.members_of()
    for a in plan.assignments:
        out.append(("leader", {a.unit_id}, 1, policy.leader))
        if policy.min_team_size > 1:
            out.append(("member", {a.unit_id, *members.get(a.town_id, ())}, policy.min_team_size - 1, policy.member))
    counties = {t.town_id: t.county for t in scenario.towns}
    led = {(a.unit_id, counties[a.town_id]) for a in plan.assignments}
    for r in scenario.relationships:
        if (r.unit_id, r.county) in led:
            out.append(("county_head", {r.unit_id}, 1, policy.county_head))
    return out


def _can(c: Any, units: set[str], rule: Any) -> bool:
    return c.unit_id in units and not failures(c, rule, 0) and (c.available_from or 0) <= 2022 <= (
        c.available_until or 9999)


def _brute_force(scenario: Any, plan: Any) -> int | None:
    """Most cadres kept on their previous town over every full staffing (None: no full staffing)."""
    posts = _oracle_posts(scenario, plan)
    town_of = [a.town_id for a in plan.assignments for _ in range(1 + (scenario.policy.staffing.min_team_size > 1))]
    seats = [i for i, post in enumerate(posts) for _ in range(post[2])]
    best = None
    cadres = scenario.cadres
    for chosen in itertools.permutations(range(len(cadres)), len(seats)):
        if all(_can(cadres[c], posts[i][1], posts[i][3]) for c, i in zip(chosen, seats, strict=True)):
            kept = sum(i < len(town_of) and cadres[c].previous_town == town_of[i]
                       for c, i in zip(chosen, seats, strict=True))
            best = kept if best is None else max(best, kept)
    return best


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(staffing_cases(max_cadres=6))
def test_flow_matches_brute_force(case_: Any) -> None:
    scenario, plan = case_
    seats = sum(p[2] for p in _oracle_posts(scenario, plan))
    if seats > 5:  # keep the enumeration small
        return
    members = plan.members_of()
    teams = {a.town_id: TeamUnits(a.unit_id, members.get(a.town_id, ())) for a in plan.assignments}
    staffing = assign_cadres(scenario, teams)
    best = _brute_force(scenario, plan)
    assert staffing.complete == (best is not None)
    if best is not None:
        assert staffing.kept == best


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(staffing_cases(max_cadres=14))
def test_flow_cost_equals_networkx(case_: Any) -> None:
    """The same arcs and costs as a networkx min-cost flow: equal optimal cost and equal fill."""
    scenario, plan = case_
    members = plan.members_of()
    teams = {a.town_id: TeamUnits(a.unit_id, members.get(a.town_id, ())) for a in plan.assignments}
    table = CadreTable.of(scenario)
    arcs = candidate_arcs(scenario, teams, table)
    staffing = assign_cadres(scenario, teams, table)
    g = nx.DiGraph()
    g.add_node("s", demand=-arcs.seats)
    g.add_node("t", demand=arcs.seats)
    g.add_edge("s", "t", capacity=arcs.seats, weight=10**9)  # unfilled seats, at a price above any staffing
    for r in set(arcs.cadre.tolist()):
        g.add_edge("s", ("c", r), capacity=1, weight=0)
    for r, p, c in zip(arcs.cadre.tolist(), arcs.post.tolist(), arcs.cost.tolist(), strict=True):
        g.add_edge(("c", r), ("p", p), capacity=1, weight=c)
    for p, post in enumerate(arcs.posts):
        g.add_edge(("p", p), "t", capacity=post.seats, weight=0)
    flow = nx.min_cost_flow(g)
    filled = arcs.seats - flow["s"]["t"]
    assert staffing.complete == (filled == arcs.seats)
    chosen = {(r, p) for p, rows in enumerate(staffing.holders) for r in rows}
    ours = sum(c for r, p, c in zip(arcs.cadre.tolist(), arcs.post.tolist(), arcs.cost.tolist(), strict=True)
               if (r, p) in chosen)
    if staffing.complete:
        assert ours == nx.cost_of_flow(g, flow)


# --- the audit on random staffings -------------------------------------------------------------------------

@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(staffing_cases(max_cadres=14))
def test_every_staffed_plan_passes_the_team_audit(case_: Any) -> None:
    scenario, plan = case_
    result = staff(scenario, plan)
    if result.has_teams:
        report = audit_staffing(scenario, plan, result)
        assert report.passed, [v.message for v in report.violations]
    else:
        assert result.status is Status.INFEASIBLE and result.conflicts


def test_the_audit_catches_each_broken_rule() -> None:
    """A valid staffing broken one rule at a time: the audit names each break under its rule."""
    scenario, plan = case()
    good = staff(scenario, plan)
    assert audit_staffing(scenario, plan, good).passed
    team, stints = good.teams[0], good.stints
    more = scenario.model_copy(update={"cadres": (*scenario.cadres, cadre("X", "other"), cadre("Y", "mem", age=60))})
    away = scenario.model_copy(update={"cadres": tuple(c.model_copy(update={"available_until": 2021})
                                                       if c.cadre_id == "M" else c for c in scenario.cadres)})

    def member(replacement: str) -> Any:
        return good.model_copy(update={"teams": (team.model_copy(update={"members": (replacement,)}),),
                                       "stints": tuple(s.model_copy(update={"cadre_id": replacement})
                                                       if s.cadre_id == "M" else s for s in stints)})

    breaks = [
        (Rule.TEAM_SIZE, scenario, good.model_copy(update={"teams": (team.model_copy(update={"members": ()}),)})),
        (Rule.LEADER, scenario, good.model_copy(update={"teams": (team.model_copy(update={"leader": "M"}),)})),
        (Rule.ONE_POST, scenario, good.model_copy(update={"stints": (*stints, stints[0])})),
        (Rule.COUNTY_HEAD, scenario, good.model_copy(update={"county_heads": ()})),
        (Rule.TERM, scenario, good.model_copy(update={"stints": tuple(s.model_copy(update={"end": s.start + 5})
                                                                      for s in stints)})),
        (Rule.MEMBER, more, member("X")),  # from a unit outside the group
        (Rule.MEMBER, more, member("Y")),  # over 45
        (Rule.AVAILABILITY, away, good),
    ]
    for rule, where, broken in breaks:
        assert rule in audit_staffing(where, plan, broken).rules_broken(), rule


# --- the shipped example, determinism, the command ---------------------------------------------------------

def test_tiny_staffing_is_optimal_audited_and_deterministic() -> None:
    scenario = load_scenario(TINY)
    plan = solve(scenario).plan
    assert plan is not None
    first, second = staff(scenario, plan), staff(scenario, plan)
    assert first.status is Status.OPTIMAL and len(first.teams) == len(scenario.key_towns)
    assert first.model_dump(exclude={"timings"}) == second.model_dump(exclude={"timings"})
    assert audit_staffing(scenario, plan, first).passed


def test_guangdong_staffs_all_600_key_towns() -> None:
    """The shipped scenario: its optimal plan and groups, a team of 5 for every key town, a head for every county
    pairing whose unit leads a town there, a six-year calendar at its proven optimum, and the audit passes."""
    scenario = load_scenario(GUANGDONG)
    plan = solve(scenario).plan
    assert plan is not None
    result = staff(scenario, plan)
    assert result.status is Status.OPTIMAL and result.replacements == result.replacements_bound
    assert len(result.teams) == len(scenario.key_towns) == 600
    assert all(len(t.members) == 4 for t in result.teams)
    county = {t.town_id: t.county for t in scenario.towns}
    led = {(a.unit_id, county[a.town_id]) for a in plan.assignments}
    pairings = {(r.unit_id, r.county) for r in scenario.relationships if r.kind.value == "county_pairing"}
    assert {(h.unit_id, h.county) for h in result.county_heads} == pairings & led
    assert 0 < result.kept <= sum(c.previous_town is not None for c in scenario.cadres)
    report = audit_staffing(scenario, plan, result)
    assert report.passed, [v.message for v in report.violations[:5]]


def test_docstring_examples_run() -> None:
    for module in (optimizer.teams.staff, optimizer.teams.teams_audit):
        failed, attempted = doctest.testmod(module)
        assert attempted > 0 and failed == 0, module.__name__


def test_bangfu_staff_is_the_same_in_another_process(tmp_path: Path) -> None:
    out = [tmp_path / "a", tmp_path / "b"]
    assert runner.invoke(app, ["solve", str(TINY), "--out", str(out[0]), "--quiet"]).exit_code == 0
    plan = out[0] / "plan.csv"
    result = runner.invoke(app, ["staff", str(TINY), str(plan), "--out", str(out[0])])
    assert result.exit_code == 0, result.output
    assert "team audit: passed" in result.output
    env = os.environ | {"PYTHONHASHSEED": "123"}
    done = subprocess.run([sys.executable, "-m", "optimizer.cli", "staff", str(TINY), str(plan), "--out", str(out[1])],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for name in ("teams.csv", "rotation.csv"):
        assert (out[0] / name).read_bytes() == (out[1] / name).read_bytes()
    summary = json.loads((out[0] / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["audit"]["passed"] and summary["teams"] == 10


def test_bangfu_staff_infeasible_writes_the_diagnosis_only(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    folder.mkdir()
    for f in (ROOT / "scenarios" / "tiny-staffing").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(folder / "scenario.yaml"), "--out", str(out), "--quiet"]).exit_code == 0
    assert runner.invoke(app, ["staff", str(folder / "scenario.yaml"), str(out / "plan.csv"), "--out",
                               str(out)]).exit_code == 0
    yaml = folder / "scenario.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("min_team_size: 5", "min_team_size: 40"), encoding="utf-8")
    result = runner.invoke(app, ["staff", str(yaml), str(out / "plan.csv"), "--out", str(out)])
    assert result.exit_code == 1 and "INFEASIBLE" in result.output and "no first staffing" in result.output
    assert not (out / "teams.csv").exists() and not (out / "rotation.csv").exists()
    diagnosis = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert diagnosis["status"] == summary["status"] == "INFEASIBLE" and diagnosis["conflicts"] == summary["conflicts"]
    assert all("team_size" in c["rules"] and "needs 39 members" in c["message"] for c in diagnosis["conflicts"])


def test_bangfu_staff_bad_input_writes_nothing(tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("town_id,unit_id\n441623111000,nobody\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["staff", str(TINY), str(plan), "--out", str(out)])
    assert result.exit_code == 2 and "unknown unit 'nobody'" in result.output
    assert not out.exists()


def test_a_bad_cadre_row_is_located(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    folder.mkdir()
    for f in (ROOT / "scenarios" / "tiny-staffing").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    with (folder / "cadres.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[2]["rank"] = "处长"  # the third cadre: spreadsheet row 4
    with (folder / "cadres.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    result = runner.invoke(app, ["staff", str(folder / "scenario.yaml"), str(tmp_path / "plan.csv"), "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert "cadres.csv, row 4, field 'rank'" in result.output and "'科员', '副科'" in result.output
