"""Independent audit of rule ``groups`` on the plan's networkx graph (:func:`optimizer.audit.pairing_graph`).

Shares no code with :mod:`optimizer.teams.groups`: member rules are re-read from the policy, eligibility from the
graph's ``counterpart`` and ``county_pairing`` edges, counts from ``member`` edges, distances with :mod:`math`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import networkx as nx

from models import Rule, Scenario, Violation

Node = tuple[str, str]


def _edges_in(g: nx.MultiDiGraph, node: Node, kind: str) -> list[Node]:
    """Tails of ``node``'s in-edges of ``kind``, one per edge (``g.in_edges(node, data="kind")`` filtered, read
    from the adjacency dict: the edge views are slow)."""
    return [u for u, keys in g.pred[node].items() for d in keys.values() if d.get("kind") == kind] if node in g else []


def _edges_out(g: nx.MultiDiGraph, node: Node, kind: str) -> list[Node]:
    """Heads of ``node``'s out-edges of ``kind``, one per edge, as :func:`_edges_in`."""
    return [v for v, keys in g.succ[node].items() for d in keys.values() if d.get("kind") == kind] if node in g else []


def check_groups(g: nx.MultiDiGraph, scenario: Scenario) -> list[Violation]:
    """Every group rule on the ``member`` edges of ``g``: references, the lead not a member, eligibility,
    member rules, ``max_members``, ``member_capacity`` and ``min_memberships``."""
    found: list[Violation] = []
    groups = scenario.policy.groups
    for node in sorted(n for n in g if n[0] == "town"):
        members = _edges_in(g, node, "member")
        leads = _edges_in(g, node, "lead")
        town_id = node[1]
        if members and ("category" not in g.nodes[node] or not leads):
            found.append(Violation(rule=Rule.GROUPS, town_id=town_id,
                                   message=f"{town_id!r} has member units but is not a town of the plan with a lead"))
            continue
        if not leads:
            continue
        found += _check_group(g, scenario, node, leads[0], members)
        if groups.max_members is not None and len(set(members)) > groups.max_members:
            found.append(Violation(rule=Rule.GROUPS, town_id=town_id,
                                   message=f"the group of {g.nodes[node]['name']} has {len(set(members))} member "
                                           f"units, max_members allows {groups.max_members}"))
        for number, rule in enumerate(groups.member_rules, start=1):
            if not _selected(g.nodes[node], rule.cities, rule.needs, rule.flags):
                continue
            kinds = {str(k) for k in rule.kinds}
            count = sum(1 for m in set(members) if str(g.nodes[m].get("kind")) in kinds)
            if count < rule.min or (rule.max is not None and count > rule.max):
                bounds = f"at least {rule.min}" + ("" if rule.max is None else f" and at most {rule.max}")
                found.append(Violation(rule=Rule.GROUPS, town_id=town_id,
                                       message=f"the group of {g.nodes[node]['name']} has {count} member units of "
                                               f"kinds {'/'.join(sorted(kinds))}; member rule {number} requires "
                                               f"{bounds}"))
    for unit in scenario.units:
        joined = len(_edges_out(g, ("unit", unit.unit_id), "member"))
        if joined > unit.member_capacity or joined < unit.min_memberships:
            found.append(Violation(rule=Rule.GROUPS, unit_id=unit.unit_id,
                                   message=f"{unit.name} is a member of {joined} groups; it may join "
                                           f"{unit.min_memberships} to {unit.member_capacity} "
                                           "(min_memberships, member_capacity)"))
    return found


def _check_group(g: nx.MultiDiGraph, scenario: Scenario, town: Node, lead: Node,
                 members: list[Node]) -> list[Violation]:
    """One group's members: each exists, once, is not the lead, and is eligible for the town."""
    found = []
    t = g.nodes[town]
    for member, times in sorted(Counter(members).items()):
        unit_id = member[1]

        def broken(why: str, unit_id: str = unit_id) -> Violation:
            return Violation(rule=Rule.GROUPS, town_id=town[1], unit_id=unit_id,
                             message=f"member unit {unit_id} in the group of {t['name']}: {why}")

        m = g.nodes[member]
        if "tier" not in m:
            found.append(broken("the unit does not exist"))
            continue
        if times > 1:
            found.append(broken(f"listed {times} times"))
        if member == lead:
            found.append(broken("it leads this group"))
        if m["member_capacity"] == 0:
            found.append(broken("its member_capacity is 0"))
        tier = str(m["tier"])
        if tier == "local" and m["city"] != t["city"]:
            found.append(broken(f"a local unit of {m['city']} in {t['city']}"))
        if tier == "prd" and not g.has_edge(("city", m["city"]), ("city", t["city"])):
            found.append(broken(f"{t['city']} is not a counterpart city of {m['city']}"))
        paired = {c[1] for c in _edges_out(g, member, "county_pairing")}
        if paired and t["county"] not in paired:
            found.append(broken(f"paired with {', '.join(sorted(paired))}, not {t['county']}"))
        lead_city = g.nodes[lead].get("city")
        if scenario.policy.groups.members_share_lead_city and tier != "provincial" and m["city"] != lead_city:
            found.append(broken(f"a {tier} unit of {m['city']} in a group led by a unit of "
                                f"{lead_city or 'the province'} (members_share_lead_city)"))
    return found


def _selected(town: dict[str, Any], cities: Sequence[str], needs: Sequence[str], flags: Sequence[str]) -> bool:
    tags = {part.strip() for part in str(town.get("needs", "")).split(";")} - {""}
    return ((not cities or town["city"] in cities)
            and (not needs or any(n in tags for n in needs))
            and (not flags or any(town.get(f) for f in flags)))


def group_structure(g: nx.MultiDiGraph, scenario: Scenario) -> dict[str, Any]:
    """Groups with members, memberships, previous memberships of plan towns kept, and the group objective
    (``member_continuity_weight`` per kept previous member, ``6 − strength`` and the distance term per member)."""
    policy = scenario.policy
    memberships = [(m, t) for m, t, k in g.edges(data="kind") if k == "member"]
    previous = {(m, t) for m, t, k in g.edges(data="kind") if k == "previous_member"}
    planned = {t for _, t, k in g.edges(data="kind") if k == "lead"}
    value = 0
    for m, t in memberships:
        unit, town = g.nodes[m], g.nodes[t]
        if "strength" not in unit or "name" not in town:
            continue
        value += policy.groups.member_continuity_weight * ((m, t) in previous) - (6 - unit["strength"])
        if policy.distance_weight > 0 and None not in (unit["lon"], unit["lat"], town["lon"], town["lat"]):
            value -= round(policy.distance_weight * _km(unit["lon"], unit["lat"], town["lon"], town["lat"]))
    return {"groups": len({t for _, t in memberships}), "members": len(memberships),
            "previous_members": sum(t in planned for _, t in previous),
            "kept_previous_members": len(previous & set(memberships)), "objective": value}


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance, R = 6371.0088 km."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))
