"""Pre-solve checks: necessary conditions a feasible plan needs, tested in milliseconds before CP-SAT runs.

Each failure is a :class:`models.Conflict` that proves infeasibility and says, with numbers, what to change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Conflict, RelationshipKind, Rule, Scenario

from .model.continuity import change_cap
from .model.tier_quota import tier_quotas


def _supply(pairs: pd.DataFrame) -> int:
    """Most towns the units of ``pairs`` can lead: Σ min(capacity, eligible towns) per unit."""
    per_unit = pairs.groupby("u").agg(capacity=("capacity", "first"), towns=("t", "size"))
    return int(np.minimum(per_unit["capacity"], per_unit["towns"]).sum())


def presolve_checks(scenario: Scenario, pairs: pd.DataFrame) -> list[Conflict]:
    """Conflicts found on the candidate pairs (eligible, priority-allowed) of ``scenario``."""
    conflicts: list[Conflict] = []
    covered = set(pairs["town_id"])
    for town in scenario.key_towns:
        if town.town_id not in covered:
            conflicts.append(Conflict(
                rules=(Rule.COVERAGE, Rule.ELIGIBILITY, Rule.PRIORITY), entities=(town.town_id,),
                message=f"town {town.name} ({town.town_id}, {town.city}) has no eligible unit: no unit of its city, "
                        "no provincial unit and no PRD unit of a counterpart city may lead it under the "
                        "eligibility and priority rules"))
    quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
    for tier, need in quotas.items():
        can = _supply(pairs[pairs["tier"] == tier.value])
        if can < need:
            conflicts.append(Conflict(
                rules=(Rule.TIER_QUOTA, Rule.CAPACITY, Rule.ELIGIBILITY), entities=(tier.value,),
                figures={"needed": need, "available": can},
                message=f"the {tier.value} tier must lead {need} towns, but its eligible units can lead at most "
                        f"{can}: raise their capacity by {need - can} or lower the {tier.value} share"))
    for city, per_tier in scenario.policy.city_quotas.items():
        for tier, need in per_tier.items():
            can = _supply(pairs[(pairs["tier"] == tier.value) & (pairs["town_city"] == city)])
            if can < need:
                conflicts.append(Conflict(
                    rules=(Rule.TIER_QUOTA, Rule.CAPACITY), entities=(city, tier.value),
                    figures={"needed": need, "available": can},
                    message=f"{city} must get {need} towns from the {tier.value} tier, but eligible units can lead "
                            f"at most {can} there: raise capacity by {need - can} or lower the city quota"))
        if sum(per_tier.values()) > (towns := sum(1 for t in scenario.key_towns if t.city == city)):
            conflicts.append(Conflict(
                rules=(Rule.TIER_QUOTA,), entities=(city,), figures={"quota": sum(per_tier.values()), "towns": towns},
                message=f"the quotas of {city} add up to {sum(per_tier.values())} but it has only {towns} key towns"))
    if sum(quotas.values()) > (total := _supply(pairs)):
        conflicts.append(Conflict(
            rules=(Rule.COVERAGE, Rule.CAPACITY), figures={"needed": len(scenario.key_towns), "available": total},
            message=f"{len(scenario.key_towns)} key towns need a lead, but all units together can lead at most {total}"))
    conflicts.extend(_continuity(scenario, pairs))
    return conflicts


def _continuity(scenario: Scenario, pairs: pd.DataFrame) -> list[Conflict]:
    key_ids = {t.town_id for t in scenario.key_towns}
    n_previous = sum(1 for r in scenario.relationships
                     if r.kind is RelationshipKind.PREVIOUS_LEAD and r.town_id in key_ids)
    cap = change_cap(scenario.policy, n_previous)
    keepable = int(pairs["previous"].sum())
    if cap is None or n_previous - cap <= keepable:
        return []
    return [Conflict(
        rules=(Rule.CONTINUITY, Rule.ELIGIBILITY, Rule.PRIORITY),
        figures={"must_keep": n_previous - cap, "keepable": keepable, "max_changes": cap},
        message=f"at most {cap} of {n_previous} previous leads may change, but only {keepable} are still eligible: "
                f"{n_previous - keepable} must change; raise max_changes to at least {n_previous - keepable}")]

