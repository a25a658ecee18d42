"""Rotation calendar: never more than the share of a team replaced in a year, terms and availability held, the
fewest replacements against an independent per-cadre HiGHS model, every solve path, and the diagnoses."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from typing import Any

import highspy
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from staffing_cases import build, cadre, rotation_cases

from models import Rule, Status
from models.staffing import StaffingResult
from optimizer.teams import rotation
from optimizer.teams.cadres import Staffing, assign_cadres
from optimizer.teams.posts import TeamUnits
from optimizer.teams.staff import staff
from optimizer.teams.teams_audit import audit_staffing, failures

RANDOM = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def leavers(result: StaffingResult) -> Counter[tuple[str, int]]:
    """(town, year) → cadres of the town's team leaving at the start of that year (counted from the stints)."""
    last = result.start_year + result.years - 1
    return Counter((s.town_id, s.end + 1) for s in result.stints if s.town_id is not None and s.end <= last)


def first_year(scenario: Any, plan: Any) -> Staffing:
    """The first staffing the calendar starts from (the model's own, as staff() computes it)."""
    members = plan.members_of()
    return assign_cadres(scenario, {a.town_id: TeamUnits(a.unit_id, members.get(a.town_id, ()))
                                    for a in plan.assignments})


def oracle(scenario: Any, plan: Any, staffing: Staffing) -> int | None:
    """The fewest replacements over every calendar that starts from ``staffing``: a Boolean per cadre, post,
    start and end, solved by HiGHS; written from the policy, sharing nothing with the model. None: no calendar."""
    policy = scenario.policy.staffing
    start, horizon, term = policy.start_year, policy.years, policy.term_years
    cap = math.floor(Fraction(repr(policy.max_replaced_share)) * policy.min_team_size)
    members = plan.members_of()
    counties = {t.town_id: t.county for t in scenario.towns}
    posts = []  # (key, role rule, units, seats, town or None)
    for a in plan.assignments:
        posts.append((("leader", a.town_id), policy.leader, {a.unit_id}, 1, a.town_id))
        if policy.min_team_size > 1:
            posts.append((("member", a.town_id), policy.member, {a.unit_id, *members.get(a.town_id, ())},
                          policy.min_team_size - 1, a.town_id))
    led = {(a.unit_id, counties[a.town_id]) for a in plan.assignments}
    for r in scenario.relationships:
        if (r.unit_id, r.county) in led:
            posts.append((("county_head", r.unit_id, r.county), policy.county_head, {r.unit_id}, 1, None))
    ids = [c.cadre_id for c in scenario.cadres]
    first = {}
    for post, rows in zip(staffing.posts, staffing.holders, strict=True):
        key = (post.role.value, post.town_id) if post.town_id else (post.role.value, post.units[0], post.county)
        first |= {ids[r]: key for r in rows}
    columns = []  # (cadre, post index, start offset, end offset; horizon = past)
    for c in scenario.cadres:
        lo = -99 if c.available_from is None else c.available_from - start
        hi = 99 if c.available_until is None else c.available_until - start
        for i, (key, rule, units, _, _) in enumerate(posts):
            if c.unit_id not in units or (c.cadre_id in first and first[c.cadre_id] != key):
                continue
            for s in ([0] if c.cadre_id in first else range(1, horizon)):
                if s < lo or (s > 0 and failures(c, rule, s)):
                    continue
                for e in range(s, horizon + 1):
                    past = e == horizon
                    if (past and s + term - 1 < horizon) or (not past and e - s + 1 > term) or min(e, horizon) > hi:
                        continue
                    columns.append((c.cadre_id, i, s, e))
    n = len(columns)
    rows: list[tuple[list[int], float, float]] = []
    for c in scenario.cadres:
        mine = [j for j, col in enumerate(columns) if col[0] == c.cadre_id]
        rows.append((mine, 1.0 if c.cadre_id in first else 0.0, 1.0))
    for i, (_, _, _, seats, _) in enumerate(posts):
        for y in range(1, horizon):
            cover = [j for j, (_, p, s, e) in enumerate(columns) if p == i and s <= y <= e]
            rows.append((cover, seats, seats))
    for town in {p[4] for p in posts if p[4] is not None}:
        for y in range(1, horizon + 1):
            leave = [j for j, (_, p, s, e) in enumerate(columns) if posts[p][4] == town and e == y - 1]
            rows.append((leave, 0.0, float(cap)))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array([1.0 if col[2] > 0 else 0.0 for col in columns]))
    for idx, lo_, hi_ in rows:
        h.addRow(lo_, hi_ if hi_ is not None else inf, len(idx), np.array(idx, dtype=np.int32), np.ones(len(idx)))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return round(h.getInfo().objective_function_value)


@RANDOM
@given(rotation_cases())
def test_no_team_replaces_more_than_its_share_and_the_audit_agrees(case: Any) -> None:
    scenario, plan = case
    result = staff(scenario, plan)
    if not result.has_teams:
        assert result.conflicts
        return
    cap = scenario.policy.staffing.max_replaced()
    assert all(n <= cap for n in leavers(result).values()), leavers(result)
    assert all(s.end - s.start < scenario.policy.staffing.term_years for s in result.stints)
    report = audit_staffing(scenario, plan, result)
    assert report.passed, [v.message for v in report.violations]


