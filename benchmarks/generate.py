"""A synthetic, Guangdong-shaped scenario of any size, generated in memory for benchmarks.

Geography and counterparts follow the 2021 programme (13 target cities in the east, west and north, 7 Pearl
River Delta cities with pilot towns, 6 PRD helper cities and their counterpart cities); every town, county,
unit, score and previous lead is made up. The same arguments always give the same scenario.
"""

from __future__ import annotations

import math

import numpy as np

from models import (Category, Counterpart, Policy, PriorityRule, Relationship, RelationshipKind, Scenario, Score,
                    Tier, TierRatio, Town, Unit)
from optimizer.model import tier_quotas

TARGET_CITIES: dict[str, tuple[float, float, int, float]] = {
    # city: (lon, lat, relative number of towns, propensity of a town to be a key town)
    "汕头市": (116.68, 23.35, 30, 0.6),
    "韶关市": (113.60, 24.81, 94, 1.2),
    "河源市": (114.70, 23.74, 94, 1.2),
    "梅州市": (116.12, 24.29, 104, 1.3),
    "汕尾市": (115.38, 22.79, 40, 1.0),
    "阳江市": (111.98, 21.86, 38, 0.8),
    "湛江市": (110.36, 21.27, 85, 1.0),
    "茂名市": (110.93, 21.66, 90, 0.9),
    "肇庆市": (112.47, 23.05, 88, 0.9),
    "清远市": (113.06, 23.68, 80, 1.2),
    "潮州市": (116.62, 23.66, 40, 0.7),
    "揭阳市": (116.37, 23.55, 62, 0.9),
    "云浮市": (112.04, 22.92, 55, 1.1),
}
PILOT_CITIES: dict[str, tuple[float, float, int]] = {
    "广州市": (113.26, 23.13, 34), "珠海市": (113.58, 22.27, 15), "佛山市": (113.12, 23.02, 21),
    "惠州市": (114.42, 23.11, 49), "东莞市": (113.75, 23.02, 28), "中山市": (113.39, 22.52, 18),
    "江门市": (113.08, 22.58, 61),
}
COUNTERPARTS: dict[str, tuple[str, ...]] = {
    "广州市": ("梅州市", "清远市", "湛江市"), "深圳市": ("汕头市", "河源市", "汕尾市"),
    "珠海市": ("阳江市", "茂名市"), "佛山市": ("肇庆市", "云浮市"), "东莞市": ("韶关市", "揭阳市"),
    "中山市": ("潮州市",),
}
PRD_CENTRES: dict[str, tuple[float, float]] = {
    "广州市": (113.26, 23.13), "深圳市": (114.06, 22.54), "珠海市": (113.58, 22.27),
    "佛山市": (113.12, 23.02), "东莞市": (113.75, 23.02), "中山市": (113.39, 22.52),
}
BORDER_CITIES = {"韶关市": 0.35, "河源市": 0.25, "梅州市": 0.4, "湛江市": 0.15, "肇庆市": 0.2, "清远市": 0.35,
                 "潮州市": 0.2, "云浮市": 0.2}
ETHNIC_CITIES = {"清远市": 0.12, "韶关市": 0.06, "河源市": 0.03}
OLD_BASE_CITIES = {"梅州市": 0.5, "河源市": 0.35, "汕尾市": 0.4, "韶关市": 0.3, "潮州市": 0.2, "揭阳市": 0.2}
TOWNS_1127 = 1127
PILOT_SHARE = 226 / TOWNS_1127
TIER_UNIT_SHARE = {Tier.PRD: 0.45, Tier.PROVINCIAL: 0.20, Tier.LOCAL: 0.35}
CAPACITY_SLACK = 1.08
"""Capacity of each tier = quota × slack (rounded up): the 5:2:3 split is feasible, with 8 % to spare."""
STRENGTH_P = {Tier.PRD: [0.05, 0.15, 0.3, 0.3, 0.2], Tier.PROVINCIAL: [0.05, 0.15, 0.35, 0.3, 0.15],
              Tier.LOCAL: [0.15, 0.25, 0.3, 0.2, 0.1]}
"""Probabilities of strength 1..5 per tier."""
PRD_OF = {target: prd for prd, targets in COUNTERPARTS.items() for target in targets}


