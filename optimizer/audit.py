"""Independent audit of a plan: a networkx graph built from the scenario tables, every rule re-checked.

Shares no code with the model builder (``optimizer.model``): eligibility is read off graph edges, quotas are
re-derived with exact fractions, distances with :mod:`math`. A plan the audit rejects is a bug.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

import networkx as nx

from models import AuditReport, Category, Plan, RelationshipKind, Rule, Scenario, Tier, Violation
from models.penalty import unassigned_penalty

from .teams.groups_audit import check_groups, group_structure

_TIER_ORDER = ("prd", "provincial", "local")


def pairing_graph(scenario: Scenario, plan: Plan) -> nx.MultiDiGraph:
    """Nodes ``("town", id)``, ``("unit", id)``, ``("city", name)``, ``("county", name)``; edges by ``kind``:
    ``lead`` (the plan), ``previous``, ``baseline`` (the plan being revised), ``county_pairing`` (unit → county), ``counterpart`` (city → city),
    ``member`` (a member unit of the town's group) and ``previous_member``.

    >>> from optimizer import load_scenario, pairing_graph, solve
    >>> scenario = load_scenario("scenarios/tiny/scenario.yaml")
    >>> graph = pairing_graph(scenario, solve(scenario).plan)
    >>> sum(kind == "lead" for _, _, kind in graph.edges(data="kind"))
    10
    """
    g = nx.MultiDiGraph()
    for t in scenario.towns:
        g.add_node(("town", t.town_id), **t.model_dump(), flags=t.flags)
    for u in scenario.units:
        g.add_node(("unit", u.unit_id), **u.model_dump())
    for c in scenario.counterparts:
        g.add_edge(("city", c.prd_city), ("city", c.target_city), kind="counterpart")
    for r in scenario.relationships:
        if r.kind is RelationshipKind.PREVIOUS_LEAD:
            g.add_edge(("unit", r.unit_id), ("town", r.town_id), kind="previous")
        elif r.kind is RelationshipKind.PREVIOUS_MEMBER:
            g.add_edge(("unit", r.unit_id), ("town", r.town_id), kind="previous_member")
        else:
            g.add_edge(("unit", r.unit_id), ("county", r.county), kind="county_pairing")
    for b in scenario.baseline:
        g.add_edge(("unit", b.unit_id), ("town", b.town_id), kind="baseline")
    for a in plan.assignments:
        g.add_edge(("unit", a.unit_id), ("town", a.town_id), kind="lead")
        for member in a.members:
            g.add_edge(("unit", member), ("town", a.town_id), kind="member")
    return g


def _out(g: nx.MultiDiGraph, node: Any, kind: str) -> list[Any]:
    """Heads of ``node``'s out-edges of ``kind``, one per edge (``g.out_edges(node, data="kind")`` filtered, read
    from the adjacency dict: the edge views cost a third of an audit)."""
    return [v for v, keys in g.succ[node].items() for d in keys.values() if d.get("kind") == kind] if node in g else []


def _in(g: nx.MultiDiGraph, node: Any, kind: str) -> list[Any]:
    """Tails of ``node``'s in-edges of ``kind``, one per edge, as :func:`_out`."""
    return [u for u, keys in g.pred[node].items() for d in keys.values() if d.get("kind") == kind] if node in g else []


def expected_quotas(n: int, ratio: dict[str, int]) -> dict[str, int]:
    """Largest remainder with exact fractions; ties go to the earlier tier in prd, provincial, local order."""
    total = sum(ratio.values())
    exact = {t: Fraction(n * ratio[t], total) for t in _TIER_ORDER}
    quota = {t: math.floor(exact[t]) for t in _TIER_ORDER}
    order = sorted(_TIER_ORDER, key=lambda t: (-(exact[t] - quota[t]), _TIER_ORDER.index(t)))
    for t in order[: n - sum(quota.values())]:
        quota[t] += 1
    return quota


