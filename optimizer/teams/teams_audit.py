"""Independent audit of a staffing: a networkx graph of towns, units, counties and cadres, every team rule re-checked.

Shares no code with the staffing model (``cadres``, ``rotation``, ``posts``): the rules are read again from
``policy.staffing`` with plain comparisons, county heads are re-derived from the graph's ``pairing`` and ``lead``
edges, the replacement cap with exact decimals. A staffing the audit rejects is a bug.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from decimal import Decimal

import networkx as nx

from models import AuditReport, Plan, RelationshipKind, Rule, Scenario, Violation
from models.staffing import Cadre, CadreRule, StaffingResult


def staffing_graph(scenario: Scenario, plan: Plan, result: StaffingResult) -> nx.MultiDiGraph:
    """Nodes ``("town", id)``, ``("unit", id)``, ``("county", name)``, ``("cadre", id)`` with their rows;
    edges by ``kind``: ``lead`` and ``member`` (unit → town, the plan's groups as staffed), ``employs`` (unit →
    cadre), ``pairing`` (unit → county), ``in`` (town → county), ``serves`` (cadre → town or county, one per
    stint, with ``role``, ``start``, ``end``)."""
    g = nx.MultiDiGraph()
    for t in scenario.towns:
        g.add_node(("town", t.town_id), **t.model_dump())
        g.add_edge(("town", t.town_id), ("county", t.county), kind="in")
    for u in scenario.units:
        g.add_node(("unit", u.unit_id), **u.model_dump())
    for c in scenario.cadres:
        g.add_node(("cadre", c.cadre_id), row=c)
        g.add_edge(("unit", c.unit_id), ("cadre", c.cadre_id), kind="employs")
    for r in scenario.relationships:
        if r.kind is RelationshipKind.COUNTY_PAIRING:
            g.add_edge(("unit", r.unit_id), ("county", r.county), kind="pairing")
    for a in plan.assignments:
        g.add_edge(("unit", a.unit_id), ("town", a.town_id), kind="lead")
    for team in result.teams:
        for unit in team.member_unit_ids:
            g.add_edge(("unit", unit), ("town", team.town_id), kind="member")
    for s in result.stints:
        target = ("town", s.town_id) if s.town_id is not None else ("county", s.county)
        g.add_edge(("cadre", s.cadre_id), target, kind="serves", role=s.role.value, start=s.start, end=s.end,
                   unit=s.unit_id)
    return g


Node = tuple[str, str]


def _edges(g: nx.MultiDiGraph, node: Node, kind: str, *, into: bool = False) -> list[Node]:
    """Neighbours of ``node`` over edges of ``kind`` (out-edges, or in-edges with ``into``)."""
    if node not in g:
        return []
    if into:
        return [u for u, _, k in g.in_edges(node, data="kind") if k == kind]
    return [v for _, v, k in g.out_edges(node, data="kind") if k == kind]


def _ids(nodes: list[Node]) -> set[str]:
    return {n[1] for n in nodes}


def failures(cadre: Cadre, rule: CadreRule, years_later: int) -> list[str]:
    """The parts of ``rule`` a cadre fails when taking a post ``years_later`` years after the start year."""
    age = cadre.age + years_later
    party_years = cadre.party_years + (years_later if cadre.party_member else 0)
    out = []
    if rule.party_member and not cadre.party_member:
        out.append("is not a Party member")
    if party_years < rule.min_party_years:
        out.append(f"has {party_years} < {rule.min_party_years} Party years")
    if cadre.work_years + years_later < rule.min_work_years:
        out.append(f"has {cadre.work_years + years_later} < {rule.min_work_years} years of work")
    if rule.max_age is not None and age > rule.max_age:
        out.append(f"is {age} > {rule.max_age}")
    if rule.min_rank is not None and cadre.rank.level < rule.min_rank.level:
        out.append(f"is {cadre.rank.value}, below {rule.min_rank.value}")
    return out


def audit_staffing(scenario: Scenario, plan: Plan, result: StaffingResult) -> AuditReport:
    """Check the first-year teams, the county heads and the rotation calendar against every staffing rule.

    >>> from optimizer import load_scenario, solve
    >>> from optimizer.teams.staff import staff
    >>> scenario = load_scenario("scenarios/tiny-staffing/scenario.yaml")
    >>> plan = solve(scenario).plan
    >>> audit_staffing(scenario, plan, staff(scenario, plan)).passed
    True
    """
    policy = scenario.policy.staffing
    g = staffing_graph(scenario, plan, result)
    start, horizon = policy.start_year, policy.years
    last = start + horizon - 1
    cap = math.floor(Decimal(policy.min_team_size) * Decimal(str(policy.max_replaced_share)))
    rules = {"leader": (policy.leader, Rule.LEADER), "member": (policy.member, Rule.MEMBER),
             "county_head": (policy.county_head, Rule.COUNTY_HEAD)}
    out: list[Violation] = []

    def bad(rule: Rule, message: str, town: str | None = None, unit: str | None = None) -> None:
        out.append(Violation(rule=rule, message=message, town_id=town, unit_id=unit))

    def employer(cadre: str) -> str | None:
        units = _edges(g, ("cadre", cadre), "employs", into=True)
        return units[0][1] if units else None

    # every cadre on at most one post, in the first-year lists and in the calendar
    listed = Counter([t.leader for t in result.teams] + [m for t in result.teams for m in t.members]
                     + [h.cadre_id for h in result.county_heads])
    stints_of = Counter(s.cadre_id for s in result.stints)
    for cadre, n in sorted((listed | stints_of).items()):
        if n > 1:
            bad(Rule.ONE_POST, f"cadre {cadre} holds {n} posts or stints (one at most)")
        if ("cadre", cadre) not in g:
            bad(Rule.ONE_POST, f"cadre {cadre} is not in the cadres table")

    # first-year teams: one per town of the plan, a leader from the lead unit, members from the group's units
    leads = {a.town_id: a.unit_id for a in plan.assignments}
    plan_members = {a.town_id: set(a.members) for a in plan.assignments if a.members}
    teams = {t.town_id: t for t in result.teams}
    for town in sorted(set(leads) | set(teams)):
        team = teams.get(town)
        if team is None or town not in leads:
            bad(Rule.TEAM_SIZE, f"town {town}: {'no team' if team is None else 'a team but no lead in the plan'}",
                town=town)
            continue
        if 1 + len(team.members) != policy.min_team_size:
            bad(Rule.TEAM_SIZE, f"town {town}: team of {1 + len(team.members)}, not {policy.min_team_size}", town)
        lead_units = _ids(_edges(g, ("town", town), "lead", into=True))
        group = lead_units | _ids(_edges(g, ("town", town), "member", into=True))
        if town in plan_members and plan_members[town] != set(team.member_unit_ids):
            bad(Rule.MEMBER, f"town {town}: team drawn from member units {sorted(team.member_unit_ids)}, the "
                             f"plan's group is {sorted(plan_members[town])}", town)
        if employer(team.leader) not in lead_units:
            bad(Rule.LEADER, f"town {town}: leader {team.leader} is not from the lead unit {leads[town]}", town)
        for member in team.members:
            if employer(member) not in group:
                bad(Rule.MEMBER, f"town {town}: member {member} is from {employer(member)}, outside the group "
                                 f"{sorted(group)}", town)

    # county heads: exactly one per (lead unit, paired county) where the unit leads a town of that county
    needed: set[tuple[str, str]] = set()
    if policy.county_heads:
        for unit_node in [n for n in g if n[0] == "unit"]:
            counties_led = {c for town in _edges(g, unit_node, "lead") for c in _edges(g, town, "in")}
            needed |= {(unit_node[1], county[1]) for county in _edges(g, unit_node, "pairing")
                       if county in counties_led}
    heads = Counter((h.unit_id, h.county) for h in result.county_heads)
    for key in sorted(needed | set(heads)):
        if heads[key] != (1 if key in needed else 0):
            bad(Rule.COUNTY_HEAD, f"unit {key[0]}, county {key[1]}: {heads[key]} working-group head(s), "
                                  f"{1 if key in needed else 0} required", unit=key[0])
    for h in result.county_heads:
        if employer(h.cadre_id) != h.unit_id:
            bad(Rule.COUNTY_HEAD, f"county {h.county}: head {h.cadre_id} is not from {h.unit_id}", unit=h.unit_id)

    # the calendar: eligibility at each start, availability, terms, coverage each year, the replacement cap
    first_year = {(s.role.value, s.town_id or s.county, s.cadre_id) for s in result.stints if s.start == start}
    listed_first = {("leader", t.town_id, t.leader) for t in result.teams}
    listed_first |= {("member", t.town_id, m) for t in result.teams for m in t.members}
    listed_first |= {("county_head", h.county, h.cadre_id) for h in result.county_heads}
    if first_year != listed_first:
        bad(Rule.TEAM_SIZE, f"the calendar's first year differs from the teams in {len(first_year ^ listed_first)} "
                            "post(s)")
    serving: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)  # (role, place, unit) → year → n
    ending: dict[str, Counter[int]] = defaultdict(Counter)
    for cadre_node, target, data in g.edges(data=True):
        if data["kind"] != "serves" or "row" not in g.nodes[cadre_node]:  # unknown cadres: reported above
            continue
        row: Cadre = g.nodes[cadre_node]["row"]
        cadre, role, s, e = cadre_node[1], data["role"], data["start"], data["end"]
        rule, rule_id = rules[role]
        place = target[1]
        unit = employer(cadre)
        if not start <= s <= last or e < s:
            bad(Rule.TERM, f"cadre {cadre} at {place}: stint {s}–{e} outside the calendar {start}–{last}")
            continue
        if e - s + 1 > policy.term_years:
            bad(Rule.TERM, f"cadre {cadre} at {place}: {e - s + 1} years ({s}–{e}), the term is "
                           f"{policy.term_years}")
        lo = row.available_from if row.available_from is not None else s
        hi = row.available_until if row.available_until is not None else e
        if s < lo or e > hi:
            bad(Rule.AVAILABILITY, f"cadre {cadre} at {place}: serves {s}–{e}, available "
                                   f"{row.available_from or '…'}–{row.available_until or '…'}")
        if problems := failures(row, rule, s - start):
            bad(rule_id, f"cadre {cadre} starting as {role} at {place} in {s} {', '.join(problems)}",
                town=place if target[0] == "town" else None)
        if target[0] == "town":
            allowed = _ids(_edges(g, target, "lead", into=True))
            if role == "member":
                allowed |= _ids(_edges(g, target, "member", into=True))
        else:
            allowed = {u for u, c in needed if c == place}
        if unit not in allowed:
            bad(rule_id, f"cadre {cadre} of {unit} serves as {role} at {place}, whose units are {sorted(allowed)}")
        for year in range(s, min(e, last) + 1):
            serving[(role, place, (unit or "") if target[0] == "county" else "")][year] += 1
        if target[0] == "town" and e <= last:
            ending[place][e + 1] += 1
    for town in sorted(teams):
        for year in range(start, last + 1):
            have = serving[("leader", town, "")][year], serving[("member", town, "")][year]
            if have != (1, policy.min_team_size - 1):
                bad(Rule.TEAM_SIZE, f"town {town} in {year}: {have[0]} leader(s) and {have[1]} member(s), "
                                    f"1 and {policy.min_team_size - 1} required", town)
        for year in range(start + 1, last + 2):
            if ending[town][year] > cap:
                bad(Rule.ROTATION, f"town {town}: {ending[town][year]} cadres replaced at the start of {year}, "
                                   f"at most {cap}", town)
    for unit, county in sorted(needed):
        for year in range(start, last + 1):
            if (n := serving[("county_head", county, unit)][year]) != 1:
                bad(Rule.COUNTY_HEAD, f"county {county} in {year}: {n} head(s) from {unit} serving", unit=unit)
    structure = {"teams": len(teams), "county_heads": len(result.county_heads),
                 "cadres": len(stints_of), "replacement_cap": cap}
    return AuditReport(violations=tuple(out), structure=structure)
