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
    return _haversine(lon1, lat1, lon2, lat2, np.cos(lat1), np.cos(lat2))


def _haversine(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray, cos1: np.ndarray,
               cos2: np.ndarray) -> np.ndarray:
    """:func:`haversine_km` of coordinates in radians, given the cosines of the latitudes; computed in place
    (one array instead of ten temporaries of every pair), in the order of
    ``2R · asin(√(sin²(Δlat/2) + cos1 · cos2 · sin²(Δlon/2)))``."""
    h = np.subtract(lat2, lat1)
    h /= 2
    np.sin(h, out=h)
    h **= 2
    half_dlon = np.subtract(lon2, lon1)
    half_dlon /= 2
    np.sin(half_dlon, out=half_dlon)
    half_dlon **= 2
    cosines = np.multiply(cos1, cos2)
    cosines *= half_dlon
    h += cosines
    np.sqrt(h, out=h)
    np.arcsin(h, out=h)
    h *= 2 * EARTH_RADIUS_KM
    return h


CHUNK = 1 << 15
"""Pairs per block of :func:`pair_km`: its gathers and temporaries stay in cache and are reused, instead of a dozen
fresh arrays of every pair (on 711k pairs the page faults of those took longer than the arithmetic)."""


def pair_km(scenario: Scenario, u: np.ndarray, t: np.ndarray) -> np.ndarray:
    """:func:`haversine_km` of the pairs of unit and key-town positions: radians and cosines are computed once
    per unit and per town, then gathered block by block (:data:`CHUNK`; the same floating-point operations, so
    the same kilometres)."""
    ulon, ulat = np.radians(np.array([(x.lon, x.lat) for x in scenario.units], dtype=float).reshape(-1, 2).T)
    tlon, tlat = np.radians(np.array([(x.lon, x.lat) for x in scenario.key_towns], dtype=float).reshape(-1, 2).T)
    ucos, tcos = np.cos(ulat), np.cos(tlat)
    km = np.empty(len(u))
    for start in range(0, len(u), CHUNK):
        uu, tt = u[start:start + CHUNK], t[start:start + CHUNK]
        km[start:start + CHUNK] = _haversine(ulon.take(uu), ulat.take(uu), tlon.take(tt), tlat.take(tt),
                                             ucos.take(uu), tcos.take(tt))
    return km


def pair_terms(scenario: Scenario, pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each term of every pair's value: ``score``, ``continuity``, ``baseline``, ``distance`` (vectorised;
    ``pairs`` must carry the ``u`` and ``t`` positions, ``previous`` and ``baseline``, as the rows of
    :func:`.build.candidate_pairs` do)."""
    policy: Policy = scenario.policy
    u, t = pairs["u"].to_numpy(), pairs["t"].to_numpy()
    score = np.zeros(len(pairs), dtype=np.int64)
    row, index = frames.positions(scenario).rows(u, t, [(s.unit_id, s.town_id) for s in scenario.scores])
    score[row] = np.array([s.score for s in scenario.scores], dtype=np.int64)[index]
    distance = np.zeros(len(pairs), dtype=np.int64)
    if policy.distance_weight > 0:
        distance -= np.rint(policy.distance_weight * pair_km(scenario, u, t)).astype(np.int64)
    return {"score": score,
            "continuity": policy.continuity_weight * pairs["previous"].to_numpy(dtype=np.int64),
            "baseline": policy.baseline_weight * pairs["baseline"].to_numpy(dtype=np.int64),
            "distance": distance}


def pair_values(scenario: Scenario, pairs: pd.DataFrame) -> np.ndarray:
    """Integer objective value of every pair: the sum of its :func:`pair_terms`."""
    value = np.zeros(len(pairs), dtype=np.int64)
    for term in pair_terms(scenario, pairs).values():
        value += term
    return value


def define_objective(ctx: ModelContext) -> None:
    """Maximise Σ value·x, written as CP-SAT stores a maximisation: minimise Σ −value·x, scaling factor −1."""
    values = ctx.pairs["value"].to_numpy()
    nonzero = np.flatnonzero(values)
    objective = ctx.model.proto.objective
    objective.vars.extend(nonzero.tolist())
    objective.coeffs.extend((-values[nonzero]).tolist())
    objective.scaling_factor = -1.0