@RANDOM
@given(rotation_cases())
def test_fewest_replacements_equal_the_highs_oracle(case: Any) -> None:
    scenario, plan = case
    staffing = first_year(scenario, plan)
    if not staffing.complete or rotation.policy_clash(scenario) is not None:
        return  # no first staffing, or a policy clash: nothing to rotate (tested elsewhere)
    result = staff(scenario, plan)
    best = oracle(scenario, plan, staffing)
    if result.status is Status.INFEASIBLE:
        assert best is None and result.conflicts
    else:
        assert result.status is Status.OPTIMAL
        assert result.replacements == result.replacements_bound == best


@pytest.mark.parametrize("path", ["cp-sat", "repair"])
def test_every_path_reaches_the_same_optimum(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the pattern flow fall short for one team (repair: that team alone, at its bound) or drop its pattern
    (CP-SAT on the whole component): the same optimal number of replacements, and a calendar the audit accepts."""
    cadres = [cadre(f"a{i}", "a", age=30 + i) for i in range(9)] + [cadre(f"m{i}", "m") for i in range(8)]
    cadres += [cadre(f"b{i}", "b") for i in range(9)]
    scenario, plan = build(cadres, leads={"t0": "a", "t1": "b"}, members={"t0": ["m"], "t1": ["m"]},
                           min_team_size=3, years=5, term_years=3)
    fast = staff(scenario, plan)
    assert fast.rotation_paths == {"pattern": 1}
    fill, patterns = rotation._fill, rotation._patterns

    def short(*args: Any) -> Any:  # the flow leaves the first post's vacancies (town t0) unfilled
        given_, full = fill(*args)
        return given_, {k: False if k[0] == 0 else v for k, v in full.items()}

    def unknown(*args: Any) -> Any:  # no pattern for the first team: its lower bound is unknown
        return {p: pattern for p, pattern in patterns(*args).items() if p != 0}

    monkeypatch.setattr(rotation, "_fill" if path == "repair" else "_patterns", short if path == "repair" else unknown)
    slow = staff(scenario, plan)
    assert slow.rotation_paths == {path: 1}
    best = oracle(scenario, plan, first_year(scenario, plan))
    assert slow.status is Status.OPTIMAL and slow.replacements == fast.replacements == best
    assert audit_staffing(scenario, plan, slow).passed


def test_first_year_cadres_leaving_together_are_diagnosed() -> None:
    """Five first-year cadres, three available only in 2022: three leave at the start of 2023, one more than
    half a team. The new cadres can start only from 2023, so the first year has no other choice."""
    team = [cadre(f"a{i}", "a", available_until=2022 if i < 3 else None) for i in range(5)]
    spare = [cadre(f"n{i}", "a", available_from=2023) for i in range(10)]
    scenario, plan = build(team + spare, leads={"t0": "a"}, min_team_size=5, years=4)
    result = staff(scenario, plan)
    assert result.status is Status.INFEASIBLE and not result.teams
    [conflict] = result.conflicts
    assert Rule.ROTATION in conflict.rules and conflict.figures == {"leavers": 3, "max_replaced": 2}
    assert "3 of its team must leave at the start of 2023" in conflict.message


def test_too_few_new_cadres_leave_seats_empty() -> None:
    """A team of 2 over 4 years with 3-year terms needs two new cadres; the lead unit has one more."""
    scenario, plan = build([cadre(f"a{i}", "a") for i in range(3)], leads={"t0": "a"}, min_team_size=2, years=4)
    result = staff(scenario, plan)
    assert result.status is Status.INFEASIBLE
    assert any(Rule.TEAM_SIZE in c.rules and "seats stay empty" in c.message for c in result.conflicts), \
        [c.message for c in result.conflicts]
    richer, _ = build([cadre(f"a{i}", "a") for i in range(4)], leads={"t0": "a"}, min_team_size=2, years=4)
    assert staff(richer, plan).status is Status.OPTIMAL


def test_a_policy_clash_is_named_before_staffing() -> None:
    scenario, plan = build([cadre("a", "a")], leads={"t0": "a"}, min_team_size=5, years=6, max_replaced_share=0.3)
    result = staff(scenario, plan)
    [conflict] = result.conflicts
    assert conflict.rules == (Rule.TERM, Rule.ROTATION)
    assert conflict.message == ("a team of 5 whose cadres serve at most 3 year(s) must replace all 5 within 3 "
                                "year(s), but may replace at most 1 a year (⌊5 × 0.3⌋): raise max_replaced_share to "
                                "at least 0.4 or term_years to 5")


def test_the_audit_catches_a_team_replaced_at_once() -> None:
    cadres = [cadre(f"a{i}", "a") for i in range(14)]
    scenario, plan = build(cadres, leads={"t0": "a"}, min_team_size=5, years=6)
    good = staff(scenario, plan)
    assert good.status is Status.OPTIMAL and audit_staffing(scenario, plan, good).passed
    first = [s for s in good.stints if s.start == good.start_year]
    later = [s for s in good.stints if s.start > good.start_year]
    together = [s.model_copy(update={"end": good.start_year}) for s in first]  # all five leave at the start of 2023
    broken = good.model_copy(update={"stints": tuple(together + later)})
    assert Rule.ROTATION in audit_staffing(scenario, plan, broken).rules_broken()


def test_the_calendar_is_deterministic_for_a_seed() -> None:
    cadres = [cadre(f"a{i}", "a", age=38 + i % 8) for i in range(16)] + [cadre(f"m{i}", "m") for i in range(6)]
    scenario, plan = build(cadres, leads={"t0": "a"}, members={"t0": ["m"]}, min_team_size=5, years=6)
    runs = [staff(scenario, plan, seed=seed) for seed in (0, 0, 7)]
    assert runs[0].stints == runs[1].stints
    assert runs[2].replacements == runs[0].replacements and audit_staffing(scenario, plan, runs[2]).passed
