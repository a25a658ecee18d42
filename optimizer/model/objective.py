"""The objective: maximise Σ over chosen pairs of an integer value per pair.

    value(u, t) = score(u, t) + continuity_weight · [u led t before] + baseline_weight · [u leads t in the baseline]
                  − round(distance_weight · km(u, t))

``km`` is the great-circle distance (haversine, R = 6371.0088 km) between unit and town coordinates; the
distance term is rounded to the nearest integer per pair (halves to even), so every value is an integer and any
optimum can be checked independently as a plain sum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Policy, Scenario

from . import frames
from .context import ModelContext

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


def pair_terms(scenario: Scenario, pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each term of every pair's value: ``score``, ``continuity``, ``baseline``, ``distance`` (vectorised;
    ``pairs`` must carry ``previous`` and ``baseline``)."""
    policy: Policy = scenario.policy
    terms = {term: np.zeros(len(pairs), dtype=np.int64) for term in ("score", "continuity", "baseline", "distance")}
    score = frames.scores(scenario)
    if not score.empty:
        merged = pairs[["unit_id", "town_id"]].merge(score, on=["unit_id", "town_id"], how="left")
        terms["score"] += merged["score"].fillna(0).to_numpy(dtype=np.int64)
    terms["continuity"] += policy.continuity_weight * pairs["previous"].to_numpy(dtype=np.int64)
    terms["baseline"] += policy.baseline_weight * pairs["baseline"].to_numpy(dtype=np.int64)
    if policy.distance_weight > 0:
        km = haversine_km(pairs["unit_lon"], pairs["unit_lat"], pairs["town_lon"], pairs["town_lat"])
        terms["distance"] -= np.rint(policy.distance_weight * km).astype(np.int64)
    return terms


def pair_values(scenario: Scenario, pairs: pd.DataFrame) -> np.ndarray:
    """Integer objective value of every pair: the sum of its :func:`pair_terms`."""
    value: np.ndarray = sum(pair_terms(scenario, pairs).values(), np.zeros(len(pairs), dtype=np.int64))
    return value


def define_objective(ctx: ModelContext) -> None:
    """Maximise Σ value·x, written as CP-SAT stores a maximisation: minimise Σ −value·x, scaling factor −1."""
    values = ctx.pairs["value"].to_numpy()
    nonzero = np.flatnonzero(values)
    objective = ctx.model.proto.objective
    objective.vars.extend(nonzero.tolist())
    objective.coeffs.extend((-values[nonzero]).tolist())
    objective.scaling_factor = -1.0