def split(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total`` into integer parts proportional to ``weights``."""
    exact = total * weights / weights.sum()
    parts: np.ndarray = np.floor(exact).astype(int)
    order = np.argsort(-(exact - parts), kind="stable")
    parts[order[: total - parts.sum()]] += 1
    return parts


def _capacities(rng: np.random.Generator, n_units: int, total: int) -> np.ndarray:
    """``total`` capacity over ``n_units`` units: about 80 % of it as 1s, the rest tops up some to 2 or 3;
    the units left at 0 are members of a helping group that never lead."""
    capacity = np.zeros(n_units, dtype=int)
    if n_units == 0 or total == 0:
        return capacity
    leads = rng.choice(n_units, size=min(n_units, max(1, math.ceil(0.8 * total))), replace=False)
    capacity[leads] = 1
    np.add.at(capacity, rng.choice(leads, size=total - len(leads)), 1)
    return capacity


def _towns(rng: np.random.Generator, n_towns: int, n_key: int) -> tuple[list[Town], dict[str, list[str]]]:
    """Key and consolidation towns of the 13 target cities, then the pilot towns; counties per city."""
    cities = list(TARGET_CITIES)
    size = np.array([TARGET_CITIES[c][2] for c in cities], dtype=float)
    propensity = np.array([TARGET_CITIES[c][3] for c in cities])
    n_pilot = min(round(n_towns * PILOT_SHARE), n_towns - n_key)
    key_per_city = split(n_key, size * propensity)
    consolidation_per_city = split(n_towns - n_key - n_pilot, size)
    pilot_per_city = split(n_pilot, np.array([v[2] for v in PILOT_CITIES.values()], dtype=float))
    towns: list[Town] = []
    counties: dict[str, list[str]] = {}

    def add_towns(city: str, lon: float, lat: float, categories: list[Category], flags: bool) -> None:
        n_counties = max(2, round(len(categories) / 12))
        names = [f"{city[:-1]}{k + 1}县" for k in range(n_counties)]
        counties[city] = names
        centres = np.array([lon, lat]) + rng.normal(0, 0.3, size=(n_counties, 2))
        which = rng.integers(0, n_counties, size=len(categories))
        where = centres[which] + rng.normal(0, 0.1, size=(len(categories), 2))
        draws = rng.random((len(categories), 3))
        for i, category in enumerate(categories):
            towns.append(Town(
                town_id=f"T{len(towns):05d}", name=f"{names[which[i]]}{i + 1}镇", city=city, county=names[which[i]],
                category=category, lon=round(float(where[i, 0]), 5), lat=round(float(where[i, 1]), 5),
                border=flags and bool(draws[i, 0] < BORDER_CITIES.get(city, 0)),
                ethnic=flags and bool(draws[i, 1] < ETHNIC_CITIES.get(city, 0)),
                old_base=flags and bool(draws[i, 2] < OLD_BASE_CITIES.get(city, 0))))

    for c, city in enumerate(cities):
        lon, lat = TARGET_CITIES[city][:2]
        categories = [Category.KEY] * int(key_per_city[c]) + [Category.CONSOLIDATION] * int(consolidation_per_city[c])
        add_towns(city, lon, lat, [categories[i] for i in rng.permutation(len(categories))], flags=True)
    for p, (city, (lon, lat, _)) in enumerate(PILOT_CITIES.items()):
        add_towns(city, lon, lat, [Category.PILOT] * int(pilot_per_city[p]), flags=False)
    return towns, counties


def _units(rng: np.random.Generator, n_units: int, key_of: dict[str, int], quotas: dict[Tier, int]) -> list[Unit]:
    """PRD units by helper city, provincial units in 广州, local units by target city, sized by key towns served."""
    groups: list[tuple[Tier, str | None, float, float, float]] = []  # tier, city, lon, lat, weight
    for city, targets in COUNTERPARTS.items():
        groups.append((Tier.PRD, city, *PRD_CENTRES[city], sum(key_of[t] for t in targets)))
    groups.append((Tier.PROVINCIAL, None, *PILOT_CITIES["广州市"][:2], 1.0))
    for city in TARGET_CITIES:
        groups.append((Tier.LOCAL, city, *TARGET_CITIES[city][:2], key_of[city]))
    unit_counts = split(n_units, np.array([TIER_UNIT_SHARE[t] for t in Tier]))
    units: list[Unit] = []
    for t, tier in enumerate(Tier):
        mine = [g for g in groups if g[0] is tier]
        weights = np.array([g[4] for g in mine], dtype=float)
        sizes = split(int(unit_counts[t]), weights)
        capacity_total = split(math.ceil(quotas[tier] * CAPACITY_SLACK), weights)
        for (_, home, lon, lat, _), n, cap in zip(mine, sizes, capacity_total, strict=True):
            capacity = _capacities(rng, int(n), int(cap))
            strength = rng.choice(np.arange(1, 6), size=int(n), p=STRENGTH_P[tier])
            spot = np.array([lon, lat]) + rng.normal(0, 0.05, size=(int(n), 2))
            for i in range(int(n)):
                units.append(Unit(
                    unit_id=f"U{len(units):05d}", name=f"{home or '省直'}{tier.value}单位{i + 1}", tier=tier,
                    city=home, capacity=int(capacity[i]), strength=int(strength[i]),
                    lon=round(float(spot[i, 0]), 5), lat=round(float(spot[i, 1]), 5)))
    return units


def _relationships(rng: np.random.Generator, key: list[Town], units: list[Unit], quotas: dict[Tier, int],
                   counties: dict[str, list[str]]) -> list[Relationship]:
    """Previous leads of 40 % of key towns (tiers drawn 5:2:3, within capacity; one in ten by a unit that no
    longer leads), then county pairings of 15 % of PRD units with one or two counties of their target cities."""
    capable: dict[tuple[Tier, str | None], list[str]] = {}
    members: list[str] = []
    for u in units:
        (capable.setdefault((u.tier, u.city), []) if u.capacity > 0 else members).append(u.unit_id)
    relationships: list[Relationship] = []
    spare = {u.unit_id: u.capacity for u in units}
    tier_p = np.array([quotas[t] for t in Tier], dtype=float) / len(key)
    for i in rng.choice(len(key), size=round(0.4 * len(key)), replace=False):
        town = key[int(i)]
        tier = list(Tier)[rng.choice(3, p=tier_p)]
        home = {Tier.PRD: PRD_OF[town.city], Tier.PROVINCIAL: None, Tier.LOCAL: town.city}[tier]
        pool = [u for u in capable.get((tier, home), []) if spare[u] > 0]
        lead = str(rng.choice(members if not pool or rng.random() < 0.1 else pool))
        spare[lead] -= 1
        relationships.append(Relationship(unit_id=lead, kind=RelationshipKind.PREVIOUS_LEAD, town_id=town.town_id))
    prd_units = [u for u in units if u.tier is Tier.PRD]
    for i in rng.choice(len(prd_units), size=round(0.15 * len(prd_units)), replace=False):
        unit = prd_units[int(i)]
        pool = [c for target in COUNTERPARTS[unit.city or ""] for c in counties[target]]
        for county in rng.choice(pool, size=min(len(pool), int(rng.integers(1, 3))), replace=False):
            relationships.append(Relationship(unit_id=unit.unit_id, kind=RelationshipKind.COUNTY_PAIRING,
                                              county=str(county)))
    return relationships


def _scores(rng: np.random.Generator, key: list[Town], units: list[Unit]) -> list[Score]:
    """Scores 0–100 for 12 units per key town, drawn among the units that may lead it and have capacity."""
    capable: dict[tuple[Tier, str | None], list[str]] = {}
    for u in units:
        if u.capacity > 0:
            capable.setdefault((u.tier, u.city), []).append(u.unit_id)
    scores: list[Score] = []
    for town in key:
        pool = (capable.get((Tier.PRD, PRD_OF[town.city]), []) + capable.get((Tier.PROVINCIAL, None), [])
                + capable.get((Tier.LOCAL, town.city), []))
        for unit_id in rng.choice(pool, size=min(len(pool), 12), replace=False):
            scores.append(Score(unit_id=str(unit_id), town_id=town.town_id, score=int(rng.integers(0, 101))))
    return scores


def _policy(key_of: dict[str, int], units: list[Unit]) -> Policy:
    """Continuity reward 30 and cap 30 %, 0.05 points per km, two priority rules and a 湛江市 city quota."""
    zhanjiang = key_of["湛江市"]
    local_cap = sum(u.capacity for u in units if u.tier is Tier.LOCAL and u.city == "湛江市")
    city_quota = {Tier.PRD: zhanjiang // 2, Tier.LOCAL: min(local_cap, round(0.3 * zhanjiang))}
    city_quota[Tier.PROVINCIAL] = zhanjiang - sum(city_quota.values())
    return Policy(
        city_quotas={"湛江市": city_quota}, continuity_weight=30, max_changes=0.3, distance_weight=0.05,
        priority=[PriorityRule(flags=["ethnic"], tiers=[Tier.PRD, Tier.PROVINCIAL], min_strength=None),
                  PriorityRule(flags=["border"], tiers=None, min_strength=3)])


def scale_instance(n_towns: int = TOWNS_1127, n_units: int = 2000, seed: int = 0,
                   key_share: float = 600 / TOWNS_1127) -> Scenario:
    """A Guangdong-like scenario with ``n_towns`` towns (``round(n_towns·key_share)`` key) and ``n_units`` units.

    Units split 45/20/35 % over prd/provincial/local; each tier's capacity is its 5:2:3 quota plus 8 %, and most
    units have capacity 0 (group members). About 40 % of key towns have a previous lead (a tenth of them by a unit
    that can no longer lead); at most 30 % of previous leads may change, which binds against the scores and
    distances. Ethnic towns need a prd or provincial unit, border towns a unit of strength ≥ 3; 15 % of PRD units
    are paired with one or two counties, and 湛江市 has a per-city tier quota.
    """
    rng = np.random.default_rng(seed)
    n_key = round(n_towns * key_share)
    towns, counties = _towns(rng, n_towns, n_key)
    key = [t for t in towns if t.category is Category.KEY]
    key_of = {city: sum(1 for t in key if t.city == city) for city in TARGET_CITIES}
    quotas = tier_quotas(n_key, TierRatio())
    units = _units(rng, n_units, key_of, quotas)
    relationships = _relationships(rng, key, units, quotas, counties)
    return Scenario(
        name=f"scale-{n_towns}", description=f"synthetic Guangdong-like instance: {n_towns} towns ({n_key} key), "
        f"{n_units} units, seed {seed}", towns=tuple(towns), units=tuple(units),
        counterparts=tuple(Counterpart(prd_city=p, target_city=t) for p, ts in COUNTERPARTS.items() for t in ts),
        relationships=tuple(relationships), scores=tuple(_scores(rng, key, units)), policy=_policy(key_of, units))
