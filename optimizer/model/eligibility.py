"""Rule ``eligibility``: which (unit, key town) pairs may exist at all.

Only eligible pairs get a variable, so the rule is enforced by absence (missing arcs in network terms):
- a ``prd`` unit may lead towns only in the target cities of its PRD city (``counterparts``);
- a ``local`` unit only towns of its own city; a ``provincial`` unit any key town;
- a unit with ``county_pairing`` relationships only towns in those counties.
"""

from __future__ import annotations

import pandas as pd

from models import Scenario, Tier

from . import frames

PAIR_COLUMNS = ["u", "t", "unit_id", "town_id", "tier", "capacity", "strength", "town_city", "county",
                "border", "ethnic", "old_base", "unit_lon", "unit_lat", "town_lon", "town_lat"]


def eligible_pairs(scenario: Scenario) -> pd.DataFrame:
    """All eligible pairs, sorted by (town, unit) position so the model is built in a stable order."""
    towns = frames.key_towns(scenario).rename(columns={"city": "town_city", "lon": "town_lon", "lat": "town_lat"})
    units = frames.units(scenario).rename(columns={"lon": "unit_lon", "lat": "unit_lat"})
    by_tier = {tier: units[units["tier"] == tier.value] for tier in Tier}
    provincial = by_tier[Tier.PROVINCIAL].merge(towns, how="cross")
    local = by_tier[Tier.LOCAL].merge(towns, left_on="city", right_on="town_city")
    prd = (by_tier[Tier.PRD]
           .merge(frames.counterparts(scenario), left_on="city", right_on="prd_city")
           .merge(towns, left_on="target_city", right_on="town_city"))
    pairs = pd.concat([prd[PAIR_COLUMNS], provincial[PAIR_COLUMNS], local[PAIR_COLUMNS]], ignore_index=True)
    pairings = frames.county_pairings(scenario)
    if not pairings.empty:
        paired_units = set(pairings["unit_id"])
        allowed = pairs.merge(pairings.drop_duplicates(), on=["unit_id", "county"], how="left", indicator=True)
        keep = (~pairs["unit_id"].isin(paired_units)).to_numpy() | (allowed["_merge"] == "both").to_numpy()
        pairs = pairs[keep]
    return pairs.sort_values(["t", "u"], kind="stable").reset_index(drop=True)
