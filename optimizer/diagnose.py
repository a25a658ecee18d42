"""Diagnose an infeasible scenario: a minimal set of rule groups that cannot hold together, in policy words.

Every rule group (one per tier quota, city quota, tier's capacities, counterpart city, county pairing, priority
rule, pin or ban, change cap) sits behind its own enforcement literal in a model over *all* (unit, key town)
pairs, so that relaxing a group readmits the pairs it forbade. CP-SAT, run with the literals as assumptions
(one worker, no objective), returns a sufficient set; a deletion filter shrinks it until dropping any one group
makes the rest feasible: the set is then minimal. Two rules stay hard, being the programme's definition:
every key town has one lead (coverage), and a local unit serves only its own city.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from models import Conflict, PinAction, Rule, Scenario, Tier

from .model import frames
from .model.continuity import keeps, mark
from .model.tier_quota import tier_quotas
from .solve import solve_interruptibly

TIER_ZH = {"prd": "珠三角帮扶", "provincial": "省直及中直驻粤", "local": "属地市直"}
KEEP_FIRST = (Rule.TIER_QUOTA, Rule.CAPACITY, Rule.PINS, Rule.ELIGIBILITY, Rule.PRIORITY, Rule.BASELINE,
              Rule.CONTINUITY)
"""Preference among equally minimal explanations: the structural rules (quotas, capacities) are asserted first
and dropped last, so a conflict is told as "quota vs capacity" before "quota vs a change cap"."""


@dataclass(frozen=True)
class Group:
    """One relaxable rule group: its id, how to say it, and the constraint it adds when enforced."""

    key: str
    rules: tuple[Rule, ...]
    en: str
    zh: str
    entities: tuple[str, ...]
    figures: dict[str, int]
    add: Callable[[cp_model.CpModel, list[cp_model.IntVar], cp_model.IntVar], None]


def _universe(scenario: Scenario) -> pd.DataFrame:
    """Every pair the hard rules allow: PRD and provincial units × every key town, local units × own city."""
    towns = frames.key_towns(scenario).rename(columns={"city": "town_city"})
    units = frames.units(scenario)
    free = units[units["tier"] != Tier.LOCAL.value].merge(towns, how="cross")
    local = units[units["tier"] == Tier.LOCAL.value].merge(towns, left_on="city", right_on="town_city")
    pairs = pd.concat([free, local], ignore_index=True).sort_values(["t", "u"], kind="stable")
    return pairs.reset_index(drop=True)


def _forbid(members: np.ndarray) -> Callable[[cp_model.CpModel, list[cp_model.IntVar], cp_model.IntVar], None]:
    def add(model: cp_model.CpModel, x: list[cp_model.IntVar], literal: cp_model.IntVar) -> None:
        model.add(sum(x[i] for i in members) == 0).only_enforce_if(literal)
    return add


def _count(members: np.ndarray, low: int, high: int
           ) -> Callable[[cp_model.CpModel, list[cp_model.IntVar], cp_model.IntVar], None]:
    def add(model: cp_model.CpModel, x: list[cp_model.IntVar], literal: cp_model.IntVar) -> None:
        model.add_linear_constraint(sum(x[i] for i in members), low, high).only_enforce_if(literal)
    return add


def _capacity(groups: list[np.ndarray], caps: list[int]
              ) -> Callable[[cp_model.CpModel, list[cp_model.IntVar], cp_model.IntVar], None]:
    def add(model: cp_model.CpModel, x: list[cp_model.IntVar], literal: cp_model.IntVar) -> None:
        for members, cap in zip(groups, caps, strict=True):
            if len(members) > cap:
                model.add(sum(x[i] for i in members) <= cap).only_enforce_if(literal)
    return add


def rule_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    """The relaxable groups of ``scenario`` over the universe ``pairs``."""
    groups: list[Group] = []
    tier = pairs["tier"].to_numpy()
    city = pairs["town_city"].to_numpy()
    quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
    ratio = scenario.policy.tier_ratio
    share = f"{ratio.prd}:{ratio.provincial}:{ratio.local}"
    for t, q in quotas.items():
        groups.append(Group(f"tier_quota:{t.value}", (Rule.TIER_QUOTA,),
                            f"the {t.value} tier leads exactly {q} key towns ({share})",
                            f"{TIER_ZH[t.value]}层级牵头 {q} 个重点帮扶镇({share})", (t.value,), {"quota": q},
                            _count(np.flatnonzero(tier == t.value), q, q)))
    for city_name, per_tier in scenario.policy.city_quotas.items():
        for t, q in per_tier.items():
            groups.append(Group(f"tier_quota:{city_name}:{t.value}", (Rule.TIER_QUOTA,),
                                f"{city_name} gets exactly {q} towns from the {t.value} tier",
                                f"{city_name}由{TIER_ZH[t.value]}层级牵头 {q} 个镇", (city_name, t.value), {"quota": q},
                                _count(np.flatnonzero((tier == t.value) & (city == city_name)), q, q)))
    by_unit = pairs.groupby("u").indices
    for t in Tier:
        units = [u for u in scenario.units if u.tier is t]
        positions = [i for i, u in enumerate(scenario.units) if u.tier is t]
        total = sum(u.capacity for u in units)
        groups.append(Group(f"capacity:{t.value}", (Rule.CAPACITY,),
                            f"the {len(units)} {t.value} units lead at most their capacity ({total} towns in all)",
                            f"{len(units)} 个{TIER_ZH[t.value]}单位牵头数不超过各自容量(合计 {total} 个镇)",
                            (t.value,), {"capacity": total},
                            _capacity([by_unit.get(p, np.array([], dtype=int)) for p in positions],
                                      [u.capacity for u in units])))
    groups += _eligibility_groups(scenario, pairs)
    groups += _priority_groups(scenario, pairs)
    groups += _pin_groups(scenario, pairs)
    for keep in keeps(scenario):
        if keep.cap is None:
            continue
        members = np.flatnonzero(mark(pairs, keep))
        what, what_zh = ("previous leads", "原帮扶关系") if keep.rule is Rule.CONTINUITY else ("baseline leads",
                                                                                         "基准方案的牵头关系")
        groups.append(Group(keep.rule.value, (keep.rule,),
                            f"at most {keep.cap} of the {len(keep.leads)} {what} change",
                            f"{len(keep.leads)} 个{what_zh}中至多调整 {keep.cap} 个", (), {"max_changes": keep.cap},
                            _count(members, keep.must_keep, len(members))))
    return groups


def _eligibility_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    groups = []
    targets: dict[str, list[str]] = {}
    for c in scenario.counterparts:
        targets.setdefault(c.prd_city, []).append(c.target_city)
    prd = pairs["tier"].to_numpy() == Tier.PRD.value
    for prd_city in sorted({u.city for u in scenario.units if u.tier is Tier.PRD and u.city}):
        allowed = targets.get(prd_city, [])
        members = np.flatnonzero(prd & (pairs["city"].to_numpy() == prd_city) & ~pairs["town_city"].isin(allowed))
        groups.append(Group(f"eligibility:{prd_city}", (Rule.ELIGIBILITY,),
                            f"units of {prd_city} help only its counterpart cities ({', '.join(allowed) or 'none'})",
                            f"{prd_city}的单位只帮扶其对口城市({'、'.join(allowed) or '无'})", (prd_city,), {},
                            _forbid(members)))
    pairings = frames.county_pairings(scenario)
    names = {u.unit_id: u.name for u in scenario.units}
    for unit_id, counties in pairings.groupby("unit_id", sort=True)["county"]:
        members = np.flatnonzero((pairs["unit_id"] == unit_id).to_numpy() & ~pairs["county"].isin(set(counties)))
        listed = sorted(set(counties))
        groups.append(Group(f"eligibility:{unit_id}", (Rule.ELIGIBILITY,),
                            f"{names[unit_id]} leads only towns in its paired counties ({', '.join(listed)})",
                            f"{names[unit_id]}只牵头其结对县({'、'.join(listed)})的镇", (unit_id, *listed), {},
                            _forbid(members)))
    return groups


def _priority_groups(scenario: Scenario, pairs: pd.DataFrame) -> list[Group]:
    groups = []
    zh_flag = {"border": "省际边界", "ethnic": "少数民族地区", "old_base": "重点老区苏区"}
    for i, rule in enumerate(scenario.policy.priority):
        flagged = pairs[list(rule.flags)].to_numpy(dtype=bool).any(axis=1)
        bad = np.zeros(len(pairs), dtype=bool)
        needs, needs_zh = [], []
        if rule.tiers is not None:
            bad |= ~pairs["tier"].isin([t.value for t in rule.tiers]).to_numpy()
            needs.append(f"a {'/'.join(t.value for t in rule.tiers)} unit")
            needs_zh.append("、".join(TIER_ZH[t.value] for t in rule.tiers) + "单位")
        if rule.min_strength is not None:
            bad |= pairs["strength"].to_numpy() < rule.min_strength
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
    unit_ids, town_ids = pairs["unit_id"].to_numpy(), pairs["town_id"].to_numpy()
    for p in scenario.pins:
        this = np.flatnonzero((unit_ids == p.unit_id) & (town_ids == p.town_id))
        if p.action is PinAction.BAN:
            members = this
            en, zh = f"ban: {names[p.unit_id]} must not lead {names[p.town_id]}", \
                f"禁止:{names[p.unit_id]}不得牵头{names[p.town_id]}"
        else:  # a pin forbids the town's other pairs, and needs its own pair to exist
            members = np.flatnonzero((town_ids == p.town_id) & (unit_ids != p.unit_id))
            if len(this) == 0:  # the pair breaks a hard rule (a local unit of another city): the pin alone fails
                members = np.flatnonzero(town_ids == p.town_id)
            en, zh = f"pin: {names[p.unit_id]} leads {names[p.town_id]}", \
                f"指定:{names[p.unit_id]}牵头{names[p.town_id]}"
        groups.append(Group(f"pins:{p.unit_id}:{p.town_id}", (Rule.PINS,), en, zh, (p.unit_id, p.town_id), {},
                            _forbid(members)))
    return groups


FULL_FILTER_PAIRS = 20_000
"""Up to this many pairs the deletion filter starts from every group (so it finds the preferred minimal set);
beyond, from CP-SAT's sufficient assumptions (fewer solves)."""


