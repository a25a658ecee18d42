"""Pre-solve checks: necessary conditions a feasible plan needs, tested in milliseconds before CP-SAT runs.

Each failure is a :class:`models.Conflict` that proves infeasibility and says, with numbers, what to change.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from models import Conflict, PinAction, Rule, Scenario, Tier, Unit
from models.policy import TargetLevel

from .glossary import tier_zh
from .model.codes import TIERS, city_codes, tier_codes
from .model.continuity import keeps
from .model.eligibility import eligible_pairs
from .model.lead_counts import LeadCount, lead_counts
from .model.tier_quota import tier_quotas


def _supply(pairs: pd.DataFrame, mask: np.ndarray | None = None) -> int:
    """Most towns the units of ``pairs[mask]`` can lead: Σ min(capacity, eligible towns) per unit."""
    u, capacity = pairs["u"].to_numpy(), pairs["capacity"].to_numpy()
    if mask is not None:
        u, capacity = u[mask], capacity[mask]
    towns = np.bincount(u)
    most = np.zeros(len(towns), dtype=np.int64)
    most[u] = capacity
    return int(np.minimum(most, towns).sum())


def presolve_checks(scenario: Scenario, pairs: pd.DataFrame) -> list[Conflict]:
    """Conflicts found on the candidate pairs (eligible, priority-allowed) of ``scenario``.

    With ``allow_unassigned`` a pin that cannot hold only leaves its town unassigned (the vacancy pairs also make
    every supply check pass), so the pins are not checked."""
    conflicts = [] if scenario.policy.allow_unassigned else _pins(scenario, pairs)
    targets, level = scenario.policy.target_level.plural, scenario.policy.target_level.zh  # towns 镇, counties 县
    broken_pins = {c.entities[1] for c in conflicts if c.rules[0] is Rule.PINS and len(c.entities) == 2}
    covered = np.bincount(pairs["t"].to_numpy(), minlength=len(scenario.key_towns)) > 0
    for town, has_pair in zip(scenario.key_towns, covered, strict=True):
        if not has_pair and town.town_id not in broken_pins:
            conflicts.append(Conflict(
                rules=(Rule.COVERAGE, Rule.ELIGIBILITY, Rule.PRIORITY), entities=(town.town_id,),
                message=f"{scenario.policy.target_level.value} {town.name} ({town.town_id}, {town.city}) has no "
                        "eligible unit: no unit of its city, "
                        "no provincial unit and no PRD unit of a counterpart city may lead it under the "
                        "eligibility and priority rules (units of capacity 0 lead nothing)",
                message_zh=f"{town.name}（{town.town_id}，{town.city}）没有可牵头的单位：按帮扶资格规则和优先规则，"
                           f"本市的属地市直单位、省直及中直驻粤单位和对口城市的珠三角帮扶单位都不能牵头该{level}"
                           "（capacity 为 0 的单位不牵头）"))
    quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
    tier_of, (city_of, cities) = tier_codes(scenario, pairs), city_codes(scenario, pairs)
    for tier, need in quotas.items():
        can = _supply(pairs, tier_of == TIERS.index(tier))
        if can < need:
            conflicts.append(Conflict(
                rules=(Rule.TIER_QUOTA, Rule.CAPACITY, Rule.ELIGIBILITY), entities=(tier.value,),
                figures={"needed": need, "available": can},
                message=f"the {tier.value} tier must lead {need} {targets}, but its eligible units can lead at most "
                        f"{can}: raise their capacity by {need - can} or lower the {tier.value} share",
                message_zh=f"{tier_zh(tier)}层级须牵头 {need} 个{level}，但其可牵头的单位最多只能牵头 {can} 个："
                           f"请将这些单位的 capacity 合计提高 {need - can}，或降低 tier_ratio 中 {tier.value} 的比例"))
    for city, per_tier in scenario.policy.city_quotas.items():
        for tier, need in per_tier.items():
            can = _supply(pairs, (tier_of == TIERS.index(tier)) & (city_of == cities.get(city, -1)))
            if can < need:
                conflicts.append(Conflict(
                    rules=(Rule.TIER_QUOTA, Rule.CAPACITY), entities=(city, tier.value),
                    figures={"needed": need, "available": can},
                    message=f"{city} must get {need} {targets} from the {tier.value} tier, but eligible units can lead "
                            f"at most {can} there: raise capacity by {need - can} or lower the city quota",
                    message_zh=f"{city}须由{tier_zh(tier)}层级牵头 {need} 个{level}，但可牵头的单位在该市最多只能牵头 "
                               f"{can} 个：请将 capacity 提高 {need - can}，或降低 city_quotas 中该市的名额"))
        if (quota := sum(per_tier.values())) > (towns := sum(1 for t in scenario.key_towns if t.city == city)):
            conflicts.append(Conflict(
                rules=(Rule.TIER_QUOTA,), entities=(city,), figures={"quota": quota, "towns": towns},
                message=f"the quotas of {city} add up to {quota} but it has only {towns} key {targets}",
                message_zh=f"city_quotas 中{city}的名额合计 {quota} 个，但该市只有 {towns} 个重点帮扶{level}"))
    if sum(quotas.values()) > (total := _supply(pairs)):
        conflicts.append(Conflict(
            rules=(Rule.COVERAGE, Rule.CAPACITY), figures={"needed": len(scenario.key_towns), "available": total},
            message=f"{len(scenario.key_towns)} key {targets} need a lead, but all units together can lead at most "
                    f"{total}",
            message_zh=f"{len(scenario.key_towns)} 个重点帮扶{level}都须有牵头单位，但全部单位合计最多只能牵头 {total} 个"))
    conflicts.extend(_continuity(scenario, pairs))
    conflicts.extend(_lead_counts(scenario, pairs, quotas))
    return conflicts


def _pins(scenario: Scenario, pairs: pd.DataFrame) -> list[Conflict]:
    """Pins on pairs that other rules forbid, and pins that alone exceed a unit's capacity or a tier's quota."""
    pins = [p for p in scenario.pins if p.action is PinAction.PIN]
    if not pins:
        return []
    out: list[Conflict] = []
    targets, level = scenario.policy.target_level.plural, scenario.policy.target_level.zh
    candidates = set(zip(pairs["unit_id"], pairs["town_id"], strict=True))
    units = {u.unit_id: u for u in scenario.units}
    towns = {t.town_id: t for t in scenario.key_towns}
    missing = [p for p in pins if (p.unit_id, p.town_id) not in candidates]
    if missing:
        eligible = set(zip(*eligible_pairs(scenario)[["unit_id", "town_id"]].to_numpy().T.tolist(), strict=True))
        for p in missing:
            unit, town = units[p.unit_id], towns[p.town_id]
            if unit.capacity == 0:  # a member-only unit: no lead pair at all
                rules, why, why_zh = ((Rule.PINS, Rule.CAPACITY),
                                      f"{unit.name} may lead no {scenario.policy.target_level.value} (capacity 0)",
                                      f"{unit.name}不能牵头任何{level}（capacity 为 0）")
            elif (p.unit_id, p.town_id) in eligible:
                rules, why, why_zh = ((Rule.PINS, Rule.PRIORITY), "the priority rules forbid this pair",
                                      "优先规则（priority）不允许该组合")
            else:
                rules = (Rule.PINS, Rule.ELIGIBILITY)
                why, why_zh = _ineligible_reason(scenario, unit.unit_id, town.town_id)
            out.append(Conflict(rules=rules, entities=(p.unit_id, p.town_id),
                                message=f"the pin {unit.name} → {town.name} cannot hold: {why}; remove the pin",
                                message_zh=f"指定（pin）{unit.name} → {town.name}无法满足：{why_zh}；请删除该 pin"))
    for unit_id, n in sorted(Counter(p.unit_id for p in pins).items()):
        if n > units[unit_id].capacity > 0:  # capacity 0: each pin is named above
            out.append(Conflict(rules=(Rule.PINS, Rule.CAPACITY), entities=(unit_id,),
                                figures={"pinned": n, "capacity": units[unit_id].capacity},
                                message=f"{units[unit_id].name} is pinned to {n} {targets} but may lead at most "
                                        f"{units[unit_id].capacity}: raise its capacity or remove "
                                        f"{n - units[unit_id].capacity} pin(s)",
                                message_zh=f"{units[unit_id].name}被指定（pin）牵头 {n} 个{level}，但最多只能牵头 "
                                           f"{units[unit_id].capacity} 个：请提高其 capacity，或删除 "
                                           f"{n - units[unit_id].capacity} 条 pin"))
    quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
    for tier, n in sorted(Counter(units[p.unit_id].tier for p in pins).items()):
        if n > quotas[tier]:
            out.append(Conflict(rules=(Rule.PINS, Rule.TIER_QUOTA), entities=(tier.value,),
                                figures={"pinned": n, "quota": quotas[tier]},
                                message=f"{n} {targets} are pinned to {tier.value} units but the tier leads exactly "
                                        f"{quotas[tier]}: remove {n - quotas[tier]} pin(s) or raise its share",
                                message_zh=f"{n} 个{level}被指定（pin）由{tier_zh(tier)}单位牵头，但该层级恰好牵头 "
                                           f"{quotas[tier]} 个：请删除 {n - quotas[tier]} 条 pin，或提高 tier_ratio 中 "
                                           f"{tier.value} 的比例"))
    return out


def _ineligible_reason(scenario: Scenario, unit_id: str, town_id: str) -> tuple[str, str]:
    """Why the pair breaks the eligibility rules, in English and in Chinese."""
    unit = next(u for u in scenario.units if u.unit_id == unit_id)
    town = next(t for t in scenario.towns if t.town_id == town_id)
    targets, level = scenario.policy.target_level.plural, scenario.policy.target_level.zh
    counties = {r.county for r in scenario.relationships if r.unit_id == unit_id and r.county}
    if unit.tier.value == "local" and unit.city != town.city:
        return (f"a local unit of {unit.city} may lead only {targets} of {unit.city}, not of {town.city}",
                f"{unit.city}的属地市直单位只能牵头{unit.city}的{level}，不能牵头{town.city}的{level}")
    if unit.tier.value == "prd" and (unit.city, town.city) not in {(c.prd_city, c.target_city)
                                                                   for c in scenario.counterparts}:
        return f"{town.city} is not a counterpart city of {unit.city}", f"{town.city}不是{unit.city}的对口城市"
    if counties and town.county not in counties:
        listed = sorted(counties)
        return (f"{unit.name} is paired with {', '.join(listed)}, not with {town.county}",
                f"{unit.name}的县级结对为{'、'.join(listed)}，不包括{town.county}")
    return "the pair is not eligible", "该组合不符合帮扶资格规则"


def _continuity(scenario: Scenario, pairs: pd.DataFrame) -> list[Conflict]:
    out = []
    for keep in keeps(scenario):
        keepable = int(pairs[keep.column].sum())
        if keep.must_keep <= keepable:
            continue
        what, what_zh = ("previous leads", "原牵头关系") if keep.rule is Rule.CONTINUITY else ("baseline leads",
                                                                                         "基准方案的牵头关系")
        setting = "max_changes" if keep.rule is Rule.CONTINUITY else "max_baseline_changes"
        n = len(keep.leads)
        out.append(Conflict(
            rules=(keep.rule, Rule.ELIGIBILITY, Rule.PRIORITY, Rule.PINS),
            figures={"must_keep": keep.must_keep, "keepable": keepable, "max_changes": keep.cap or 0},
            message=f"at most {keep.cap} of {n} {what} may change, but only {keepable} are still candidate pairs: "
                    f"{n - keepable} must change; raise {setting} to at least {n - keepable}",
            message_zh=f"{n} 个{what_zh}中至多可调整 {keep.cap} 个（至少保留 {keep.must_keep} 个），但只有 {keepable} 个"
                       f"仍是候选组合：须调整 {n - keepable} 个；请将 {setting} 提高到至少 {n - keepable}"))
    return out


def _lead_counts(scenario: Scenario, pairs: pd.DataFrame, quotas: dict[Tier, int]) -> list[Conflict]:
    """Counts no plan can meet: above what the units can lead, below their pins, or against a tier quota."""
    out: list[Conflict] = []
    targets, level = scenario.policy.target_level.plural, scenario.policy.target_level.zh
    units = {u.unit_id: u for u in scenario.units}
    pinned = Counter(p.unit_id for p in scenario.pins if p.action is PinAction.PIN)
    counts = lead_counts(scenario)
    for count in counts:
        own = pairs[pairs["unit_id"].isin(count.unit_ids)]
        reach = own["town_id"].nunique()
        can = min(_supply(own) if len(own) else 0, reach)
        what, what_zh = _counted(count, units)
        if count.count > can:
            capacity = sum(units[u].capacity for u in count.unit_ids)
            advice = "raise the capacity" if capacity < reach else f"give it more eligible {targets} (county " \
                "pairings, priority rules, pins)"
            advice_zh = "请提高 capacity" if capacity < reach else f"请为其增加可牵头的{level}（县级结对、优先规则、pin）"
            out.append(Conflict(
                rules=(Rule.LEAD_COUNTS, Rule.CAPACITY, Rule.ELIGIBILITY), entities=(count.key,),
                figures={"count": count.count, "available": can, "capacity": capacity, "eligible": reach},
                message=f"{what} must lead exactly {count.count} {targets}, but can lead at most {can} (capacity "
                        f"{capacity}, {reach} eligible {targets}): {advice} or lower "
                        f"policy.lead_counts[{count.key}] to {can}",
                message_zh=f"{what_zh}须恰好牵头 {count.count} 个{level}，但最多只能牵头 {can} 个（capacity 合计 "
                           f"{capacity}，可牵头的{level} {reach} 个）：{advice_zh}，或将 policy.lead_counts[{count.key}] "
                           f"降至 {can}"))
        if (n := sum(pinned[u] for u in count.unit_ids)) > count.count:
            out.append(Conflict(
                rules=(Rule.LEAD_COUNTS, Rule.PINS), entities=(count.key,), figures={"count": count.count, "pinned": n},
                message=f"{what} is pinned to {n} {targets} but must lead exactly {count.count}: remove "
                        f"{n - count.count} pin(s) or raise policy.lead_counts[{count.key}]",
                message_zh=f"{what_zh}被指定（pin）牵头 {n} 个{level}，但须恰好牵头 {count.count} 个：请删除 "
                           f"{n - count.count} 条 pin，或提高 policy.lead_counts[{count.key}]"))
    out.extend(_lead_counts_by_tier(counts, units, pairs, quotas, scenario.policy.target_level))
    return out


def _lead_counts_by_tier(counts: list[LeadCount], units: dict[str, Unit], pairs: pd.DataFrame,
                         quotas: dict[Tier, int], target_level: TargetLevel) -> list[Conflict]:
    """Per tier: the disjoint counts of its own units against its quota, from above and (with the free units'
    supply) from below. A unit keyed alone inside a keyed quota group is left to its group's count."""
    keyed_groups = {c.key for c in counts if c.unit_ids != (c.key,)}
    disjoint = [c for c in counts if c.unit_ids != (c.key,) or units[c.key].quota_group not in keyed_groups]
    targets, level = target_level.plural, target_level.zh
    out: list[Conflict] = []
    for tier, quota in quotas.items():
        fixed = [c for c in disjoint if {units[u].tier for u in c.unit_ids} == {tier}]
        if not fixed:
            continue
        total = sum(c.count for c in fixed)
        counted = {u for c in fixed for u in c.unit_ids}
        free_units = [u for u, unit in units.items() if unit.tier is tier and u not in counted]
        free_pairs = pairs[pairs["unit_id"].isin(free_units)]
        free = _supply(free_pairs) if len(free_pairs) else 0
        keys = tuple(c.key for c in fixed)
        if total > quota:
            out.append(Conflict(
                rules=(Rule.LEAD_COUNTS, Rule.TIER_QUOTA), entities=(tier.value, *keys),
                figures={"counts": total, "quota": quota},
                message=f"the lead counts of {len(fixed)} {tier.value} unit(s)/group(s) add up to {total} {targets}, "
                        f"but the {tier.value} tier leads exactly {quota}: lower policy.lead_counts by "
                        f"{total - quota} or raise the {tier.value} share",
                message_zh=f"{len(fixed)} 个{tier_zh(tier)}单位或分组的 policy.lead_counts 合计 {total} 个{level}，"
                           f"但该层级恰好牵头 {quota} 个：请将 policy.lead_counts 合计降低 {total - quota}，"
                           f"或提高 tier_ratio 中 {tier.value} 的比例"))
        elif total + free < quota:
            out.append(Conflict(
                rules=(Rule.LEAD_COUNTS, Rule.TIER_QUOTA, Rule.CAPACITY), entities=(tier.value, *keys),
                figures={"counts": total, "free": free, "quota": quota},
                message=f"the {tier.value} tier must lead {quota} {targets}, but its units with a lead count lead "
                        f"exactly {total} and the others can lead at most {free}: raise policy.lead_counts or the "
                        f"other units' capacity by {quota - total - free}",
                message_zh=f"{tier_zh(tier)}层级须牵头 {quota} 个{level}，但其有 policy.lead_counts 的单位恰好牵头 "
                           f"{total} 个，其余单位最多只能牵头 {free} 个：请将 policy.lead_counts 或其余单位的 capacity "
                           f"合计提高 {quota - total - free}"))
    return out


def _counted(count: LeadCount, units: dict[str, Unit]) -> tuple[str, str]:
    """What ``count`` counts, in English and in Chinese: a unit's name, or its quota group."""
    if count.unit_ids == (count.key,):
        return units[count.key].name, units[count.key].name
    return (f"quota group {count.key} ({len(count.unit_ids)} units)",
            f"牵头数分组（quota_group）{count.key}（{len(count.unit_ids)} 个单位）")
