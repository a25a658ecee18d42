"""``candidate_pairs`` and ``eligible_pairs`` return exactly what the string-keyed pandas code before them did.

The pair table is the model: a changed row order, dtype or value changes variables, objective or audit. The
reference below is that earlier code (frames from ``model_dump`` rows, a 16-column frame from object arrays,
masks over the frame, a merge on string ids for scores, ``unit\\ttown`` keys for earlier leads), kept here,
independent of ``optimizer.model``, and compared frame for frame on every shipped scenario, generated large
instances and hypothesis scenarios with pins, bans, baselines, coordinates and the overconstrained mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.generate import scale_instance
from models import Category, PinAction, Policy, RelationshipKind, Rule, Scenario, Tier, load_scenario
from models.penalty import unassigned_penalty
from optimizer.model.build import candidate_pairs
from optimizer.model.eligibility import eligible_pairs
from tests.strategies import BASIC, Generated, generated

ROOT = Path(__file__).resolve().parent.parent

SCENARIOS = sorted(ROOT.glob("scenarios/*/scenario.yaml"))


# ---------------------------------------------------------------------------------------------------------------
# Reference: the earlier implementation
# ---------------------------------------------------------------------------------------------------------------

PAIR_COLUMNS = ["u", "t", "unit_id", "town_id", "tier", "capacity", "strength", "town_city", "county",
                "border", "ethnic", "old_base", "unit_lon", "unit_lat", "town_lon", "town_lat"]
UNIT_COLUMNS = {"unit_id": "unit_id", "tier": "tier", "capacity": "capacity", "strength": "strength",
                "unit_lon": "lon", "unit_lat": "lat"}
TOWN_COLUMNS = {"town_id": "town_id", "town_city": "city", "county": "county", "border": "border",
                "ethnic": "ethnic", "old_base": "old_base", "town_lon": "lon", "town_lat": "lat"}


def ref_towns(scenario: Scenario) -> pd.DataFrame:
    rows = [t.model_dump(include={"town_id", "city", "county", "border", "ethnic", "old_base", "lon", "lat"})
            for t in scenario.towns if t.category is Category.KEY]
    frame = pd.DataFrame(rows)
    frame["t"] = range(len(frame))
    return frame


def ref_units(scenario: Scenario) -> pd.DataFrame:
    rows = [u.model_dump(include={"unit_id", "tier", "city", "capacity", "strength", "lon", "lat"})
            for u in scenario.units]
    frame = pd.DataFrame(rows, columns=["unit_id", "tier", "city", "capacity", "strength", "lon", "lat"])
    frame["tier"] = frame["tier"].map(str)
    frame["u"] = range(len(frame))
    return frame


def ref_eligible(scenario: Scenario) -> pd.DataFrame:
    towns, units = ref_towns(scenario), ref_units(scenario)
    city_codes, town_city = np.unique(towns["city"].to_numpy(dtype=object).astype(str), return_inverse=True)
    by_city = np.argsort(town_city, kind="stable")
    starts = np.searchsorted(town_city[by_city], np.arange(len(city_codes) + 1))
    code = {city: i for i, city in enumerate(city_codes)}
    targets: dict[str, list[int]] = {}
    for c in scenario.counterparts:
        if c.target_city in code:
            targets.setdefault(c.prd_city, []).append(code[c.target_city])
    blocks_u: list[int] = []
    blocks_c: list[int] = []
    for position, (tier, city) in enumerate(zip(units["tier"], units["city"], strict=True)):
        if tier == Tier.PROVINCIAL.value:
            cities = list(range(len(city_codes)))
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
    pairings = [(r.unit_id, r.county) for r in scenario.relationships if r.kind is RelationshipKind.COUNTY_PAIRING]
    if pairings:
        unit_pos = dict(zip(units["unit_id"], units["u"], strict=True))
        county_codes, town_county = np.unique(towns["county"].to_numpy(dtype=object).astype(str),
                                              return_inverse=True)
        county_code = {county: i for i, county in enumerate(county_codes)}
        paired = np.zeros(len(units), dtype=bool)
        paired[[unit_pos[x] for x, _ in pairings]] = True
        allowed = np.array([unit_pos[x] * len(county_codes) + county_code[c] for x, c in pairings
                            if c in county_code], dtype=np.int64)
        keep = ~paired[u] | np.isin(u * len(county_codes) + town_county[t], allowed)
        u, t = u[keep], t[keep]
    order = np.lexsort((u, t))
    u, t = u[order], t[order]
    columns = {"u": u, "t": t}
    for name, source in UNIT_COLUMNS.items():
        columns[name] = units[source].to_numpy()[u]
    for name, source in TOWN_COLUMNS.items():
        columns[name] = towns[source].to_numpy()[t]
    return pd.DataFrame({name: columns[name] for name in PAIR_COLUMNS})


def ref_by_priority(pairs: pd.DataFrame, policy: Policy) -> np.ndarray:
    keep = np.ones(len(pairs), dtype=bool)
    for rule in policy.priority:
        flagged = pairs[list(rule.flags)].to_numpy(dtype=bool).any(axis=1)
        ok = np.ones(len(pairs), dtype=bool)
        if rule.tiers is not None:
            ok &= pairs["tier"].isin([t.value for t in rule.tiers]).to_numpy()
        if rule.min_strength is not None:
            ok &= pairs["strength"].to_numpy() >= rule.min_strength
        keep &= ~flagged | ok
    return keep


def ref_by_pins(pairs: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    if not scenario.pins:
        return np.ones(len(pairs), dtype=bool)
    key = pd.MultiIndex.from_frame(pairs[["unit_id", "town_id"]])
    bans = [(p.unit_id, p.town_id) for p in scenario.pins if p.action is PinAction.BAN]
    pinned = {p.town_id: p.unit_id for p in scenario.pins if p.action is PinAction.PIN}
    banned = key.isin(bans) if bans else np.zeros(len(pairs), dtype=bool)
    pinned_unit = pairs["town_id"].map(pinned)
    other = (pinned_unit.notna() & (pinned_unit != pairs["unit_id"])).to_numpy()
    return ~banned & ~other


def ref_mark(pairs: pd.DataFrame, leads: list[tuple[str, str]]) -> np.ndarray:
    wanted = {f"{unit}\t{town}" for unit, town in leads}
    keys = pairs["unit_id"].to_numpy().astype(str) + "\t" + pairs["town_id"].to_numpy().astype(str)
    return pd.Series(keys).isin(wanted).to_numpy()


def ref_km(lon1: pd.Series, lat1: pd.Series, lon2: pd.Series, lat2: pd.Series) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


def ref_values(scenario: Scenario, pairs: pd.DataFrame) -> np.ndarray:
    policy = scenario.policy
    value = np.zeros(len(pairs), dtype=np.int64)
    score = pd.DataFrame([(s.unit_id, s.town_id, s.score) for s in scenario.scores],
                         columns=["unit_id", "town_id", "score"])
    if not score.empty:
        merged = pairs[["unit_id", "town_id"]].merge(score, on=["unit_id", "town_id"], how="left")
        value += merged["score"].fillna(0).to_numpy(dtype=np.int64)
    value += policy.continuity_weight * pairs["previous"].to_numpy(dtype=np.int64)
    value += policy.baseline_weight * pairs["baseline"].to_numpy(dtype=np.int64)
    if policy.distance_weight > 0:
        km = ref_km(pairs["unit_lon"], pairs["unit_lat"], pairs["town_lon"], pairs["town_lat"])
        value -= np.rint(policy.distance_weight * km).astype(np.int64)
    return value


def ref_with_vacancies(scenario: Scenario, pairs: pd.DataFrame) -> pd.DataFrame:
    pairs = pairs.assign(vacancy=False)
    if not scenario.policy.allow_unassigned:
        return pairs
    towns = ref_towns(scenario).rename(columns={"city": "town_city", "lon": "town_lon", "lat": "town_lat"})
    blocks = []
    for k, tier in enumerate(Tier):
        block = pd.DataFrame({column: ref_blank(pairs[column], len(towns)) for column in pairs.columns})
        for column in towns.columns.intersection(pairs.columns):
            block[column] = towns[column].to_numpy()
        block["u"] = len(scenario.units) + k
        block["tier"] = tier.value
        block["capacity"] = len(scenario.key_towns)
        block["value"] = -unassigned_penalty(scenario)
        block["vacancy"] = True
        blocks.append(block)
    return pd.concat([pairs, *blocks], ignore_index=True)


def ref_blank(column: pd.Series, n: int) -> np.ndarray:
    types = pd.api.types
    if types.is_bool_dtype(column.dtype):
        return np.zeros(n, dtype=bool)
    if types.is_integer_dtype(column.dtype):
        return np.zeros(n, dtype=np.int64)
    if types.is_float_dtype(column.dtype):
        return np.full(n, np.nan)
    return np.full(n, "", dtype=object)


def ref_candidate_pairs(scenario: Scenario) -> tuple[pd.DataFrame, dict[Rule, int]]:
    pairs = ref_eligible(scenario)
    by_priority = ref_by_priority(pairs, scenario.policy)
    by_pins = ref_by_pins(pairs, scenario)
    leads = pairs["capacity"].to_numpy() > 0
    pruned = {Rule.PRIORITY: int((~by_priority).sum()), Rule.PINS: int((by_priority & ~by_pins).sum()),
              Rule.CAPACITY: int((by_priority & by_pins & ~leads).sum())}
    pairs = pairs[by_priority & by_pins & leads].reset_index(drop=True)
    key = {t.town_id for t in scenario.key_towns}
    previous = [(r.unit_id, r.town_id) for r in scenario.relationships
                if r.kind is RelationshipKind.PREVIOUS_LEAD and r.town_id in key]
    pairs["previous"] = ref_mark(pairs, previous)
    pairs["baseline"] = ref_mark(pairs, [(b.unit_id, b.town_id) for b in scenario.baseline if b.town_id in key])
    pairs["value"] = ref_values(scenario, pairs)
    return ref_with_vacancies(scenario, pairs), pruned


# ---------------------------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------------------------

def assert_same(scenario: Scenario) -> None:
    pairs, pruned = candidate_pairs(scenario)
    expected, expected_pruned = ref_candidate_pairs(scenario)
    pd.testing.assert_frame_equal(pairs, expected[pairs.columns], check_exact=True)  # the slim frame: a subset
    assert pruned == expected_pruned
    eligible = eligible_pairs(scenario)
    pd.testing.assert_frame_equal(eligible, ref_eligible(scenario)[eligible.columns], check_exact=True)


def overconstrained(scenario: Scenario, penalty: int | None = None) -> Scenario:
    """``scenario`` in the overconstrained mode (the policy alone changes, so its key towns stay valid)."""
    policy = scenario.policy.model_copy(update={"allow_unassigned": True, "unassigned_penalty": penalty})
    return scenario.model_copy(update={"policy": policy})


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.parent.name for p in SCENARIOS])
def test_shipped_scenarios(path: Path) -> None:
    scenario = load_scenario(path)
    assert_same(scenario)
    assert_same(overconstrained(scenario))


@pytest.mark.parametrize(("towns", "units", "seed", "key_share"), [(300, 500, 1, 600 / 1127), (300, 500, 2, 1.0),
                                                                   (200, 700, 3, 0.8)])
def test_generated_instances(towns: int, units: int, seed: int, key_share: float) -> None:
    scenario = scale_instance(towns, units, seed=seed, key_share=key_share)
    assert_same(scenario)
    assert_same(overconstrained(scenario, 7))


@st.composite
def augmented(draw: st.DrawFn, base: st.SearchStrategy[Generated]) -> Scenario:
    """A generated scenario with pins and bans, a baseline (partly of unknown units), coordinates on some or
    all rows, a distance weight when every row has them, and sometimes the overconstrained mode."""
    scenario = draw(base).scenario
    unit_ids = [u.unit_id for u in scenario.units]
    key_ids = [t.town_id for t in scenario.key_towns]
    data = scenario.model_dump()
    pairs = draw(st.lists(st.tuples(st.sampled_from(unit_ids), st.sampled_from(key_ids)), max_size=6,
                          unique_by=lambda p: p))
    pinned: set[str] = set()
    pins = []
    for unit, town in pairs:
        action = draw(st.sampled_from([PinAction.PIN, PinAction.BAN]))
        if action is PinAction.PIN and town in pinned:
            action = PinAction.BAN
        pinned |= {town} if action is PinAction.PIN else set()
        pins.append({"unit_id": unit, "town_id": town, "action": action})
    data["pins"] = pins
    towns = draw(st.lists(st.sampled_from(key_ids), unique=True, max_size=len(key_ids)))
    data["baseline"] = [{"town_id": town, "unit_id": draw(st.sampled_from([*unit_ids, "GONE"]))} for town in towns]
    coordinates = draw(st.sampled_from(["none", "some", "all"]))
    for row in (*data["units"], *data["towns"]):
        if coordinates == "all" or (coordinates == "some" and draw(st.booleans())):
            row["lon"] = draw(st.floats(100, 120, allow_nan=False))
            row["lat"] = draw(st.floats(18, 30, allow_nan=False))
    policy = data["policy"]
    policy["baseline_weight"] = draw(st.integers(0, 50))
    policy["distance_weight"] = draw(st.sampled_from([0.05, 0.3, 2.0])) if coordinates == "all" else 0.0
    policy["allow_unassigned"] = draw(st.booleans())
    return Scenario.model_validate(data)


HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(augmented(generated(**BASIC)))
def test_basic_scenarios(scenario: Scenario) -> None:
    assert_same(scenario)


@HYPOTHESIS
@given(augmented(st.one_of(generated(planted=True), generated(), generated(max_key=6, max_units=5))))
def test_scenarios_with_every_rule(scenario: Scenario) -> None:
    assert_same(scenario)
