"""Overconstrained mode (``policy.allow_unassigned``): a key town may stay without a lead, at a penalty.

An unassigned town is modelled as led by a **vacancy** of one tier: one pseudo-unit per tier, eligible for every
key town, with room for all of them, whose pair is worth ``−penalty`` (:func:`models.penalty.unassigned_penalty`).
The vacancy pairs are ordinary rows of the pair table (``vacancy`` True, ``unit_id`` empty, unit position
``len(units) + tier index``), so every rule family applies unchanged:

- coverage stays ``exactly_one`` per key town: a unit's pair or a vacancy, i.e. *at most one* lead;
- the tier and city quotas stay equalities over leads *plus vacancies*: each quota is met by its leads, and
  the shortfall (quota − leads, so the quota becomes ``≤``) is made of unassigned towns of that tier, one per
  town; a city quota can fall short only by towns of that city left unassigned;
- capacity, eligibility, priority, the change caps and lead counts do not see vacancies (no unit, no earlier
  lead), so they hold for the units exactly as without the mode;
- a pin leaves its town the pinned pair and the vacancies: the town may stay unassigned, never be led by another.

In the network (:mod:`optimizer.network`) the vacancies are three more unit nodes (tier → vacancy → town).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Scenario, Tier
from models.penalty import unassigned_penalty

from . import frames

VACANCY = "vacancy"
"""Pair-table column: True for a vacancy pair (the town left unassigned)."""


def vacancy_units(scenario: Scenario) -> list[tuple[Tier, int]]:
    """(tier, capacity) of the vacancy pseudo-units, at unit positions ``len(units)`` onwards; none without the
    mode."""
    if not scenario.policy.allow_unassigned:
        return []
    return [(tier, len(scenario.key_towns)) for tier in Tier]


def with_vacancies(scenario: Scenario, pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with the ``vacancy`` column, and in the mode one vacancy pair per key town and tier appended."""
    pairs = pairs.assign(**{VACANCY: False})
    units = vacancy_units(scenario)
    if not units:
        return pairs
    towns = frames.key_towns(scenario).rename(columns={"city": "town_city"})
    penalty = unassigned_penalty(scenario)
    blocks = []
    for k, (tier, capacity) in enumerate(units):
        block = pd.DataFrame({column: _blank(pairs[column], len(towns)) for column in pairs.columns})
        for column in towns.columns.intersection(pairs.columns):
            block[column] = towns[column].to_numpy()
        block["u"] = len(scenario.units) + k
        block["tier"] = tier.value
        block["capacity"] = capacity
        block["value"] = -penalty
        block[VACANCY] = True
        blocks.append(block)
    return pd.concat([pairs, *blocks], ignore_index=True)


def _blank(column: pd.Series, n: int) -> np.ndarray:
    """A neutral filler of ``column``'s kind: False, 0 or the empty string (the vacancy has no unit)."""
    types = pd.api.types
    if types.is_bool_dtype(column.dtype):
        return np.zeros(n, dtype=bool)
    if types.is_integer_dtype(column.dtype):
        return np.zeros(n, dtype=np.int64)
    return np.full(n, "", dtype=object)