def diagnose(scenario: Scenario, time_limit: float = 20.0) -> list[Conflict] | None:
    """A minimal conflicting set of rule groups, or None when the scenario is feasible or ``time_limit`` (for
    the whole diagnosis) ran out: each solve is one worker, no objective, no presolve (measured: on the
    117k-pair Guangdong universe presolve alone does not finish in 60 s; without it one solve takes ~18 s)."""
    deadline = time.perf_counter() + time_limit
    pairs = _universe(scenario)
    groups = rule_groups(scenario, pairs)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(pairs))]
    for members in pairs.groupby("t").indices.values():
        model.add_exactly_one(x[i] for i in members)
    for town in range(len(scenario.key_towns)):
        if town not in pairs["t"].to_numpy():
            model.add_bool_or([])  # a key town no unit may lead at all: coverage alone fails
    literals = [model.new_bool_var(g.key) for g in groups]
    for group, literal in zip(groups, literals, strict=True):
        group.add(model, x, literal)

    def infeasible(active: list[int]) -> list[int] | None:
        """The sufficient subset of ``active`` when infeasible; None when feasible or undecided."""
        model.clear_assumptions()
        model.add_assumptions([literals[i] for i in active])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.cp_model_presolve = False
        solver.parameters.linearization_level = 2
        solver.parameters.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
        if solve_interruptibly(solver, model, None) != cp_model.INFEASIBLE:  # Ctrl-C stops it at once
            return None
        index = {literals[i].index: i for i in active}
        return [index[v] for v in solver.sufficient_assumptions_for_infeasibility() if v in index]

    rank = {rule: i for i, rule in enumerate(KEEP_FIRST)}
    order = sorted(range(len(groups)), key=lambda i: (rank[groups[i].rules[0]], i))
    core = infeasible(order)
    if core is None:
        return None
    if len(pairs) <= FULL_FILTER_PAIRS:
        core = order
    core = sorted(core, key=order.index, reverse=True)  # try to drop the least structural groups first
    position = 0
    while position < len(core):  # deletion filter: drop a group when the rest still conflicts
        rest = core[:position] + core[position + 1:]
        if time.perf_counter() > deadline:
            return None
        smaller = infeasible(rest)
        if smaller is not None:
            core = [i for i in rest if i in set(smaller)] if smaller else rest
        else:
            position += 1
    return [Conflict(rules=groups[i].rules, message=groups[i].en, message_zh=groups[i].zh,
                     entities=groups[i].entities, figures=groups[i].figures) for i in sorted(core, key=order.index)]
