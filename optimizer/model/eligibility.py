"""Rule ``eligibility``: which (unit, key town) pairs may exist at all.

Only eligible pairs get a variable, so the rule is enforced by absence (missing arcs in network terms):
- a ``prd`` unit may lead towns only in the target cities of its PRD city (``counterparts``);
- a ``local`` unit only towns of its own city; a ``provincial`` unit any key town;
- a unit with ``county_pairing`` relationships only towns in those counties.

The pairs are enumerated in index space (unit → eligible cities → their towns) and the columns gathered by
position: a pandas merge per tier copied every column of every pair and took seconds on 700k pairs, and building
the string columns from object arrays made pandas check every element.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from models import Scenario, Tier

from . import frames

PAIR_COLUMNS = ["u", "t", "unit_id", "town_id", "tier", "capacity", "town_city"]
"""What the rules, the solvers and the plan read of a pair. Strength, flags, counties and coordinates are read
from the unit and town tables by position where a rule needs them (``u``, ``t``): gathering them for every pair
was half of the build on 711k pairs, for columns nothing read."""
UNIT_COLUMNS = {"unit_id": "unit_id", "tier": "tier", "capacity": "capacity"}
TOWN_COLUMNS = {"town_id": "town_id", "town_city": "city"}


def eligible_pairs(scenario: Scenario) -> pd.DataFrame:
    """All eligible pairs, sorted by (town, unit) position so the model is built in a stable order."""
    towns, units = frames.key_towns(scenario), frames.units(scenario)
    u, t = eligible_indices(scenario, towns, units)
    return pair_frame(towns, units, u, t)


def eligible_indices(scenario: Scenario, towns: pd.DataFrame, units: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Unit and town positions of every eligible pair, sorted by (town, unit): enumerated town by town from the
    units eligible in its city, so no sort is needed, and before any column is gathered, so that the rules that
    prune pairs act on positions."""
    city_codes, town_city = np.unique(towns["city"].to_numpy(dtype=object).astype(str), return_inverse=True)
    block_u, block_c = _unit_cities(scenario, city_codes)
    by_city = np.argsort(block_c, kind="stable")  # units of each city in unit order
    starts = np.searchsorted(block_c[by_city], np.arange(len(city_codes) + 1))
    city_units = np.split(block_u[by_city], starts[1:-1])
    t = np.repeat(np.arange(len(towns), dtype=np.int64), (starts[1:] - starts[:-1])[town_city])
    u = np.concatenate([city_units[c] for c in town_city.tolist()]) if len(towns) else np.zeros(0, dtype=np.int64)
    return _within_paired_counties(scenario, u, t)


def pair_frame(towns: pd.DataFrame, units: pd.DataFrame, u: np.ndarray, t: np.ndarray,
               rows: np.ndarray | None = None) -> pd.DataFrame:
    """The :data:`PAIR_COLUMNS` of the eligible pairs ``(u, t)``, or of those selected by the mask ``rows``.

    Each column is taken from its table's own array (``str`` columns stay ``str``, without pandas re-checking
    every element); only with no eligible pair at all do the text columns come out ``object``, as pandas
    leaves empty object arrays. Every array is new, so the frame takes them without a copy.
    """
    typed = len(u) > 0
    if rows is not None:
        u, t = u[rows], t[rows]
    columns = {"u": u, "t": t}
    for table, positions, names in ((units, u, UNIT_COLUMNS), (towns, t, TOWN_COLUMNS)):
        for name, source in names.items():
            columns[name] = _take(table[source], positions, typed)
    return pd.DataFrame({name: columns[name] for name in PAIR_COLUMNS}, copy=False)


def _take(column: pd.Series, positions: np.ndarray, typed: bool) -> np.ndarray | ExtensionArray:
    """``column`` at ``positions``: a ``str`` column as ``str`` (unless ``typed`` is False), any other as numpy."""
    if typed and isinstance(column.dtype, pd.StringDtype):
        return column.array.take(positions)
    return column.to_numpy()[positions]


def _unit_cities(scenario: Scenario, city_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit position, city code) of every city whose towns a unit may lead, by tier and counterparts."""
    code = {city: i for i, city in enumerate(city_codes)}
    targets: dict[str, list[int]] = {}
    for c in scenario.counterparts:
        if c.target_city in code:
            targets.setdefault(c.prd_city, []).append(code[c.target_city])
    every_city = list(range(len(city_codes)))
    blocks_u: list[int] = []
    blocks_c: list[int] = []
    for position, unit in enumerate(scenario.units):
        if unit.tier is Tier.PROVINCIAL:
            cities = every_city
        elif unit.tier is Tier.LOCAL:
            cities = [code[unit.city]] if unit.city in code else []
        else:
            cities = sorted(set(targets.get(unit.city or "", [])))
        blocks_u.extend([position] * len(cities))
        blocks_c.extend(cities)
    return np.array(blocks_u, dtype=np.int64), np.array(blocks_c, dtype=np.int64)


def _within_paired_counties(scenario: Scenario, u: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(u, t)`` without those of a unit with county pairings to a town outside its counties."""
    pairings = frames.county_pairings(scenario)
    if pairings.empty:
        return u, t
    unit_pos = {unit.unit_id: i for i, unit in enumerate(scenario.units)}
    county_code: dict[str, int] = {}
    town_county = np.array([county_code.setdefault(town.county, len(county_code)) for town in scenario.key_towns],
                           dtype=np.int64)
    paired = np.zeros(len(unit_pos), dtype=bool)
    paired[[unit_pos[x] for x in pairings["unit_id"]]] = True
    allowed = np.zeros((len(unit_pos), len(county_code)), dtype=bool)  # a paired unit's counties: one gather per pair
    for x, c in zip(pairings["unit_id"], pairings["county"], strict=True):
        if c in county_code:
            allowed[unit_pos[x], county_code[c]] = True
    check = np.flatnonzero(paired[u])
    keep = np.ones(len(u), dtype=bool)
    keep[check[~allowed[u[check], town_county[t[check]]]]] = False
    return u[keep], t[keep]