def audit(scenario: Scenario, plan: Plan) -> AuditReport:
    """Check every rule on ``plan``; the report lists violations (rule id, unit, town, message) and structure.

    >>> from models import Plan
    >>> from optimizer import audit, load_scenario, solve
    >>> scenario = load_scenario("scenarios/tiny/scenario.yaml")
    >>> audit(scenario, solve(scenario).plan).passed
    True
    >>> sorted(rule.value for rule in audit(scenario, Plan()).rules_broken())  # the empty plan
    ['continuity', 'coverage', 'tier_quota']
    """
    g = pairing_graph(scenario, plan)
    found: list[Violation] = []
    leads = [(a.unit_id, a.town_id) for a in plan.assignments]
    found += _check_references(g, leads)
    units, towns = {u.unit_id for u in scenario.units}, {t.town_id for t in scenario.towns}
    valid = [(u, t) for u, t in leads if u in units and t in towns]
    found += _check_coverage(g, scenario, valid)
    found += _check_eligibility(g, valid)
    found += _check_capacity(g, scenario)
    found += _check_tier_quota(g, scenario, valid)
    found += _check_continuity(g, scenario)
    found += _check_priority(g, scenario, valid)
    found += _check_pins(scenario, leads)
    found += _check_lead_counts(g, scenario)
    found += check_groups(g, scenario)
    structure = _structure(g, scenario, valid) | {"groups": group_structure(g, scenario)}
    return AuditReport(violations=tuple(found), structure=structure)


def _check_references(g: nx.MultiDiGraph, leads: list[tuple[str, str]]) -> list[Violation]:
    out = []
    for u, t in leads:
        if "tier" not in g.nodes[("unit", u)]:
            out.append(Violation(rule=Rule.ELIGIBILITY, unit_id=u, town_id=t, message=f"unit {u!r} does not exist"))
        if "category" not in g.nodes[("town", t)]:
            out.append(Violation(rule=Rule.COVERAGE, unit_id=u, town_id=t, message=f"town {t!r} does not exist"))
    return out


def _check_coverage(g: nx.MultiDiGraph, scenario: Scenario, leads: list[tuple[str, str]]) -> list[Violation]:
    out = []
    noun = scenario.policy.target_level.value
    for t in scenario.towns:
        heads = _in(g, ("town", t.town_id), "lead")
        if t.category is Category.KEY and len(heads) > 1:
            out.append(Violation(rule=Rule.COVERAGE, town_id=t.town_id,
                                 message=f"key {noun} {t.name} has {len(heads)} lead units (needs exactly 1)"))
        elif t.category is Category.KEY and not heads and not scenario.policy.allow_unassigned:
            out.append(Violation(rule=Rule.COVERAGE, town_id=t.town_id,
                                 message=f"key {noun} {t.name} has no lead unit (needs exactly 1; a partial plan "
                                         "needs policy.allow_unassigned)"))
        elif t.category is not Category.KEY and heads:
            out.append(Violation(rule=Rule.COVERAGE, town_id=t.town_id, unit_id=heads[0][1],
                                 message=f"{t.category.value} {noun} {t.name} is not a key {noun} but has a lead "
                                         "unit"))
    return out


def _check_eligibility(g: nx.MultiDiGraph, leads: list[tuple[str, str]]) -> list[Violation]:
    out = []
    for u, t in leads:
        unit, town = g.nodes[("unit", u)], g.nodes[("town", t)]
        tier, ucity, tcity = unit["tier"], unit["city"], town["city"]
        reason = None
        if tier == Tier.PRD and not g.has_edge(("city", ucity), ("city", tcity)):
            reason = f"PRD unit of {ucity} leads a town in {tcity}, which is not a counterpart city of {ucity}"
        elif tier == Tier.LOCAL and ucity != tcity:
            reason = f"local unit of {ucity} leads a town in another city ({tcity})"
        counties = {c[1] for c in _out(g, ("unit", u), "county_pairing")}
        if reason is None and counties and town["county"] not in counties:
            reason = f"unit is paired with {', '.join(sorted(counties))} but leads a town in {town['county']}"
        if reason:
            out.append(Violation(rule=Rule.ELIGIBILITY, unit_id=u, town_id=t, message=f"{unit['name']} → "
                                 f"{town['name']}: {reason}"))
    return out


