"""Hypothesis strategies for small, consistent scenarios, and a reference implementation of the rules.

Generation has two modes:

- **planted**: a plan obeying every generated rule is drawn first (a tier per key town by the quota, a unit per
  town) and the data is derived from it: capacities at least the planted load, county pairings that include the
  planted towns' counties, priority rules the planted leads satisfy, city quotas equal to the planted counts and
  a change cap at least the planted number of changes. Such a scenario is feasible by construction.
- **free**: the same skeleton, but each capacity, county pairing, priority rule, city quota and change cap
  ignores the planted plan half the time, so about two thirds of the scenarios are infeasible.

The second half of the module, :class:`Reference`, re-implements the rules from the schema's documentation
(eligibility, priority, coverage, tier quotas with largest remainder, capacity, continuity) and the objective
without distances. It shares no code with ``optimizer.model`` or ``optimizer.audit``: it is the oracle the tests
compare both against.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from models import (
    Category, Counterpart, Plan, Policy, PriorityRule, Relationship, RelationshipKind, Rule, Scenario, Score,
    SolverSettings, Tier, TierRatio, Town, Unit,
)

TIERS: tuple[Tier, ...] = (Tier.PRD, Tier.PROVINCIAL, Tier.LOCAL)
"""Tier order of the largest-remainder tie break."""
FLAGS: tuple[str, ...] = ("border", "ethnic", "old_base")
MAX_CAPACITY = 4
TEST_SOLVER = SolverSettings(workers=1, time_limit=20)
CHANGE_FRACTIONS = (0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 1.0)
"""Fractional ``max_changes`` values; 0.1, 0.3 and 0.7 are not exact binary fractions."""


# ---------------------------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Generated:
    """A generated scenario and, in planted mode, the plan it was derived from (which obeys every rule)."""

    scenario: Scenario
    planted: Plan | None


@dataclass
class _Draft:
    """A unit while the planted plan is being drawn."""

    unit_id: str
    tier: Tier
    city: str | None
    towns: list[int] = field(default_factory=list)  # indices into the town list, planted leads


@st.composite
def tier_ratios(draw: DrawFn) -> TierRatio:
    """The default 5:2:3, a few classics, or any ratio of shares 0..6 (totals need not divide by 10)."""
    fixed = st.sampled_from([TierRatio(), TierRatio(prd=1, provincial=1, local=1), TierRatio(prd=2, provincial=1,
                                                                                            local=0)])
    free = st.tuples(*(st.integers(0, 6) for _ in TIERS)).map(
        lambda r: TierRatio(prd=r[0], provincial=r[1], local=r[2] if sum(r) else 1))
    return draw(st.one_of(fixed, free))


@st.composite
def generated(draw: DrawFn, *, min_key: int = 4, max_key: int = 14, max_units: int = 10,
              planted: bool | None = None, county_pairings: bool = True, priority: bool = True,
              max_changes: bool = True, city_quotas: bool = True, previous: bool = True, scores: bool = True,
              tier_ratio: bool = True) -> Generated:
    """A small consistent scenario (2–3 target cities, 1–2 PRD cities, ``min_key``..``max_key`` key towns plus
    0–3 consolidation/pilot towns, 3..``max_units`` units). ``planted=None`` draws the mode; each keyword set to
    ``False`` switches that feature off entirely."""
    is_planted = draw(st.booleans()) if planted is None else planted

    def obey() -> bool:
        """Whether the next item must respect the planted plan: always when planted, half the time when free."""
        return is_planted or draw(st.booleans())

    # Cities, counterparts, towns.
    cities = [f"C{i}" for i in range(draw(st.integers(2, 3)))]
    counties = {c: [f"{c}-K{j}" for j in range(draw(st.integers(1, 2)))] for c in cities}
    prd_cities = [f"P{i}" for i in range(draw(st.integers(1, 2)))]
    targets = {p: set(draw(st.lists(st.sampled_from(cities), min_size=1, max_size=len(cities), unique=True)))
               for p in prd_cities}
    n_key = draw(st.integers(min_key, max_key))
    n_other = draw(st.integers(0, 3))
    towns: list[Town] = []
    for i in range(n_key + n_other):
        town_city = cities[i] if i < len(cities) else draw(st.sampled_from(cities))  # every city has a key town
        category = Category.KEY if i < n_key else draw(st.sampled_from([Category.CONSOLIDATION, Category.PILOT]))
        flagged = {f: draw(st.integers(0, 3)) == 0 for f in FLAGS}
        towns.append(Town(town_id=f"T{i:02d}", name=f"town {i}", city=town_city,
                          county=draw(st.sampled_from(counties[town_city])), category=category, **flagged))
    key = list(range(n_key))

    # The planted plan: a tier per key town by the quota, then a unit per key town.
    ratio = draw(tier_ratios()) if tier_ratio else TierRatio()
    quotas = Reference.quotas(n_key, ratio)
    tier_of = draw(st.permutations([t for t in TIERS for _ in range(quotas[t])]))
    drafts: list[_Draft] = []
    for i in key:
        town, tier = towns[i], tier_of[i]
        fits = [d for d in drafts if d.tier is tier and len(d.towns) < MAX_CAPACITY and (
            tier is Tier.PROVINCIAL or (tier is Tier.LOCAL and d.city == town.city)
            or (tier is Tier.PRD and town.city in targets[d.city or ""]))]
        if fits and (len(drafts) >= max_units - 3 or draw(st.booleans())):
            draft = draw(st.sampled_from(fits))
        else:
            unit_city: str | None = None
            if tier is Tier.LOCAL:
                unit_city = town.city
            elif tier is Tier.PRD:
                unit_city = draw(st.sampled_from(prd_cities))
                targets[unit_city].add(town.city)
            draft = _Draft(unit_id=f"U{len(drafts):02d}", tier=tier, city=unit_city)
            drafts.append(draft)
        draft.towns.append(i)
    fewest = max(0, 3 - len(drafts))
    n_extra = draw(st.integers(fewest, max(fewest, min(3, max_units - len(drafts)))))
    for _ in range(n_extra):
        tier = draw(st.sampled_from(TIERS))
        extra_city = {Tier.PRD: draw(st.sampled_from(prd_cities)), Tier.LOCAL: draw(st.sampled_from(cities)),
                      Tier.PROVINCIAL: None}[tier]
        drafts.append(_Draft(unit_id=f"U{len(drafts):02d}", tier=tier, city=extra_city))

    strength = {d.unit_id: draw(st.integers(1, 5)) for d in drafts}
    capacity = {d.unit_id: draw(st.integers(len(d.towns) if obey() else 0, MAX_CAPACITY)) for d in drafts}
    planted_lead = {towns[i].town_id: d.unit_id for d in drafts for i in d.towns}
    units = [Unit(unit_id=d.unit_id, name=f"unit {d.unit_id}", tier=d.tier, city=d.city,
                  capacity=capacity[d.unit_id], strength=strength[d.unit_id]) for d in drafts]

    # Relationships: county pairings and previous leads (at most one per town, key or not).
    relationships: list[Relationship] = []
    all_counties = sorted({t.county for t in towns})
    if county_pairings and draw(st.booleans()):
        for d in drafts:
            if draw(st.integers(0, 2)) != 0:
                continue
            paired = set(draw(st.lists(st.sampled_from(all_counties), min_size=0 if d.towns else 1, max_size=2)))
            if obey():
                paired |= {towns[i].county for i in d.towns}
            relationships += [Relationship(unit_id=d.unit_id, kind=RelationshipKind.COUNTY_PAIRING, county=c)
                              for c in sorted(paired) or all_counties[:1]]
    if previous:
        unit_ids = [u.unit_id for u in units]
        for t in towns:
            if draw(st.integers(0, 2)) == 0:
                continue
            keep = t.town_id in planted_lead and draw(st.booleans())
            lead_before = planted_lead[t.town_id] if keep else draw(st.sampled_from(unit_ids))
            relationships.append(Relationship(unit_id=lead_before, kind=RelationshipKind.PREVIOUS_LEAD,
                                              town_id=t.town_id))
    relationships = draw(st.permutations(relationships))

    # Policy.
    rules: list[PriorityRule] = []
    if priority:
        for _ in range(draw(st.integers(0, 2))):
            flags = draw(st.lists(st.sampled_from(FLAGS), min_size=1, max_size=3, unique=True))
            tiers = draw(st.none() | st.lists(st.sampled_from(TIERS), min_size=1, max_size=3, unique=True))
            min_strength = draw(st.none() | st.integers(1, 5)) if tiers is not None else draw(st.integers(1, 5))
            if obey():
                leads = [u for u in units if any(towns[i].flags & set(flags) for i in key
                                                 if planted_lead[towns[i].town_id] == u.unit_id)]
                tight = bool(leads) and draw(st.booleans())  # exactly what the planted leads need, no slack
                if tiers is not None:
                    tiers = sorted({*(() if tight else tiers), *(u.tier for u in leads)}, key=TIERS.index)
                if min_strength is not None:
                    min_strength = min([5 if tight else min_strength, *(u.strength for u in leads)])
            rules.append(PriorityRule(flags=flags, tiers=tiers, min_strength=min_strength))
    quotas_by_city: dict[str, dict[Tier, int]] = {}
    if city_quotas and draw(st.booleans()):
        for city in draw(st.lists(st.sampled_from(cities), min_size=1, max_size=2, unique=True)):
            tiers = draw(st.lists(st.sampled_from(TIERS), min_size=1, max_size=3, unique=True))
            unit_tier = {u.unit_id: u.tier for u in units}
            planted_count = Counter(unit_tier[planted_lead[towns[i].town_id]] for i in key if towns[i].city == city)
            quotas_by_city[city] = {t: planted_count[t] if obey() else draw(st.integers(0, 3)) for t in tiers}
    cap: int | float | None = None
    if max_changes and draw(st.booleans()):
        previous_of = {r.town_id: r.unit_id for r in relationships if r.kind is RelationshipKind.PREVIOUS_LEAD}
        n_prev = sum(1 for i in key if towns[i].town_id in previous_of)
        changes = sum(1 for i in key if previous_of.get(towns[i].town_id, planted_lead[towns[i].town_id])
                      != planted_lead[towns[i].town_id])
        low = changes if obey() else 0
        fractions = [f for f in CHANGE_FRACTIONS if math.floor(Fraction(str(f)) * n_prev) >= low]
        counts = st.integers(low, low + 2)
        cap = draw(counts | st.sampled_from(fractions)) if fractions else draw(counts)
    policy = Policy(tier_ratio=ratio, city_quotas=quotas_by_city, priority=rules, max_changes=cap,
                    continuity_weight=draw(st.integers(0, 30)) if previous else 0)

    score_rows: list[Score] = []
    if scores:
        pairs = [(u.unit_id, t.town_id) for u in units for t in towns]
        table = draw(st.dictionaries(st.sampled_from(pairs), st.integers(-20, 50), max_size=len(pairs) // 2))
        score_rows = [Score(unit_id=u, town_id=t, score=v) for (u, t), v in table.items()]

    # File order differs from id order, so nothing may rely on the two agreeing.
    scenario = Scenario(
        name="generated",
        towns=tuple(draw(st.permutations(towns))),
        units=tuple(draw(st.permutations(units))),
        counterparts=tuple(Counterpart(prd_city=p, target_city=c) for p in prd_cities for c in sorted(targets[p])
                           if any(u.tier is Tier.PRD and u.city == p for u in units)),  # no dangling rows
        relationships=tuple(relationships),
        scores=tuple(score_rows),
        policy=policy,
        solver=TEST_SOLVER,
    )
    return Generated(scenario=scenario, planted=Plan.from_pairs(planted_lead) if is_planted else None)


def scenarios(**options: Any) -> SearchStrategy[Scenario]:
    """Scenarios only; the same keywords as :func:`generated` (e.g. ``scenarios(county_pairings=False)``)."""
    return generated(**options).map(lambda g: g.scenario)


BASIC = dict(county_pairings=False, priority=False, max_changes=False, city_quotas=False)
"""Keywords that leave only eligibility, coverage, tier quotas, capacity and the continuity reward."""


# ---------------------------------------------------------------------------------------------------------------
# Reference semantics (independent of optimizer.model and optimizer.audit)
# ---------------------------------------------------------------------------------------------------------------

class Reference:
    """The rules of a scenario, re-implemented from the documentation on plain dicts and sets."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.policy = scenario.policy
        self.units = {u.unit_id: u for u in scenario.units}
        self.towns = {t.town_id: t for t in scenario.towns}
        self.key_ids = {t.town_id for t in scenario.towns if t.category is Category.KEY}
        self.targets: dict[str, set[str]] = {}
        for c in scenario.counterparts:
            self.targets.setdefault(c.prd_city, set()).add(c.target_city)
        self.paired: dict[str, set[str]] = {}
        self.previous: dict[str, str] = {}  # town → unit, key towns only
        for r in scenario.relationships:
            if r.kind is RelationshipKind.COUNTY_PAIRING:
                self.paired.setdefault(r.unit_id, set()).add(r.county or "")
            elif r.town_id in self.key_ids:
                self.previous[r.town_id or ""] = r.unit_id
        self.score = {(s.unit_id, s.town_id): s.score for s in scenario.scores}

    @staticmethod
    def quotas(n: int, ratio: TierRatio) -> dict[Tier, int]:
        """Largest remainder in integers: floors, then one more for the largest remainders, ties by tier order."""
        shares = [ratio.prd, ratio.provincial, ratio.local]
        total = sum(shares)
        base = [n * s // total for s in shares]
        by_remainder = sorted(range(3), key=lambda k: (-(n * shares[k] % total), k))
        for k in by_remainder[: n - sum(base)]:
            base[k] += 1
        return dict(zip(TIERS, base, strict=True))

    @cached_property
    def tier_quotas(self) -> dict[Tier, int]:
        return self.quotas(len(self.key_ids), self.policy.tier_ratio)

    @cached_property
    def change_limit(self) -> int | None:
        cap = self.policy.max_changes
        if cap is None or isinstance(cap, int):
            return cap
        return math.floor(Fraction(str(cap)) * len(self.previous))

    def eligible(self, unit_id: str, town_id: str) -> bool:
        """Counterpart cities for PRD units, own city for local ones, anywhere for provincial; county pairings."""
        unit, town = self.units[unit_id], self.towns[town_id]
        if unit.tier is Tier.PRD and town.city not in self.targets.get(unit.city or "", set()):
            return False
        if unit.tier is Tier.LOCAL and unit.city != town.city:
            return False
        return unit_id not in self.paired or town.county in self.paired[unit_id]

    def priority_ok(self, unit_id: str, town_id: str) -> bool:
        unit, town = self.units[unit_id], self.towns[town_id]
        for rule in self.policy.priority:
            if not any(getattr(town, f) for f in rule.flags):
                continue
            if rule.tiers is not None and unit.tier not in rule.tiers:
                return False
            if rule.min_strength is not None and unit.strength < rule.min_strength:
                return False
        return True

    def candidates(self, town_id: str) -> list[str]:
        """Units that may lead ``town_id`` as far as the per-pair rules (eligibility, priority) go."""
        return [u for u in self.units if self.eligible(u, town_id) and self.priority_ok(u, town_id)]

    def value(self, unit_id: str, town_id: str) -> int:
        """score + continuity_weight · [kept previous lead]; the generated scenarios have no coordinates."""
        kept = self.previous.get(town_id) == unit_id
        return self.score.get((unit_id, town_id), 0) + self.policy.continuity_weight * kept

    def plan_value(self, pairs: Iterable[tuple[str, str]]) -> int:
        return sum(self.value(u, t) for t, u in pairs)

    def violations(self, pairs: Sequence[tuple[str, str]]) -> set[Rule]:
        """Every rule the ``(town_id, unit_id)`` list breaks (a list: duplicates count).

        A previous lead counts as changed unless the town's leads are exactly its previous unit, once.
        """
        broken: set[Rule] = set()
        leads: dict[str, list[str]] = {}
        for t, u in pairs:
            leads.setdefault(t, []).append(u)
        if any(len(leads.get(t, [])) != 1 for t in self.key_ids) or set(leads) - self.key_ids:
            broken.add(Rule.COVERAGE)
        if any(not self.eligible(u, t) for t, u in pairs):
            broken.add(Rule.ELIGIBILITY)
        if any(not self.priority_ok(u, t) for t, u in pairs):
            broken.add(Rule.PRIORITY)
        load = Counter(u for _, u in pairs)
        if any(load[u] > unit.capacity for u, unit in self.units.items()):
            broken.add(Rule.CAPACITY)
        on_key = [(self.units[u].tier, self.towns[t].city) for t, u in pairs if t in self.key_ids]
        per_tier = Counter(tier for tier, _ in on_key)
        per_city = Counter(on_key)
        if any(per_tier[t] != q for t, q in self.tier_quotas.items()) or any(
                per_city[(t, city)] != q for city, qs in self.policy.city_quotas.items() for t, q in qs.items()):
            broken.add(Rule.TIER_QUOTA)
        if self.change_limit is not None:
            changed = sum(1 for t, u in self.previous.items() if leads.get(t) != [u])
            if changed > self.change_limit:
                broken.add(Rule.CONTINUITY)
        return broken
