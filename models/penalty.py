"""The penalty per key town left unassigned (``policy.allow_unassigned``), resolved once for solver and audit.

The automatic penalty makes *fewer unassigned towns* outrank *any* difference in plan value, so a town is left
out only when no plan can lead it. For every key town ``t`` bound the value of whatever leads it,
``lo_t ≤ value(u, t) ≤ hi_t`` for every unit ``u``, from the tables alone (no rule is evaluated):

    hi_t = max(0, highest score of t) + continuity_weight·[t has a previous lead]
                                      + baseline_weight·[t has a baseline lead]
    lo_t = min(0, lowest score of t) − (⌈distance_weight · (D + km(c, t))⌉ + 1)    (if distance_weight > 0)

where ``c`` is the first unit's position and ``D`` the largest distance of any unit from ``c`` (great-circle
distance is a metric, so ``km(u, t) ≤ km(u, c) + km(c, t) ≤ D + km(c, t)``; the ``+ 1`` absorbs rounding). Then

    penalty = 1 + Σ_t (hi_t − lo_t)

exceeds ``value(X) − value(Y)`` for any two plans (a town contributes at most ``hi_t`` to X and at least
``lo_t`` to Y, both bounds enclosing 0 for a town without a lead), so a plan with fewer unassigned towns always has
the higher objective: the unassigned count is minimised first, the value second (lexicographically).
"""

from __future__ import annotations

import math

from .scenario import Scenario
from .tables import RelationshipKind

EARTH_RADIUS_KM = 6371.0088


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def automatic_penalty(scenario: Scenario) -> int:
    """``1 + Σ_t (hi_t − lo_t)`` over the key towns (module docstring)."""
    policy = scenario.policy
    key = {t.town_id: t for t in scenario.key_towns}
    high = dict.fromkeys(key, 0)
    low = dict.fromkeys(key, 0)
    for s in scenario.scores:
        if s.town_id in key:
            high[s.town_id] = max(high[s.town_id], s.score)
            low[s.town_id] = min(low[s.town_id], s.score)
    for r in scenario.relationships:
        if r.kind is RelationshipKind.PREVIOUS_LEAD and r.town_id in key:
            high[r.town_id] += policy.continuity_weight
    for b in scenario.baseline:
        if b.town_id in key:
            high[b.town_id] += policy.baseline_weight
    if policy.distance_weight > 0 and scenario.units:
        c = scenario.units[0]
        reach = max(_km(u.lon, u.lat, c.lon, c.lat) for u in scenario.units)  # type: ignore[arg-type]
        for t in key.values():  # coordinates are required when distance_weight > 0
            far = reach + _km(c.lon, c.lat, t.lon, t.lat)  # type: ignore[arg-type]
            low[t.town_id] -= math.ceil(policy.distance_weight * far) + 1
    return 1 + sum(high[t] - low[t] for t in key)


def unassigned_penalty(scenario: Scenario) -> int:
    """The policy's ``unassigned_penalty``, or :func:`automatic_penalty` when it is empty."""
    given = scenario.policy.unassigned_penalty
    return given if given is not None else automatic_penalty(scenario)
