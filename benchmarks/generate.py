"""A synthetic, Guangdong-shaped scenario of any size, generated in memory for benchmarks.

Geography and counterparts follow the 2021 programme (13 target cities in the east, west and north, 7 Pearl
River Delta cities with pilot towns, 6 PRD helper cities and their counterpart cities); every town, county,
unit, score and previous lead is made up. The same arguments always give the same scenario.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from models import (Cadre, Category, Counterpart, GroupPolicy, MemberRule, Plan, Policy, PriorityRule, Rank,
                    Relationship, RelationshipKind, Scenario, Score, Tier, TierRatio, Town, Unit, UnitKind)
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


def _units(rng: np.random.Generator, n_units: int, key_of: dict[str, int], quotas: dict[Tier, int],
           slack: float = CAPACITY_SLACK) -> list[Unit]:
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
        capacity_total = split(math.ceil(quotas[tier] * slack), weights)
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
                   key_share: float = 600 / TOWNS_1127, capacity_slack: float = CAPACITY_SLACK) -> Scenario:
    """A Guangdong-like scenario with ``n_towns`` towns (``round(n_towns·key_share)`` key) and ``n_units`` units.

    Units split 45/20/35 % over prd/provincial/local; each tier's capacity is its 5:2:3 quota times
    ``capacity_slack`` (default plus 8 %), so by default most units have capacity 0 (group members). About 40 % of key towns have a previous lead (a tenth of them by a unit
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
    units = _units(rng, n_units, key_of, quotas, capacity_slack)
    relationships = _relationships(rng, key, units, quotas, counties)
    return Scenario(
        name=f"scale-{n_towns}", description=f"synthetic Guangdong-like instance: {n_towns} towns ({n_key} key), "
        f"{n_units} units, seed {seed}", towns=tuple(towns), units=tuple(units),
        counterparts=tuple(Counterpart(prd_city=p, target_city=t) for p, ts in COUNTERPARTS.items() for t in ts),
        relationships=tuple(relationships), scores=tuple(_scores(rng, key, units)), policy=_policy(key_of, units))


# --- staffing: groups, cadres and a lead plan (issue 4 item 7, issue 7 item 5) -------------------------------

STAFFING_INSTANCES: dict[str, dict[str, float]] = {
    "staff-12k": {"n_cadres": 12_000, "key_share": 600 / TOWNS_1127},  # 600 teams: 20 cadres a team
    "staff-22k": {"n_cadres": 22_000, "key_share": 1.0},               # 1,127 teams: 19.5 cadres a team
}
"""Province-scale staffing instances: 1,127 towns, 7,000 units; teams for the key towns."""
MEMBER_KIND_P = {UnitKind.ENTERPRISE: 0.45, UnitKind.INSTITUTION: 0.40, UnitKind.RESEARCH: 0.15}
INDUSTRY_P = 0.3
CADRES_PER_TEAM_LED = 18
NOMINEE_SHARE = 0.8
HEADS_PER_PAIRED_UNIT = 3
"""Cadres of a lead unit per town it leads, 80 % of them nominated for team posts (Party members of 2 years or
more, aged 27–40, 3 or more years of work) and the rest from the general mix; a county-paired lead unit has
three 副处 cadres aged 51–53 per paired county to head its county working group in turn; a six-year calendar needs about 13 a
team (see scripts/build_cadres.py). The rest of ``n_cadres`` is spread over the member units (most get none or
one, as in the programme: 7,174 units sent 8,099 cadres)."""
# The Guangdong scenario's nominee mix (scripts/build_cadres.py), as numpy tables.
AGE_BINS = np.array([(23, 29), (30, 35), (36, 40), (41, 45), (46, 50), (51, 58)])
AGE_P = np.array([0.18, 0.27, 0.20, 0.15, 0.11, 0.09])
ENTRY_AGES = np.array([22, 25, 28])
ENTRY_P = {UnitKind.AGENCY: [0.65, 0.3, 0.05], UnitKind.ENTERPRISE: [0.7, 0.25, 0.05],
           UnitKind.INSTITUTION: [0.3, 0.4, 0.3], UnitKind.RESEARCH: [0.15, 0.4, 0.45]}
PARTY_P = {UnitKind.AGENCY: 0.88, UnitKind.ENTERPRISE: 0.72, UnitKind.INSTITUTION: 0.68, UnitKind.RESEARCH: 0.6}
RANK_STEPS = {UnitKind.AGENCY: (6, 12, 20, 28), UnitKind.ENTERPRISE: (7, 14, 22, 30),
              UnitKind.INSTITUTION: (7, 14, 22, 30), UnitKind.RESEARCH: (8, 15, 23, 31)}
STAFF_RANKS = (Rank.KEYUAN, Rank.FUKE, Rank.ZHENGKE, Rank.FUCHU, Rank.ZHENGCHU)


def _cadres(rng: np.random.Generator, units: list[Unit], owner: np.ndarray, nominee: np.ndarray,
            head: np.ndarray, start: int) -> list[Cadre]:
    """Cadres of the units ``owner`` names (one entry per cadre), drawn from the Guangdong scenario's mix;
    ``nominee`` cadres are eligible team members (see :data:`CADRES_PER_TEAM_LED`), ``head`` ones 副处."""
    n = len(owner)
    kinds = [units[u].kind for u in owner]
    bins = AGE_BINS[rng.choice(len(AGE_BINS), size=n, p=AGE_P)]
    age = np.where(nominee, rng.integers(27, 41, n),
                   np.where(head, rng.integers(51, 54, n), rng.integers(bins[:, 0], bins[:, 1] + 1)))
    entry = np.array([ENTRY_AGES[rng.choice(3, p=ENTRY_P[k])] for k in kinds])
    work = np.maximum(0, age - np.minimum(entry, age) - (rng.random(n) < 0.15))
    work = np.where(nominee, np.maximum(work, 3), work)
    party = (rng.random(n) < np.array([PARTY_P[k] for k in kinds])) | nominee | head
    joined = np.where(rng.random(n) < 0.45, rng.integers(19, 23, n), rng.integers(23, age + 1))
    party_years = np.where(party, np.maximum(0, age - np.minimum(joined, age)), 0)
    party_years = np.where(nominee, np.maximum(party_years, 2), party_years)
    score = work + rng.normal(0, 2.5, n)
    rank = [Rank.FUCHU if h else STAFF_RANKS[int(sum(s >= step for step in RANK_STEPS[k]))]
            for s, k, h in zip(score, kinds, head, strict=True)]
    draw = rng.random(n)
    retiring = age >= 54
    until = np.where(retiring, start + 59 - age, np.where((draw >= 0.05) & (draw < 0.08), start + (draw * 100) % 3, 0))
    free = nominee | head  # nominated and head cadres are available throughout
    until = np.where(free & ~retiring, 0, until)
    late = ~retiring & ~free & (draw < 0.05)
    return [Cadre(cadre_id=f"C{k:05d}", unit_id=units[owner[k]].unit_id, name=f"干部{k}", party_member=bool(party[k]),
                  party_years=int(party_years[k]), work_years=int(work[k]), age=int(age[k]), rank=rank[k],
                  available_from=start + 1 + int(draw[k] * 100) % 2 if late[k] else None,
                  available_until=int(until[k]) or None) for k in range(n)]


def staffing_instance(n_cadres: int = 12_000, n_units: int = 7_000, n_towns: int = TOWNS_1127,
                      key_share: float = 600 / TOWNS_1127, seed: int = 0) -> tuple[Scenario, Plan]:
    """A province-scale staffing instance and its lead plan (without groups: :func:`optimizer.teams.staff.staff`
    composes them): :func:`scale_instance`'s towns and units with unit kinds, member capacities, town needs, the
    Guangdong scenario's member rules and the Shenzhen 2022 staffing rules, and ``n_cadres`` cadres.

    Lead units (capacity > 0) are agencies (a third of the provincial ones enterprises); the other units are
    member units of kind enterprise / institution / research (45 / 40 / 15 %) joining at most one group (research:
    two). Towns need agriculture, industry (30 %) and tourism (old-base or ethnic). The lead rules are the tier
    quotas, capacities, eligibility and the continuity reward (no change cap, city quota or priority rule, so
    the lead plan, the optimum of the lead units alone, is a quick flow; member units cannot lead). Each lead unit gets
    :data:`CADRES_PER_TEAM_LED` cadres per town it leads, the member units the rest at random; the cadre whose
    unit led a town before served there (``previous_town``).
    """
    from optimizer.solve import solve  # the solver imports this package's users, not the other way round

    base = scale_instance(n_towns, n_units, seed, key_share)
    rng = np.random.default_rng([seed, 1])
    draws = rng.random((len(base.towns), 1))
    towns = [t.model_copy(update={"needs": ";".join(tag for tag, on in (
        ("agriculture", True), ("industry", bool(draws[i, 0] < INDUSTRY_P)),
        ("tourism", t.old_base or t.ethnic)) if on)}) for i, t in enumerate(base.towns)]
    kinds = list(MEMBER_KIND_P)
    units = []
    for u in base.units:
        if u.capacity > 0:
            kind = UnitKind.ENTERPRISE if u.tier is Tier.PROVINCIAL and rng.random() < 1 / 3 else UnitKind.AGENCY
            units.append(u.model_copy(update={"kind": kind}))
        else:
            kind = kinds[rng.choice(len(kinds), p=list(MEMBER_KIND_P.values()))]
            units.append(u.model_copy(update={"kind": kind, "member_capacity": 2 if kind is UnitKind.RESEARCH else 1}))
    policy = base.policy.model_copy(update={"max_changes": None, "city_quotas": {}, "priority": [], "groups": GroupPolicy(
        member_rules=[MemberRule(kinds=[UnitKind.ENTERPRISE, UnitKind.INSTITUTION]),
                      MemberRule(kinds=[UnitKind.RESEARCH], needs=["industry"])], max_members=4)})
    leads = {u.unit_id for u in units if u.capacity > 0}
    fields = {name: getattr(base, name) for name in Scenario.model_fields}
    lead_only = Scenario(**fields | {
        "towns": tuple(towns), "units": tuple(u for u in units if u.unit_id in leads),
        "relationships": tuple(r for r in base.relationships if r.unit_id in leads),
        "scores": tuple(s for s in base.scores if s.unit_id in leads),
        "policy": policy.model_copy(update={"groups": GroupPolicy()})})
    result = solve(lead_only)
    if result.plan is None:
        raise RuntimeError(f"the lead plan of the staffing instance: {result.status} {result.message}")
    plan = Plan.from_pairs([(a.town_id, a.unit_id) for a in result.plan.assignments])
    index = {u.unit_id: i for i, u in enumerate(units)}
    led = np.bincount([index[a.unit_id] for a in plan.assignments], minlength=len(units))
    spare = n_cadres - CADRES_PER_TEAM_LED * int(led.sum())
    if spare < 0:
        raise ValueError(f"{n_cadres} cadres are fewer than {CADRES_PER_TEAM_LED} per team")
    members = np.flatnonzero([u.member_capacity > 0 for u in units])
    paired = Counter(r.unit_id for r in base.relationships if r.kind is RelationshipKind.COUNTY_PAIRING)
    heads = np.repeat([i for i, u in enumerate(units) if led[i] > 0 for _ in range(paired[u.unit_id])],
                      HEADS_PER_PAIRED_UNIT)
    spare -= len(heads)
    lead_rows = np.repeat(np.arange(len(units)), CADRES_PER_TEAM_LED * led)
    owner = np.concatenate([lead_rows, heads, rng.choice(members, size=spare)])
    per_unit = np.arange(len(lead_rows)) - np.repeat(np.cumsum(CADRES_PER_TEAM_LED * led) - CADRES_PER_TEAM_LED * led,
                                                     CADRES_PER_TEAM_LED * led)  # rank of each cadre in its unit
    nominated = per_unit < np.repeat(np.round(NOMINEE_SHARE * CADRES_PER_TEAM_LED * led), CADRES_PER_TEAM_LED * led)
    kind = np.concatenate([nominated, np.zeros(len(heads) + spare, dtype=bool)])
    head = np.concatenate([np.zeros(len(lead_rows), dtype=bool), np.ones(len(heads), dtype=bool),
                           np.zeros(spare, dtype=bool)])
    order = np.argsort(owner, kind="stable")
    start = policy.staffing.start_year
    cadres = _cadres(rng, units, owner[order], kind[order], head[order], start)
    first = {}
    for k, c in enumerate(cadres):
        first.setdefault(c.unit_id, k)
    lead_of = plan.lead_of()
    for r in base.relationships:
        if r.kind is RelationshipKind.PREVIOUS_LEAD and lead_of.get(r.town_id or "") == r.unit_id:
            k = first[r.unit_id]
            cadres[k] = cadres[k].model_copy(update={"previous_town": r.town_id})
    scenario = Scenario(**fields | {
        "name": f"staffing-{n_towns}-{n_cadres}", "towns": tuple(towns), "units": tuple(units), "policy": policy,
        "cadres": tuple(cadres), "description": f"synthetic province-scale staffing: {n_towns} towns "
        f"({len(plan)} teams), {n_units} units, {n_cadres} cadres, seed {seed}"})
    return scenario, plan
