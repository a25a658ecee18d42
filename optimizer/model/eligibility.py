"""Rule ``eligibility``: which (unit, key town) pairs may exist at all.

Only eligible pairs get a variable, so the rule is enforced by absence (missing arcs in network terms):
- a ``prd`` unit may lead towns only in the target cities of its PRD city (``counterparts``);
- a ``local`` unit only towns of its own city; a ``provincial`` unit any key town;
- a unit with ``county_pairing`` relationships only towns in those counties.

The pairs are enumerated in index space (unit → eligible cities → their towns) and the columns gathered with
numpy: a pandas merge per tier copied every column of every pair and took seconds on 700k pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Scenario, Tier

from . import frames

PAIR_COLUMNS = ["u", "t", "unit_id", "town_id", "tier", "capacity", "strength", "town_city", "county",
                "border", "ethnic", "old_base", "unit_lon", "unit_lat", "town_lon", "town_lat"]
UNIT_COLUMNS = {"unit_id": "unit_id", "tier": "tier", "capacity": "capacity", "strength": "strength",
                "unit_lon": "lon", "unit_lat": "lat"}
TOWN_COLUMNS = {"town_id": "town_id", "town_city": "city", "county": "county", "border": "border",
                "ethnic": "ethnic", "old_base": "old_base", "town_lon": "lon", "town_lat": "lat"}


def eligible_pairs(scenario: Scenario) -> pd.DataFrame:
    """All eligible pairs, sorted by (town, unit) position so the model is built in a stable order."""
    towns, units = frames.key_towns(scenario), frames.units(scenario)
    u, t = _eligible_indices(scenario, towns, units)
    order = np.lexsort((u, t))
    u, t = u[order], t[order]
    columns = {"u": u, "t": t}
    for name, source in UNIT_COLUMNS.items():
        columns[name] = units[source].to_numpy()[u]
    for name, source in TOWN_COLUMNS.items():
        columns[name] = towns[source].to_numpy()[t]
    return pd.DataFrame({name: columns[name] for name in PAIR_COLUMNS})


def _eligible_indices(scenario: Scenario, towns: pd.DataFrame, units: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Unit and town positions of every eligible pair (unsorted)."""
    city_codes, town_city = np.unique(towns["city"].to_numpy(dtype=object).astype(str), return_inverse=True)
    by_city = np.argsort(town_city, kind="stable")
    starts = np.searchsorted(town_city[by_city], np.arange(len(city_codes) + 1))
    code = {city: i for i, city in enumerate(city_codes)}
    targets: dict[str, list[int]] = {}
    for c in scenario.counterparts:
        if c.target_city in code:
            targets.setdefault(c.prd_city, []).append(code[c.target_city])
    every_city = list(range(len(city_codes)))
    blocks_u: list[int] = []
    blocks_c: list[int] = []
    for position, (tier, city) in enumerate(zip(units["tier"], units["city"], strict=True)):
        if tier == Tier.PROVINCIAL.value:
            cities = every_city
        elif tier == Tier.LOCAL.value:
            cities = [code[city]] if city in code else []
        else:
            cities = sorted(set(targets.get(city, [])))
        blocks_u.extend([position] * len(cities))
        blocks_c.extend(cities)
    block_u, block_c = np.array(blocks_u, dtype=np.int64), np.array(blocks_c, dtype=np.int64)
    sizes = starts[block_c + 1] - starts[block_c]
    u = np.repeat(block_u, sizes)
    offset = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    t = by_city[np.repeat(starts[block_c], sizes) + offset]
    pairings = frames.county_pairings(scenario)
    if pairings.empty:
        return u, t
    unit_pos = dict(zip(units["unit_id"], units["u"], strict=True))
    county_codes, town_county = np.unique(towns["county"].to_numpy(dtype=object).astype(str), return_inverse=True)
    county_code = {county: i for i, county in enumerate(county_codes)}
    paired = np.zeros(len(units), dtype=bool)
    paired[[unit_pos[x] for x in pairings["unit_id"]]] = True
    allowed = np.array([unit_pos[x] * len(county_codes) + county_code[c]
                        for x, c in zip(pairings["unit_id"], pairings["county"], strict=True) if c in county_code],
                       dtype=np.int64)
    keep = ~paired[u] | np.isin(u * len(county_codes) + town_county[t], allowed)
    return u[keep], t[keep]