def _check_capacity(g: nx.MultiDiGraph, scenario: Scenario) -> list[Violation]:
    out = []
    for u in scenario.units:
        led = len(_out(g, ("unit", u.unit_id), "lead"))
        if led > u.capacity:
            out.append(Violation(rule=Rule.CAPACITY, unit_id=u.unit_id,
                                 message=f"{u.name} leads {led} towns, above its capacity of {u.capacity}"))
    return out


def _check_tier_quota(g: nx.MultiDiGraph, scenario: Scenario, leads: list[tuple[str, str]]) -> list[Violation]:
    key = [t for t in scenario.towns if t.category is Category.KEY]
    ratio = scenario.policy.tier_ratio
    expected = expected_quotas(len(key), {"prd": ratio.prd, "provincial": ratio.provincial, "local": ratio.local})
    key_ids = {t.town_id for t in key}
    led = [(g.nodes[("unit", u)]["tier"], g.nodes[("town", t)]["city"]) for u, t in leads if t in key_ids]
    per_tier = Counter(str(tier) for tier, _ in led)
    partial = scenario.policy.allow_unassigned  # quotas are then met by leads plus vacancies: leads ≤ quota
    exactly = "at most" if partial else "exactly"
    out = [Violation(rule=Rule.TIER_QUOTA, message=f"{tier} tier leads {per_tier[tier]} key towns, "
                     f"the policy ratio requires {exactly} {need}")
           for tier, need in expected.items() if per_tier[tier] > need or (per_tier[tier] < need and not partial)]
    per_city = Counter((str(tier), city) for tier, city in led)
    for city, quotas in scenario.policy.city_quotas.items():
        for tier, need in quotas.items():
            count = per_city[(str(tier), city)]
            if count > need or (count < need and not partial):
                out.append(Violation(rule=Rule.TIER_QUOTA, message=f"{city}: {tier} tier leads "
                                     f"{count} towns, the city quota requires {exactly} {need}"))
    if partial and not out:
        out += _check_vacancies(g, scenario, expected, per_tier, per_city)
    return out


def _check_vacancies(g: nx.MultiDiGraph, scenario: Scenario, expected: dict[str, int], per_tier: Counter[str],
                     per_city: Counter[tuple[str, str]]) -> list[Violation]:
    """A partial plan's quota shortfalls must be its unassigned towns: every unassigned key town counts as one
    vacancy of one tier, in its own city, and leads plus vacancies meet every tier and city quota exactly.

    A flow decides whether such vacancies exist: the city quotas' shortfalls are taken first (their towns must be
    in that city), then source → tier (the tier's remaining shortfall) → city (a tier without a quota there) →
    sink (the city's remaining unassigned towns) must carry every remaining shortfall.
    """
    left = Counter(t.city for t in scenario.towns if t.category is Category.KEY
                   and not _in(g, ("town", t.town_id), "lead"))
    short = {tier: need - per_tier[tier] for tier, need in expected.items()}
    quoted = {(str(tier), city): need - per_city[(str(tier), city)]
              for city, quotas in scenario.policy.city_quotas.items() for tier, need in quotas.items()}
    for (tier, city), n in quoted.items():
        short[tier] -= n
        left[city] -= n
    problems = [f"{city} has {left[city] + sum(n for (_, c), n in quoted.items() if c == city)} unassigned "
                f"towns but its city quotas are short by {sum(n for (_, c), n in quoted.items() if c == city)}"
                for city in sorted(left) if left[city] < 0]
    problems += [f"the {tier} tier is short by {expected[tier] - per_tier[tier]} but its cities' quotas by more"
                 for tier in _TIER_ORDER if short[tier] < 0]
    if not problems:
        flow = nx.DiGraph()
        for tier in _TIER_ORDER:
            flow.add_edge("source", ("tier", tier), capacity=short[tier])
            for city, n in left.items():
                if (tier, city) not in quoted:
                    flow.add_edge(("tier", tier), ("city", city), capacity=n)
        for city, n in left.items():
            flow.add_edge(("city", city), "sink", capacity=n)
        carried = nx.maximum_flow_value(flow, "source", "sink") if flow.has_node("sink") else 0
        if carried != sum(short.values()) or carried != sum(left.values()):
            shortfalls = ", ".join(f"{t} {expected[t] - per_tier[t]}" for t in _TIER_ORDER)
            problems.append(f"the tier shortfalls ({shortfalls}) cannot be matched with the "
                            f"{sum(left.values()) + sum(quoted.values())} unassigned towns city by city")
    return [Violation(rule=Rule.TIER_QUOTA, message="quota shortfalls must be unassigned towns: " + problem)
            for problem in problems]


