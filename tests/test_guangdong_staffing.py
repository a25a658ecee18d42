"""The shipped Guangdong scenario staffs all 600 key towns: groups, first teams, county heads and a six-year
rotation that the independent team audit accepts, with continuity and county heads counted from the tables."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from models import Cadre, CadreRule, Plan, RelationshipKind, Scenario, load_scenario
from models.staffing import StaffingResult
from optimizer import audit, solve
from optimizer.teams.staff import staff
from optimizer.teams.teams_audit import audit_staffing

GUANGDONG = Path(__file__).resolve().parent.parent / "scenarios" / "guangdong-2021" / "scenario.yaml"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(GUANGDONG)


@pytest.fixture(scope="module")
def plan(scenario: Scenario) -> Plan:
    result = solve(scenario)
    assert result.status.value == "OPTIMAL" and result.plan is not None
    return result.plan


@pytest.fixture(scope="module")
def staffed(scenario: Scenario, plan: Plan) -> StaffingResult:
    return staff(scenario, plan)


def test_every_key_town_gets_a_full_team_that_the_audit_accepts(scenario: Scenario, plan: Plan,
                                                                  staffed: StaffingResult) -> None:
    assert staffed.status.value == "OPTIMAL", staffed.message
    assert sorted(t.town_id for t in staffed.teams) == sorted(t.town_id for t in scenario.key_towns)
    assert len(staffed.teams) == 600
    size = scenario.policy.staffing.min_team_size
    assert all(len({t.leader, *t.members}) == size for t in staffed.teams)
    lead = plan.lead_of()
    employer = {c.cadre_id: c.unit_id for c in scenario.cadres}
    assert all(employer[t.leader] == t.lead_unit_id == lead[t.town_id] for t in staffed.teams)
    assert audit(scenario, plan).passed  # the leads and the groups
    report = audit_staffing(scenario, plan, staffed)
    assert report.passed, report.violations[:5]
    assert staffed.replacements == staffed.replacements_bound  # the rotation is proven to need no fewer


def test_groups_follow_the_member_rules(scenario: Scenario, staffed: StaffingResult) -> None:
    units = {u.unit_id: u for u in scenario.units}
    towns = {t.town_id: t for t in scenario.towns}
    for team in staffed.teams:
        kinds = Counter(units[m].kind.value for m in team.member_unit_ids)
        assert kinds["enterprise"] + kinds["institution"] >= 1
        assert "industry" not in towns[team.town_id].need_tags or kinds["research"] >= 1
    joined = Counter(m for t in staffed.teams for m in t.member_unit_ids)
    assert all(n <= units[m].member_capacity for m, n in joined.items())


def _may(rule: CadreRule, c: Cadre, year: int) -> bool:
    """The rule in the first year, read from the cadre's row (an oracle independent of the staffing code)."""
    return ((not rule.party_member or c.party_member) and c.party_years >= rule.min_party_years
            and c.work_years >= rule.min_work_years and (rule.max_age is None or c.age <= rule.max_age)
            and (rule.min_rank is None or c.rank >= rule.min_rank)
            and (c.available_from is None or c.available_from <= year)
            and (c.available_until is None or c.available_until >= year))


def test_continuity_and_county_heads_counted_from_the_tables(scenario: Scenario, plan: Plan,
                                                             staffed: StaffingResult) -> None:
    """Keeping comes first in the first staffing: every cadre who served in a town whose group now includes their
    unit and who may serve again is kept there (one such cadre per town in this scenario, so all fit)."""
    groups = {t.town_id: {t.lead_unit_id, *t.member_unit_ids} for t in staffed.teams}
    policy, year = scenario.policy.staffing, scenario.policy.staffing.start_year
    keepable = [c for c in scenario.cadres if c.previous_town in groups and c.unit_id in groups[c.previous_town]
                and (_may(policy.member, c, year)
                     or (_may(policy.leader, c, year) and plan.lead_of()[c.previous_town] == c.unit_id))]
    assert len({c.previous_town for c in keepable}) == len(keepable)
    assert staffed.kept == len(keepable) > 0
    county_of = {t.town_id: t.county for t in scenario.towns}
    led = {(u, county_of[t]) for t, u in plan.lead_of().items()}
    paired = {(r.unit_id, r.county) for r in scenario.relationships if r.kind is RelationshipKind.COUNTY_PAIRING}
    assert sorted((h.unit_id, h.county) for h in staffed.county_heads) == sorted(paired & led)
