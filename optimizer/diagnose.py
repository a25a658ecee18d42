"""Diagnose an infeasible scenario: a minimal set of rule groups that cannot hold together, in policy words.

Every rule group (one per tier quota, city quota, tier's capacities, lead count, counterpart city, county
pairing, priority rule, pin or ban, change cap) is one declarative constraint over *all* (unit, key town) pairs,
so that relaxing a group readmits the pairs it forbade. Two rules stay hard, being the programme's definition:
every key town has one lead (coverage), and a local unit serves only its own city.

QuickXplain (Junker 2004) finds the *preferred* minimal conflict: the groups are ranked (:data:`KEEP_FIRST`),
and the conflict returned is the one a deletion filter dropping the lowest-ranked groups first would return —
minimal (dropping any one group makes the rest feasible) and a function of the ranking and the rules alone, not of
the solver — with about 2·k·log₂(n/k) feasibility questions for k groups out of n instead of n. Each question is
answered exactly by :class:`optimizer.feasibility.FlowOracle` (a max-flow on twin-town classes; for side rows an
LP whose answers are checked exactly, CP-SAT last), and none is asked twice: a subset of a feasible set is
feasible, a superset of a conflicting one conflicts. :class:`optimizer.feasibility.CpSatOracle` answers the same
questions from CP-SAT alone and so gives the same conflict: the reference.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from models import Conflict, PinAction, Rule, Scenario, Tier

from .feasibility import (
    Capacity,
    Constraint,
    CpSatOracle,
    FlowOracle,
    Forbid,
    Quota,
    Row,
    Undecided,
    Universe,
)
from .glossary import TIER_ZH
from .model import frames
from .model.context import groups as groups_of
from .model.continuity import keeps
from .model.lead_counts import lead_counts, members
from .model.tier_quota import tier_quotas

KEEP_FIRST = (Rule.TIER_QUOTA, Rule.CAPACITY, Rule.LEAD_COUNTS, Rule.PINS, Rule.ELIGIBILITY, Rule.PRIORITY, Rule.BASELINE,
              Rule.CONTINUITY)
"""Preference among minimal explanations: the structural rules (quotas, capacities) are asserted first and
dropped last, so a conflict is told as "quota vs capacity" before "quota vs a change cap". Side rows (city
quotas, lead counts, change caps: :class:`optimizer.feasibility.Row`) rank after every network rule: a conflict
the network rules explain alone is told in their words, and found by max-flows alone."""


@dataclass(frozen=True)
class Group:
    """One relaxable rule group: its id, how to say it, and the constraint it adds when enforced."""

    key: str
    rules: tuple[Rule, ...]
    en: str
    zh: str
    entities: tuple[str, ...]
    figures: dict[str, int]
    constraint: Constraint


def _universe(scenario: Scenario) -> pd.DataFrame:
    """Every pair the hard rules allow: PRD and provincial units × every key town, local units × own city; the
    columns ``u`` and ``t`` (unit and key-town positions, sorted by town, then unit) and ``unit_id``."""
    local = np.array([u.tier is Tier.LOCAL for u in scenario.units])
    own_city = np.array([u.city or "" for u in scenario.units])[:, None] == _town_array(scenario, "city")[None, :]
    town, unit = np.nonzero((~local[:, None] | own_city).T)
    unit_id = pd.Categorical.from_codes(unit, categories=pd.Index([u.unit_id for u in scenario.units], dtype=object))
    return pd.DataFrame({"u": unit, "t": town, "unit_id": unit_id})


def _unit_array(scenario: Scenario, column: str) -> np.ndarray:
    return np.array([getattr(u, column) for u in scenario.units])


def _town_array(scenario: Scenario, column: str) -> np.ndarray:
    return np.array([getattr(t, column) for t in scenario.key_towns])


def _forbid(members: np.ndarray) -> Forbid:
    return Forbid(members)


def _count(members: np.ndarray, low: int, high: int) -> Row:
    return Row(members, low, high)


def rule_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    """The relaxable groups of ``scenario`` over the universe ``pairs``."""
    groups: list[Group] = []
    unit, town = pairs["u"].to_numpy(), pairs["t"].to_numpy()
    tier = np.array([list(Tier).index(u.tier) for u in scenario.units])[unit]
    cities, city_code = np.unique(_town_array(scenario, "city"), return_inverse=True)
    city = city_code[town]
    quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
    ratio = scenario.policy.tier_ratio
    share = f"{ratio.prd}:{ratio.provincial}:{ratio.local}"
    for t, q in quotas.items():
        groups.append(Group(f"tier_quota:{t.value}", (Rule.TIER_QUOTA,),
                            f"the {t.value} tier leads exactly {q} key towns ({share})",
                            f"{TIER_ZH[t.value]}层级牵头 {q} 个重点帮扶镇({share})", (t.value,), {"quota": q},
                            Quota(list(Tier).index(t), q)))
    for city_name, per_tier in scenario.policy.city_quotas.items():
        for t, q in per_tier.items():
            groups.append(Group(f"tier_quota:{city_name}:{t.value}", (Rule.TIER_QUOTA,),
                                f"{city_name} gets exactly {q} towns from the {t.value} tier",
                                f"{city_name}由{TIER_ZH[t.value]}层级牵头 {q} 个镇", (city_name, t.value), {"quota": q},
                                _count(_in_city_tier(tier, city, list(Tier).index(t), cities, city_name), q, q)))
    for t in Tier:
        units = [u for u in scenario.units if u.tier is t]
        positions = [i for i, u in enumerate(scenario.units) if u.tier is t]
        total = sum(u.capacity for u in units)
        groups.append(Group(f"capacity:{t.value}", (Rule.CAPACITY,),
                            f"the {len(units)} {t.value} units lead at most their capacity ({total} towns in all)",
                            f"{len(units)} 个{TIER_ZH[t.value]}单位牵头数不超过各自容量(合计 {total} 个镇)",
                            (t.value,), {"capacity": total}, Capacity(np.array(positions, dtype=np.int64))))
    groups += _lead_count_groups(scenario, pairs)
    groups += _eligibility_groups(scenario, pairs)
    groups += _priority_groups(scenario, pairs)
    groups += _pin_groups(scenario, pairs)
    for keep in keeps(scenario):
        if keep.cap is None:
            continue
        members = _marked(scenario, pairs, keep.leads)
        what, what_zh = ("previous leads", "原帮扶关系") if keep.rule is Rule.CONTINUITY else ("baseline leads",
                                                                                         "基准方案的牵头关系")
        groups.append(Group(keep.rule.value, (keep.rule,),
                            f"at most {keep.cap} of the {len(keep.leads)} {what} change",
                            f"{len(keep.leads)} 个{what_zh}中至多调整 {keep.cap} 个", (), {"max_changes": keep.cap},
                            _count(members, keep.must_keep, max(keep.must_keep, len(members)))))
    return groups


def _in_city_tier(tier: np.ndarray, city: np.ndarray, wanted_tier: int, cities: np.ndarray, name: str
                  ) -> np.ndarray:
    """Pairs of a unit of ``wanted_tier`` and a town of city ``name`` (none when no key town is in that city)."""
    code = np.searchsorted(cities, name)
    if code == len(cities) or cities[code] != name:
        return np.array([], dtype=np.int64)
    return np.flatnonzero((tier == wanted_tier) & (city == code))


def _marked(scenario: Scenario, pairs: pd.DataFrame, leads: tuple[tuple[str, str], ...]) -> np.ndarray:
    """Positions of the pairs (unit_id, town_id) ``leads``, found by integer keys (the universe is large)."""
    unit_at = {u.unit_id: i for i, u in enumerate(scenario.units)}
    town_at = {t.town_id: i for i, t in enumerate(scenario.key_towns)}
    n = len(unit_at)
    wanted = [town_at[t] * n + unit_at[u] for u, t in leads if u in unit_at and t in town_at]
    return np.flatnonzero(np.isin(pairs["t"].to_numpy() * n + pairs["u"].to_numpy(), wanted))


def _lead_count_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    level = scenario.policy.target_level
    names = {u.unit_id: u.name for u in scenario.units}
    groups = []
    for count in lead_counts(scenario):
        alone = count.unit_ids == (count.key,)
        en = names[count.key] if alone else f"the {len(count.unit_ids)} units of {count.key}"
        zh = names[count.key] if alone else f"{count.key}({len(count.unit_ids)} 个单位)"
        groups.append(Group(f"lead_counts:{count.key}", (Rule.LEAD_COUNTS,),
                            f"{en} lead{'s' if alone else ''} exactly {count.count} {level.plural}",
                            f"{zh}牵头 {count.count} 个{level.zh}", (count.key,), {"count": count.count},
                            _count(members(pairs, count), count.count, count.count)))
    return groups


def _eligibility_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    groups = []
    targets: dict[str, list[str]] = {}
    for c in scenario.counterparts:
        targets.setdefault(c.prd_city, []).append(c.target_city)
    unit, town = pairs["u"].to_numpy(), pairs["t"].to_numpy()
    town_city = _town_array(scenario, "city")
    for prd_city in sorted({u.city for u in scenario.units if u.tier is Tier.PRD and u.city}):
        allowed = targets.get(prd_city, [])
        of_city = np.array([u.tier is Tier.PRD and u.city == prd_city for u in scenario.units])
        members = np.flatnonzero(of_city[unit] & ~np.isin(town_city, allowed)[town])
        groups.append(Group(f"eligibility:{prd_city}", (Rule.ELIGIBILITY,),
                            f"units of {prd_city} help only its counterpart cities ({', '.join(allowed) or 'none'})",
                            f"{prd_city}的单位只帮扶其对口城市({'、'.join(allowed) or '无'})", (prd_city,), {},
                            _forbid(members)))
    pairings = frames.county_pairings(scenario)
    names = {u.unit_id: u.name for u in scenario.units}
    position = {u.unit_id: i for i, u in enumerate(scenario.units)}
    by_unit = groups_of(unit, len(scenario.units))
    county = _town_array(scenario, "county")
    for unit_id, counties in pairings.groupby("unit_id", sort=True)["county"]:
        own = by_unit[position[unit_id]]
        members = own[~np.isin(county[town[own]], list(set(counties)))]
        listed = sorted(set(counties))
        towns = int(np.isin(county, listed).sum())
        cap = scenario.units[position[unit_id]].capacity
        groups.append(Group(f"eligibility:{unit_id}", (Rule.ELIGIBILITY,),
                            f"{names[unit_id]} (capacity {cap}) leads only towns in its paired counties "
                            f"({', '.join(listed)}: {towns} key towns)",
                            f"{names[unit_id]}(容量 {cap})只牵头其结对县({'、'.join(listed)},共 {towns} 个重点帮扶镇)的镇",
                            (unit_id, *listed), {"capacity": cap, "key_towns": towns}, _forbid(members)))
    return groups


def _priority_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    groups = []
    zh_flag = {"border": "省际边界", "ethnic": "少数民族地区", "old_base": "重点老区苏区"}
    unit, town = pairs["u"].to_numpy(), pairs["t"].to_numpy()
    for i, rule in enumerate(scenario.policy.priority):
        flagged = np.array([any(getattr(t, f) for f in rule.flags) for t in scenario.key_towns], dtype=bool)[town]
        bad = np.zeros(len(pairs), dtype=bool)
        needs, needs_zh = [], []
        if rule.tiers is not None:
            bad |= ~np.array([u.tier in rule.tiers for u in scenario.units], dtype=bool)[unit]
            needs.append(f"a {'/'.join(t.value for t in rule.tiers)} unit")
            needs_zh.append("、".join(TIER_ZH[t.value] for t in rule.tiers) + "单位")
        if rule.min_strength is not None:
            bad |= _unit_array(scenario, "strength")[unit] < rule.min_strength
            needs.append(f"strength ≥ {rule.min_strength}")
            needs_zh.append(f"帮扶力量不低于 {rule.min_strength}")
        groups.append(Group(f"priority:{i + 1}", (Rule.PRIORITY,),
                            f"{'/'.join(rule.flags)} towns need {' with '.join(needs)}",
                            f"{'、'.join(zh_flag[f] for f in rule.flags)}的镇须由{'且'.join(needs_zh)}牵头",
                            tuple(rule.flags), {}, _forbid(np.flatnonzero(flagged & bad))))
    return groups


def _pin_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    groups = []
    names = {u.unit_id: u.name for u in scenario.units} | {t.town_id: t.name for t in scenario.towns}
    unit_at = {u.unit_id: i for i, u in enumerate(scenario.units)}
    town_at = {t.town_id: i for i, t in enumerate(scenario.key_towns)}
    by_town = groups_of(pairs["t"].to_numpy(), len(scenario.key_towns))
    units = pairs["u"].to_numpy()
    for p in scenario.pins:
        town = by_town[town_at[p.town_id]]
        this = town[units[town] == unit_at[p.unit_id]]
        if p.action is PinAction.BAN:
            members = this
            en, zh = f"ban: {names[p.unit_id]} must not lead {names[p.town_id]}", \
                f"禁止:{names[p.unit_id]}不得牵头{names[p.town_id]}"
        else:  # a pin forbids the town's other pairs, and needs its own pair to exist
            members = town[units[town] != unit_at[p.unit_id]]
            if len(this) == 0:  # the pair breaks a hard rule (a local unit of another city): the pin alone fails
                members = town
            en, zh = f"pin: {names[p.unit_id]} leads {names[p.town_id]}", \
                f"指定:{names[p.unit_id]}牵头{names[p.town_id]}"
        groups.append(Group(f"pins:{p.unit_id}:{p.town_id}", (Rule.PINS,), en, zh, (p.unit_id, p.town_id), {},
                            _forbid(members)))
    return groups


Method = Literal["flow", "cp-sat"]
"""How feasibility questions are answered: max-flows (for side rows an LP, and CP-SAT last), or CP-SAT alone."""


@dataclass
class Diagnosis:
    """What a diagnosis found and what it took: ``conflicts`` is None when the scenario is feasible (``feasible``)
    or the time ran out; ``keys`` are the conflict's group keys; ``checks`` counts the questions asked ("flow":
    max-flows, "lp": of which also an LP, "cp-sat": CP-SAT solves) and those answered from earlier ones
    ("inferred")."""

    conflicts: list[Conflict] | None
    feasible: bool
    checks: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    keys: tuple[str, ...] = ()


class _Questions:
    """"Do these groups conflict?", asked at most once per set: a subset of a feasible set is feasible and a
    superset of a conflicting set conflicts, so such questions are answered from the earlier answers."""

    def __init__(self, ask: Callable[[frozenset[int]], bool], deadline: float, checks: Counter[str]) -> None:
        self.ask, self.deadline, self.checks = ask, deadline, checks
        self.feasible: list[frozenset[int]] = []
        self.infeasible: list[frozenset[int]] = []

    def __call__(self, active: frozenset[int]) -> bool:
        if any(active <= known for known in self.feasible):
            self.checks["inferred"] += 1
            return False
        if any(known <= active for known in self.infeasible):
            self.checks["inferred"] += 1
            return True
        if time.perf_counter() > self.deadline:
            raise Undecided
        answer = self.ask(active)
        (self.infeasible if answer else self.feasible).append(active)
        return answer


def quickxplain(ranked: list[int], conflicting: Callable[[frozenset[int]], bool]) -> list[int]:
    """The preferred minimal conflict among ``ranked`` (most preferred first; all of them together conflict, the
    empty set does not): Junker's QuickXplain. Equal to what a deletion filter returns that tries to drop the
    least preferred group first, with O(k·log(n/k)) questions for a conflict of k groups."""

    def qx(base: frozenset[int], changed: bool, candidates: list[int]) -> list[int]:
        if changed and conflicting(base):
            return []
        if len(candidates) == 1:
            return candidates
        half = len(candidates) // 2
        first, second = candidates[:half], candidates[half:]
        needed_second = qx(base | frozenset(first), True, second)
        needed_first = qx(base | frozenset(needed_second), bool(needed_second), first)
        return needed_first + needed_second

    return qx(frozenset(), False, ranked)


def ranking(groups: list[Group]) -> list[int]:
    """Group positions, most preferred first: network rules by :data:`KEEP_FIRST`, then side rows, each in order."""
    rank = {rule: i for i, rule in enumerate(KEEP_FIRST)}
    return sorted(range(len(groups)), key=lambda i: (isinstance(groups[i].constraint, Row),
                                                     rank.get(groups[i].rules[0], len(rank)), i))


def find_conflict(scenario: Scenario, time_limit: float = 20.0, method: Method = "flow") -> Diagnosis:
    """Diagnose ``scenario`` within ``time_limit`` seconds: its preferred minimal conflict (see the module)."""
    start = time.perf_counter()
    universe, groups = problem(scenario)
    oracle = (FlowOracle if method == "flow" else CpSatOracle)(universe, [g.constraint for g in groups],
                                                               start + time_limit)
    checks = oracle.checks
    ranked = ranking(groups)
    questions = _Questions(oracle.infeasible, start + time_limit, checks)
    try:
        if (unreachable := sorted(set(range(universe.n_towns)) - set(universe.pair_town.tolist()))):
            return Diagnosis([_uncoverable(scenario, unreachable)], False, checks, time.perf_counter() - start)
        if not questions(frozenset(ranked)):
            return Diagnosis(None, True, checks, time.perf_counter() - start)
        core = quickxplain(ranked, questions)
    except Undecided:
        return Diagnosis(None, False, checks, time.perf_counter() - start)
    core = sorted(core, key=ranked.index)
    conflicts = [Conflict(rules=groups[i].rules, message=groups[i].en, message_zh=groups[i].zh,
                          entities=groups[i].entities, figures=groups[i].figures) for i in core]
    return Diagnosis(conflicts, False, checks, time.perf_counter() - start, tuple(groups[i].key for i in core))


def problem(scenario: Scenario) -> tuple[Universe, list[Group]]:
    """The universe of pairs and the relaxable rule groups over it: what the oracles answer questions about."""
    pairs = _universe(scenario)
    universe = Universe.of(pairs, [(u.tier, u.capacity) for u in scenario.units], len(scenario.key_towns))
    return universe, rule_groups(scenario, pairs)


def _uncoverable(scenario: Scenario, towns: list[int]) -> Conflict:
    """Key towns that no unit may ever lead (no provincial unit, no PRD unit, no local unit of their city)."""
    key = scenario.key_towns
    names = "、".join(key[t].name for t in towns)
    return Conflict(rules=(Rule.COVERAGE,), entities=tuple(key[t].town_id for t in towns),
                    figures={"towns": len(towns)},
                    message=f"no unit may ever lead {', '.join(key[t].name for t in towns)}: there is no provincial "
                            "unit, no PRD unit and no local unit of their city",
                    message_zh=f"没有任何单位可以牵头{names}:既无省直单位、珠三角单位,也无本市市直单位")


def diagnose(scenario: Scenario, time_limit: float = 20.0, method: Method = "flow") -> list[Conflict] | None:
    """The preferred minimal set of conflicting rule groups of ``scenario``, in English and Chinese; None when the
    scenario is feasible or ``time_limit`` (for the whole diagnosis) ran out.

    >>> from models import load_scenario
    >>> tiny = load_scenario("scenarios/tiny/scenario.yaml")
    >>> diagnose(tiny) is None
    True
    """
    return find_conflict(scenario, time_limit, method).conflicts
