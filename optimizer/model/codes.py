"""Each pair's tier and town city as small integer codes, gathered by unit and town position (``u``, ``t``).

Rules that select pairs by tier and city (city quotas, their pre-solve checks) compare these instead of the
``tier`` and ``town_city`` strings: a string comparison over 700k pairs takes about 10 ms, a code comparison
well under one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Scenario, Tier

from .unassigned import vacancy_units

TIERS = list(Tier)
"""A tier's code is its position here."""


def tier_codes(scenario: Scenario, pairs: pd.DataFrame) -> np.ndarray:
    """The code (:data:`TIERS` position) of each pair's unit tier; vacancy pseudo-units have their tier's."""
    unit_tier = [TIERS.index(unit.tier) for unit in scenario.units] + \
        [TIERS.index(tier) for tier, _ in vacancy_units(scenario)]
    return np.array(unit_tier, dtype=np.int8)[pairs["u"].to_numpy()]


def city_codes(scenario: Scenario, pairs: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """The code of each pair's town city, and the codes by city name (key-town cities, in file order)."""
    code = {city: i for i, city in enumerate(dict.fromkeys(town.city for town in scenario.key_towns))}
    return np.array([code[town.city] for town in scenario.key_towns], dtype=np.int64)[pairs["t"].to_numpy()], code
