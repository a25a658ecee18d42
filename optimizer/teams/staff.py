"""Staffing entry point: a lead plan in, first-year teams, county heads and the rotation calendar out.

Three stages, each exact: the groups (member units, :mod:`.groups`, unless the plan carries them), the first
staffing (a min-cost flow, :mod:`.cadres`) and the rotation calendar (CP-SAT, :mod:`.rotation`). The result is a
typed :class:`models.StaffingResult`; :func:`staffing_files` turns it into ``teams.csv``, ``rotation.csv`` and
``summary.json`` (``diagnosis.json`` instead of the tables when there are no teams).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape

from models import AuditReport, Conflict, Plan, Rule, Scenario, ScenarioError, Status
from models.staffing import CountyHead, Event, Role, StaffingResult, Stint, Team

from ..report import neutralise, to_json
from .cadres import assign_cadres
from .groups import compose_groups, composes_groups
from .posts import CadreTable, TeamUnits
from .rotation import policy_clash, rotate

TEAM_COLUMNS = ["town_id", "town_name", "city", "county", "role", "cadre_id", "cadre_name", "unit_id", "unit_name",
                "rank", "age", "party_years", "work_years", "continuing", "term_start", "term_end"]
ROTATION_COLUMNS = ["year", "town_id", "town_name", "county", "role", "cadre_id", "cadre_name", "unit_id", "event",
                    "term_start", "term_end"]
STAFF_FILES = ("teams.csv", "rotation.csv", "summary.json", "diagnosis.json")


def staff(scenario: Scenario, plan: Plan, *, seed: int = 0, time_limit: float | None = None) -> StaffingResult:
    """Staff every town of ``plan``: its group, its team, the county heads, and the rotation calendar.

    ``time_limit`` bounds the rotation's CP-SAT search (default ``policy.staffing.time_limit``). Raises
    :class:`ScenarioError` when the plan names a town or unit the scenario does not have.

    >>> from optimizer import load_scenario, solve
    >>> from optimizer.teams.staff import staff
    >>> scenario = load_scenario("scenarios/tiny-staffing/scenario.yaml")
    >>> result = staff(scenario, solve(scenario).plan)
    >>> result.status.value, len(result.teams), all(len(t.members) == 4 for t in result.teams)
    ('OPTIMAL', 10, True)
    """
    began = time.perf_counter()
    policy = scenario.policy.staffing
    check_plan(scenario, plan)
    base = {"start_year": policy.start_year, "years": policy.years}
    timings: dict[str, float] = {}
    if not scenario.cadres and plan.assignments:
        return StaffingResult(status=Status.INFEASIBLE, timings=timings, **base, conflicts=(Conflict(
            rules=(Rule.TEAM_SIZE,), figures={"cadres": 0},
            message="the scenario has no cadres: add a cadres table (scenario file: tables: {cadres: cadres.csv})",
            message_zh="情景中干部数为 0：请添加 cadres 表（情景文件中写 tables: {cadres: cadres.csv}）"),),
            message="no cadres to staff the teams")
    if (clash := policy_clash(scenario)) is not None:
        return StaffingResult(status=Status.INFEASIBLE, conflicts=(clash,), timings=timings, **base,
                              message="policy.staffing forbids every rotation calendar")
    members = plan.members_of()
    if not members and composes_groups(scenario):
        groups = compose_groups(scenario, plan)
        timings["groups"] = groups.seconds
        if not groups.has_groups:
            return StaffingResult(status=groups.status, conflicts=groups.conflicts, timings=timings, **base,
                                  message=f"the groups cannot be composed: {groups.message}")
        members = groups.members
    teams = {a.town_id: TeamUnits(a.unit_id, tuple(members.get(a.town_id, ()))) for a in plan.assignments}
    table = CadreTable.of(scenario)
    first = assign_cadres(scenario, teams, table)
    timings |= {"staffing_build": first.build_seconds, "staffing_solve": first.solve_seconds}
    if not first.complete:
        timings["total"] = time.perf_counter() - began
        return StaffingResult(status=Status.INFEASIBLE, conflicts=tuple(first.conflicts), timings=timings, **base,
                              message=f"{len(first.conflicts)} shortage(s) of eligible cadres: no first staffing")
    calendar = rotate(scenario, table, first.posts, first.holders, seed=seed, time_limit=time_limit)
    timings |= {"rotation_build": calendar.build_seconds, "rotation_solve": calendar.solve_seconds,
                "total": time.perf_counter() - began}
    found = calendar.status in (Status.OPTIMAL, Status.FEASIBLE)
    result = StaffingResult(status=calendar.status, kept=first.kept, timings=timings,
                            conflicts=tuple(calendar.conflicts), **base,
                            message="" if found else _no_calendar(calendar.status, calendar.conflicts))
    if not found:
        return result
    ids = table.ids
    held = {(post.role, post.town_id or post.label): [ids[r] for r in rows]
            for post, rows in zip(first.posts, first.holders, strict=True)}
    team_rows = [Team(town_id=town, lead_unit_id=group.lead, member_unit_ids=group.members,
                      leader=held[Role.LEADER, town][0], members=tuple(held.get((Role.MEMBER, town), ())))
                 for town, group in sorted(teams.items())]
    heads = [CountyHead(unit_id=post.units[0], county=post.county or "", cadre_id=held[post.role, post.label][0])
             for post in first.posts if post.role is Role.COUNTY_HEAD]
    stints = [Stint(cadre_id=ids[s.row], role=first.posts[s.post].role, town_id=first.posts[s.post].town_id,
                    county=first.posts[s.post].county, unit_id=table.unit[s.row], start=policy.start_year + s.start,
                    end=policy.start_year + _term_end(scenario, table, s.start, s.end, s.row))
              for s in calendar.services]
    return result.model_copy(update={"teams": tuple(team_rows), "county_heads": tuple(heads),
                                     "stints": tuple(stints), "replacements": calendar.replacements,
                                     "replacements_bound": calendar.bound, "rotation_paths": calendar.paths})


def _term_end(scenario: Scenario, table: CadreTable, start: int, end: int, row: int) -> int:
    """The last year (offset) of a stint; one that runs past the horizon serves its full term, availability
    permitting (its end is then past the calendar)."""
    if end < scenario.policy.staffing.years:
        return end
    return int(min(start + scenario.policy.staffing.term_years - 1, table.available_until[row]))


def _no_calendar(status: Status, conflicts: list[Conflict]) -> str:
    if status is Status.INFEASIBLE:
        return (f"the teams can be staffed in the first year, but {len(conflicts)} rotation conflict(s) leave no "
                "calendar")
    return f"no rotation calendar within the time limit ({status.value}): raise policy.staffing.time_limit"


def check_plan(scenario: Scenario, plan: Plan, file: str = "plan") -> None:
    """The plan names known towns, each once, and known units."""
    towns = {t.town_id for t in scenario.towns}
    units = {u.unit_id for u in scenario.units}
    seen: Counter[str] = Counter(a.town_id for a in plan.assignments)
    for a in plan.assignments:
        if a.town_id not in towns:
            raise ScenarioError(f"unknown town {a.town_id!r}", file=file, field="town_id")
        if seen[a.town_id] > 1:
            raise ScenarioError(f"town {a.town_id!r} has {seen[a.town_id]} leads: a town has one", file=file,
                                field="town_id")
        for unit in (a.unit_id, *a.members):
            if unit not in units:
                raise ScenarioError(f"unknown unit {unit!r} (town {a.town_id!r})", file=file, field="unit_id")


def teams_frame(scenario: Scenario, result: StaffingResult) -> pd.DataFrame:
    """One row per first-year post holder: town, role, cadre and their unit, continuity and the term."""
    towns = {t.town_id: t for t in scenario.towns}
    units = {u.unit_id: u.name for u in scenario.units}
    cadres = {c.cadre_id: c for c in scenario.cadres}
    first = {s.cadre_id: s for s in result.stints if s.start == result.start_year}
    posts: list[tuple[str | None, str | None, Role, str]] = [(t.town_id, None, Role.LEADER, t.leader)
                                                             for t in result.teams]
    posts += [(t.town_id, None, Role.MEMBER, m) for t in result.teams for m in t.members]
    posts += [(None, h.county, Role.COUNTY_HEAD, h.cadre_id) for h in result.county_heads]
    rows = []
    for town_id, county, role, cadre_id in posts:
        town, cadre = towns.get(town_id or ""), cadres[cadre_id]
        stint = first.get(cadre_id)
        rows.append({"town_id": town_id or "", "town_name": town.name if town else "",
                     "city": town.city if town else "", "county": town.county if town else county,
                     "role": role.value, "cadre_id": cadre_id, "cadre_name": cadre.name, "unit_id": cadre.unit_id,
                     "unit_name": units[cadre.unit_id], "rank": cadre.rank.value, "age": cadre.age,
                     "party_years": cadre.party_years, "work_years": cadre.work_years,
                     "continuing": bool(town_id) and cadre.previous_town == town_id,
                     "term_start": stint.start if stint else "", "term_end": stint.end if stint else ""})
    frame = pd.DataFrame(rows, columns=TEAM_COLUMNS)
    order = {r.value: i for i, r in enumerate(Role)}
    frame["_role"] = frame["role"].map(order)
    frame = frame.sort_values(["city", "county", "town_id", "_role", "cadre_id"], kind="stable")
    return frame.drop(columns="_role").reset_index(drop=True)


def rotation_frame(scenario: Scenario, result: StaffingResult) -> pd.DataFrame:
    """The calendar by year: a ``start`` row in a cadre's first year, ``continue`` rows after, and a ``leave``
    row in the year after their last (within the horizon)."""
    towns = {t.town_id: t for t in scenario.towns}
    names = {c.cadre_id: c.name for c in scenario.cadres}
    last = result.start_year + result.years - 1
    rows = []
    for s in result.stints:
        town = towns.get(s.town_id or "")
        base = {"town_id": s.town_id or "", "town_name": town.name if town else "",
                "county": town.county if town else s.county, "role": s.role.value, "cadre_id": s.cadre_id,
                "cadre_name": names[s.cadre_id], "unit_id": s.unit_id, "term_start": s.start, "term_end": s.end}
        for year in range(s.start, min(s.end, last) + 1):
            rows.append({"year": year, **base, "event": (Event.START if year == s.start else Event.CONTINUE).value})
        if s.end < last:
            rows.append({"year": s.end + 1, **base, "event": Event.LEAVE.value})
    frame = pd.DataFrame(rows, columns=ROTATION_COLUMNS)
    events = {e.value: i for i, e in enumerate((Event.LEAVE, Event.START, Event.CONTINUE))}
    roles = {r.value: i for i, r in enumerate(Role)}
    frame["_e"], frame["_r"] = frame["event"].map(events), frame["role"].map(roles)
    frame = frame.sort_values(["year", "county", "town_id", "_r", "_e", "cadre_id"], kind="stable")
    return frame.drop(columns=["_e", "_r"]).reset_index(drop=True)


def staffing_summary(scenario: Scenario, result: StaffingResult, violations: list[dict[str, Any]] | None,
                     parameters: dict[str, Any]) -> dict[str, Any]:
    """The JSON summary of a staffing run."""
    return {
        "scenario": scenario.name, "status": result.status.value, "message": result.message,
        "start_year": result.start_year, "years": result.years, "teams": len(result.teams),
        "team_cadres": sum(1 + len(t.members) for t in result.teams), "county_heads": len(result.county_heads),
        "kept_previous_town": result.kept, "replacements": result.replacements,
        "replacements_bound": result.replacements_bound, "rotation_paths": result.rotation_paths,
        "cadres_in_calendar": len({s.cadre_id for s in result.stints}),
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
        "conflicts": [c.model_dump(mode="json") for c in result.conflicts],
        "audit": None if violations is None else {"passed": not violations, "violations": violations},
        "parameters": parameters, "fingerprint": scenario.fingerprint(),
    }


def staffing_files(scenario: Scenario, result: StaffingResult, violations: list[dict[str, Any]] | None,
                   parameters: dict[str, Any]) -> dict[str, str]:
    """The output files: the two tables and the summary, or the summary and the diagnosis when there are none."""
    files = {"summary.json": to_json(staffing_summary(scenario, result, violations, parameters))}
    if result.has_teams:
        files["teams.csv"] = teams_frame(scenario, result).map(neutralise).to_csv(index=False)
        files["rotation.csv"] = rotation_frame(scenario, result).map(neutralise).to_csv(index=False)
    else:
        files["diagnosis.json"] = to_json({"status": result.status.value, "message": result.message,
                                           "conflicts": [c.model_dump(mode="json") for c in result.conflicts]})
    return files


def print_staffing(console: Console, scenario: Scenario, result: StaffingResult, report: AuditReport | None) -> None:
    """What ``bangfu staff`` prints: status and figures, or each conflict; then the audit's verdict."""
    style = "green" if result.status is Status.OPTIMAL else "yellow" if result.has_teams else "red"
    console.print(f"[bold]{escape(scenario.name)}[/]: staffing [{style}]{result.status.value}[/]", highlight=False)
    for conflict in result.conflicts:
        rules = ", ".join(r.value for r in conflict.rules)
        console.print(f"  [red]✗[/] [{escape(rules)}] {escape(conflict.message)}", highlight=False)
    if result.message:
        console.print(f"  {escape(result.message)}", highlight=False)
    if result.has_teams:
        cadres = sum(1 + len(t.members) for t in result.teams)
        console.print(f"  {len(result.teams)} teams, {cadres} cadres, {len(result.county_heads)} county working-group "
                      f"head(s); {result.kept} kept on their previous town's team; {result.replacements} "
                      f"replacement(s) in {result.start_year}–{result.start_year + result.years - 1} (bound "
                      f"{result.replacements_bound}); {result.timings.get('total', 0):.2f} s", highlight=False)
    if report is not None:
        verdict = "[green]passed[/]" if report.passed else f"[red]{len(report.violations)} violation(s)[/]"
        console.print(f"  team audit: {verdict} (networkx graph, every staffing rule re-checked)")
        for v in report.violations:
            console.print(f"  [red]✗[/] [{v.rule.value}] {escape(v.message)}", highlight=False)
