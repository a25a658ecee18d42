"""The objective split into its terms, pair by pair: what each town's lead contributes, and why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Plan, RelationshipKind, Scenario
from models.penalty import unassigned_penalty

from .model.objective import haversine_km

TERMS = ["score", "continuity", "baseline", "distance", "unassigned"]
"""The objective's terms; ``unassigned`` (−penalty per key town without a lead) only with ``allow_unassigned``."""


def objective_terms(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """One row per pairing: ``town_id, unit_id`` and each term of the README objective, plus their sum ``value``;
    with ``allow_unassigned``, then one row per key town without a lead (``unit_id`` empty, ``unassigned`` =
    −penalty), so that ``value`` always adds up to the objective.

    Works for any plan, also one with pairs the current rules forbid (an old plan being compared).
    """
    frame = pd.DataFrame([(a.town_id, a.unit_id) for a in plan.assignments], columns=["town_id", "unit_id"])
    policy = scenario.policy
    scores = {(s.unit_id, s.town_id): s.score for s in scenario.scores}
    previous = {(r.unit_id, r.town_id) for r in scenario.relationships if r.kind is RelationshipKind.PREVIOUS_LEAD}
    baseline = {(b.unit_id, b.town_id) for b in scenario.baseline}
    pairs = list(zip(frame["unit_id"], frame["town_id"], strict=True))
    frame["score"] = np.array([scores.get(p, 0) for p in pairs], dtype=np.int64)
    frame["continuity"] = policy.continuity_weight * np.array([p in previous for p in pairs], dtype=np.int64)
    frame["baseline"] = policy.baseline_weight * np.array([p in baseline for p in pairs], dtype=np.int64)
    frame["distance"] = np.zeros(len(frame), dtype=np.int64)
    if policy.distance_weight > 0 and len(frame):
        units = {u.unit_id: (u.lon, u.lat) for u in scenario.units}
        towns = {t.town_id: (t.lon, t.lat) for t in scenario.towns}
        ulon, ulat = np.array([units.get(u, (np.nan, np.nan)) for u in frame["unit_id"]], dtype=float).T
        tlon, tlat = np.array([towns.get(t, (np.nan, np.nan)) for t in frame["town_id"]], dtype=float).T
        km = np.nan_to_num(haversine_km(ulon, ulat, tlon, tlat))
        frame["distance"] = -np.rint(policy.distance_weight * km).astype(np.int64)
    frame["unassigned"] = np.zeros(len(frame), dtype=np.int64)
    if policy.allow_unassigned:
        led = set(frame["town_id"])
        left = [t.town_id for t in scenario.key_towns if t.town_id not in led]
        blank = pd.DataFrame({"town_id": left, "unit_id": ""} | {term: 0 for term in TERMS[:-1]})
        frame = pd.concat([frame, blank.assign(unassigned=-unassigned_penalty(scenario))], ignore_index=True)
    frame["value"] = frame[TERMS].sum(axis=1)
    return frame
