"""Scenario tables as pandas frames, and unit and key-town positions by id: the builder works column-wise and on
integer positions, never pair by pair in Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import RelationshipKind, Scenario


def key_towns(scenario: Scenario) -> pd.DataFrame:
    """Key towns in file order, with a ``t`` position column: what the eligibility, priority and pair columns read
    (built column by column: a frame from row tuples made pandas infer every column from Python objects)."""
    towns = scenario.key_towns
    frame = pd.DataFrame({"town_id": [t.town_id for t in towns], "city": [t.city for t in towns],
                          **{flag: np.array([getattr(t, flag) for t in towns], dtype=bool)
                             for flag in ("border", "ethnic", "old_base")}})
    frame["t"] = np.arange(len(frame))
    return frame


def units(scenario: Scenario) -> pd.DataFrame:
    """Units in file order, with a ``u`` position column; tier as its string value."""
    units = scenario.units
    frame = pd.DataFrame({"unit_id": [u.unit_id for u in units], "tier": [str(u.tier) for u in units],
                          "capacity": np.array([u.capacity for u in units], dtype=np.int64),
                          "strength": np.array([u.strength for u in units], dtype=np.int64)})
    frame["u"] = np.arange(len(frame))
    return frame


def counterparts(scenario: Scenario) -> pd.DataFrame:
    return pd.DataFrame([(c.prd_city, c.target_city) for c in scenario.counterparts],
                        columns=["prd_city", "target_city"])


def county_pairings(scenario: Scenario) -> pd.DataFrame:
    """``unit_id, county`` of every county pairing."""
    return pd.DataFrame([(r.unit_id, r.county) for r in scenario.relationships
                         if r.kind is RelationshipKind.COUNTY_PAIRING], columns=["unit_id", "county"])


@dataclass(frozen=True)
class Positions:
    """Unit and key-town positions (the ``u`` and ``t`` columns) by id, to find pairs by one integer key instead
    of two strings (string keys took most of the build on large instances)."""

    unit: dict[str, int]
    town: dict[str, int]

    def rows(self, u: np.ndarray, t: np.ndarray, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """``(row, index)`` arrays such that the pair at positions ``(u[row], t[row])`` is ``pairs[index]``
        (``(unit_id, town_id)``); a pair of an unknown unit or a non-key town is never found.

        Keys are town-major (``t · n_units + u``), so eligible pairs, sorted by (town, unit), are already sorted
        and each wanted pair is a binary search, not a pass over every pair.
        """
        wanted_u = np.array([self.unit.get(unit, -1) for unit, _ in pairs], dtype=np.int64)
        wanted_t = np.array([self.town.get(town, -1) for _, town in pairs], dtype=np.int64)
        index = np.flatnonzero((wanted_u >= 0) & (wanted_t >= 0))
        if len(u) == 0 or len(index) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        wanted = wanted_t[index] * len(self.unit) + wanted_u[index]
        keys = np.asarray(t, dtype=np.int64) * len(self.unit) + np.asarray(u, dtype=np.int64)
        order = None if bool(np.all(keys[1:] > keys[:-1])) else np.argsort(keys, kind="stable")
        ordered = keys if order is None else keys[order]
        found = np.minimum(np.searchsorted(ordered, wanted), len(keys) - 1)
        hit = ordered[found] == wanted
        row = found[hit] if order is None else order[found[hit]]
        return row, index[hit]

    def mask(self, u: np.ndarray, t: np.ndarray, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """True for the pairs at positions ``(u, t)`` that are among ``pairs``."""
        marked = np.zeros(len(u), dtype=bool)
        marked[self.rows(u, t, pairs)[0]] = True
        return marked


def positions(scenario: Scenario) -> Positions:
    return Positions(unit={u.unit_id: i for i, u in enumerate(scenario.units)},
                     town={t.town_id: i for i, t in enumerate(scenario.key_towns)})