def _check_continuity(g: nx.MultiDiGraph, scenario: Scenario) -> list[Violation]:
    """Earlier leads (``previous`` and ``baseline`` edges) of key towns that changed, against each cap."""
    out = []
    for kind, rule, cap, setting in (
            ("previous", Rule.CONTINUITY, scenario.policy.max_changes, "max_changes"),
            ("baseline", Rule.BASELINE, scenario.policy.max_baseline_changes, "max_baseline_changes")):
        earlier = {t: u for t in (tt.town_id for tt in scenario.towns if tt.category is Category.KEY)
                   for u in _in(g, ("town", t), kind)}
        if cap is None:
            continue
        limit = cap if isinstance(cap, int) else int(Decimal(str(cap)) * len(earlier))
        changed = sorted(t for t, u in earlier.items() if _in(g, ("town", t), "lead") != [u])
        if len(changed) > limit:
            out.append(Violation(rule=rule, town_id=changed[0], message=f"{len(changed)} of {len(earlier)} "
                                 f"{kind} leads changed; {setting} allows {limit}"))
    return out


def _check_priority(g: nx.MultiDiGraph, scenario: Scenario, leads: list[tuple[str, str]]) -> list[Violation]:
    out = []
    for u, t in leads:
        unit, town = g.nodes[("unit", u)], g.nodes[("town", t)]
        for rule in scenario.policy.priority:
            hit = sorted(set(rule.flags) & town["flags"])
            if not hit:
                continue
            if rule.tiers is not None and unit["tier"] not in rule.tiers:
                out.append(Violation(rule=Rule.PRIORITY, unit_id=u, town_id=t, message=(
                    f"{town['name']} ({', '.join(hit)}) must be led by a {'/'.join(rule.tiers)} unit, "
                    f"not by {unit['name']} ({unit['tier']})")))
            if rule.min_strength is not None and unit["strength"] < rule.min_strength:
                out.append(Violation(rule=Rule.PRIORITY, unit_id=u, town_id=t, message=(
                    f"{town['name']} ({', '.join(hit)}) needs a unit of strength ≥ {rule.min_strength}, "
                    f"{unit['name']} has {unit['strength']}")))
    return out


def _check_pins(scenario: Scenario, leads: list[tuple[str, str]]) -> list[Violation]:
    plan = set(leads)
    led = {t for _, t in leads}
    out = []
    for p in scenario.pins:
        held = (p.unit_id, p.town_id) in plan
        if p.action == "pin" and not held and (p.town_id in led or not scenario.policy.allow_unassigned):
            out.append(Violation(rule=Rule.PINS, unit_id=p.unit_id, town_id=p.town_id,
                                 message=f"pinned pair {p.unit_id} → {p.town_id} is not in the plan"))
        elif p.action == "ban" and held:
            out.append(Violation(rule=Rule.PINS, unit_id=p.unit_id, town_id=p.town_id,
                                 message=f"banned pair {p.unit_id} → {p.town_id} is in the plan"))
    return out


def _check_lead_counts(g: nx.MultiDiGraph, scenario: Scenario) -> list[Violation]:
    """Targets led (``lead`` out-edges) by each keyed unit, or summed over a keyed quota group's unit nodes."""
    out = []
    unit_nodes = [n for n in g if n[0] == "unit" and "tier" in g.nodes[n]]
    for key, need in scenario.policy.lead_counts.items():
        keyed = [("unit", key)] if ("unit", key) in unit_nodes else [
            n for n in unit_nodes if g.nodes[n].get("quota_group") == key]
        led = sum(len(_out(g, n, "lead")) for n in keyed)
        if led != need:
            what = g.nodes[keyed[0]]["name"] if keyed == [("unit", key)] else f"quota group {key} ({len(keyed)} units)"
            out.append(Violation(rule=Rule.LEAD_COUNTS, unit_id=key if keyed == [("unit", key)] else None,
                                 message=f"{what} leads {led} {scenario.policy.target_level.plural}, "
                                         f"policy.lead_counts requires exactly {need}"))
    return out


def _structure(g: nx.MultiDiGraph, scenario: Scenario, leads: list[tuple[str, str]]) -> dict[str, Any]:
    reached: dict[str, set[str]] = defaultdict(set)
    for u, t in leads:
        unit = g.nodes[("unit", u)]
        if unit["tier"] == Tier.PRD:
            reached[unit["city"]].add(g.nodes[("town", t)]["city"])
    degree = {u.unit_id: [len(_out(g, ("unit", u.unit_id), "lead")), u.capacity] for u in scenario.units}
    key = [t.town_id for t in scenario.towns if t.category is Category.KEY]
    heads = {t: len(_in(g, ("town", t), "lead")) for t in key}
    return {
        "prd_city_targets": {city: sorted(cities) for city, cities in sorted(reached.items())},
        "unit_degree": degree,
        "towns_without_lead": sorted(t for t, n in heads.items() if n == 0),
        "towns_with_several_leads": sorted(t for t, n in heads.items() if n > 1),
        "objective": plan_value(scenario, Plan.from_pairs([(t, u) for u, t in leads])),
    }


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def plan_value(scenario: Scenario, plan: Plan) -> int:
    """The README objective of ``plan``, recomputed pair by pair (a check on the solver's reported value).

    >>> from optimizer import load_scenario, plan_value, solve
    >>> scenario = load_scenario("scenarios/tiny/scenario.yaml")
    >>> result = solve(scenario)
    >>> plan_value(scenario, result.plan) == result.objective
    True
    """
    units = {u.unit_id: u for u in scenario.units}
    towns = {t.town_id: t for t in scenario.towns}
    scores = {(s.unit_id, s.town_id): s.score for s in scenario.scores}
    previous = {(r.unit_id, r.town_id) for r in scenario.relationships if r.kind is RelationshipKind.PREVIOUS_LEAD}
    baseline = {(b.unit_id, b.town_id) for b in scenario.baseline}
    p = scenario.policy
    total = 0
    for a in plan.assignments:
        u, t = units.get(a.unit_id), towns.get(a.town_id)
        pair = (a.unit_id, a.town_id)
        total += scores.get(pair, 0) + p.continuity_weight * (pair in previous) + p.baseline_weight * (pair in baseline)
        if p.distance_weight > 0 and u and t and None not in (u.lon, u.lat, t.lon, t.lat):
            total -= round(p.distance_weight * _km(u.lon, u.lat, t.lon, t.lat))  # type: ignore[arg-type]
    if p.allow_unassigned:  # each key town without a lead costs the penalty
        led = {a.town_id for a in plan.assignments}
        total -= unassigned_penalty(scenario) * sum(t.town_id not in led for t in scenario.key_towns)
    return total
