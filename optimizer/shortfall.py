"""The shortfall of a partial plan (``policy.allow_unassigned``): which key towns have no lead, why, and what
each costs; which quotas fall short.

For each unassigned town the reason is read off the plan and the candidate pairs, rule by rule:

- ``pins``: the town is pinned to a unit that may not lead it (eligibility or priority removes the pair);
- ``eligibility`` / ``priority`` / ``pins``: no candidate pair at all (no eligible unit; the priority rules or
  bans remove every one);
- ``capacity``: its candidate units of the tiers that fall short are all at capacity;
- ``tier_quota``: its candidate units with room are of tiers (or city tiers) whose quota the plan already meets;
- ``lead_counts``: its candidate units with room already lead their exact count;
- ``penalty``: a candidate unit could lead it (the audit accepts that plan) but the pair is worth less than the
  penalty saved (only with an explicit, small ``unassigned_penalty``);
- ``improvable``: a candidate unit could lead it and the objective would rise: the plan is not optimal.

A candidate with room whose tier's quota is not met may still be unusable: every shortfall must be an unassigned
town of the right city (see :func:`optimizer.audit.audit`), so the move is checked by the audit; when it fails,
the city quotas are the reason (``tier_quota``).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from models import Assignment, PinAction, Plan, Rule, Scenario, Tier
from models.penalty import unassigned_penalty

from .audit import audit
from .model import candidate_pairs, tier_quotas
from .model.eligibility import eligible_pairs
from .model.lead_counts import lead_counts
from .model.unassigned import VACANCY

SHORTFALL_COLUMNS = ["town_id", "town_name", "city", "county", "rule", "reason", "penalty"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class UnassignedTown(Frozen):
    """A key town the plan leaves without a lead, the rule that kept it out, and its penalty."""

    town_id: str
    town_name: str
    city: str
    county: str
    rule: str = Field(description="The rule id that kept it out, or 'penalty' (a trade-off against the penalty).")
    rules: tuple[Rule, ...] = Field(default=(), description="Every rule involved.")
    reason: str
    figures: dict[str, int] = Field(default_factory=dict)
    penalty: int


class QuotaShortfall(Frozen):
    """A tier quota (``city`` None) or city quota that the plan's leads do not fill: ``short`` = quota − leads."""

    tier: str
    city: str | None = None
    leads: int
    quota: int
    short: int


class Shortfall(Frozen):
    """What a partial plan leaves out; ``total_penalty`` is the part of the objective the unassigned towns cost."""

    penalty: int = Field(description="Objective points per unassigned key town (policy or automatic).")
    towns: tuple[UnassignedTown, ...]
    quotas: tuple[QuotaShortfall, ...]

    @property
    def total_penalty(self) -> int:
        return sum(t.penalty for t in self.towns)


def shortfall(scenario: Scenario, plan: Plan) -> Shortfall:
    """The unassigned key towns of ``plan`` with their reasons (module docstring) and the quotas left short."""
    penalty = unassigned_penalty(scenario)
    lead = plan.lead_of()
    units = {u.unit_id: u for u in scenario.units}
    towns = {t.town_id: t for t in scenario.towns}
    quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
    count = Counter(units[u].tier for t, u in lead.items() if u in units and t in towns)
    city_count = Counter((units[u].tier, towns[t].city) for t, u in lead.items() if u in units and t in towns)
    short = [QuotaShortfall(tier=tier.value, leads=count[tier], quota=q, short=q - count[tier])
             for tier, q in quotas.items() if count[tier] < q]
    short += [QuotaShortfall(tier=tier.value, city=city, leads=city_count[(tier, city)], quota=q,
                             short=q - city_count[(tier, city)])
              for city, per_tier in sorted(scenario.policy.city_quotas.items())
              for tier, q in per_tier.items() if city_count[(tier, city)] < q]
    left = [t for t in scenario.key_towns if t.town_id not in lead]
    if not left:
        return Shortfall(penalty=penalty, towns=(), quotas=tuple(short))
    pairs, _ = candidate_pairs(scenario)
    pairs = pairs[~pairs[VACANCY]]
    context = _Context(scenario, plan, quotas, count, city_count, pairs)
    out = []
    for town in left:
        rule, rules, reason, figures = context.reason(town.town_id)
        out.append(UnassignedTown(town_id=town.town_id, town_name=town.name, city=town.city, county=town.county,
                                  rule=rule, rules=rules, reason=reason, figures=figures, penalty=penalty))
    return Shortfall(penalty=penalty, towns=tuple(out), quotas=tuple(short))


class _Context:
    """Loads, counts and candidate pairs of the plan, shared by the towns' reasons."""

    def __init__(self, scenario: Scenario, plan: Plan, quotas: dict[Tier, int], count: Counter[Tier],
                 city_count: Counter[tuple[Tier, str]], pairs: pd.DataFrame) -> None:
        self.scenario, self.plan, self.penalty = scenario, plan, unassigned_penalty(scenario)
        lead = plan.lead_of()
        self.units = {u.unit_id: u for u in scenario.units}
        self.towns = {t.town_id: t for t in scenario.towns}
        self.quotas, self.count, self.city_count = quotas, count, city_count
        self.load = Counter(lead.values())
        self.candidates = pairs.groupby("town_id")["unit_id"].apply(list).to_dict()
        self.value = dict(zip(zip(pairs["unit_id"], pairs["town_id"], strict=True), pairs["value"], strict=True))
        self.pins = {p.town_id: p.unit_id for p in scenario.pins if p.action is PinAction.PIN}
        led_by = {c.key: sum(self.load[u] for u in c.unit_ids) for c in lead_counts(scenario)}
        self.counted = {u: c for c in lead_counts(scenario) for u in c.unit_ids if led_by[c.key] >= c.count}
        self._eligible: set[tuple[str, str]] | None = None

    def eligible(self, unit_id: str, town_id: str) -> bool:
        if self._eligible is None:
            frame = eligible_pairs(self.scenario)
            self._eligible = set(zip(frame["unit_id"], frame["town_id"], strict=True))
        return (unit_id, town_id) in self._eligible

    def allows(self, town_id: str, unit_id: str) -> bool:
        """Whether the plan with ``town_id`` led by ``unit_id`` passes the (independent) audit."""
        moved = Plan(assignments=(*self.plan.assignments, Assignment(town_id=town_id, unit_id=unit_id)))
        return audit(self.scenario, moved).passed

    def reason(self, town_id: str) -> tuple[str, tuple[Rule, ...], str, dict[str, int]]:
        town = self.towns[town_id]
        candidates = self.candidates.get(town_id, [])
        pinned = self.pins.get(town_id)
        if pinned is not None and pinned not in candidates:
            why = "the priority rules forbid the pair" if self.eligible(pinned, town_id) else "the pair is not eligible"
            why = f"pinned to {self.units[pinned].name}, which may not lead it ({why})"
            return Rule.PINS.value, (Rule.PINS,), why, {}
        if not candidates:
            return self._no_candidate(town_id)
        short = {tier for tier, q in self.quotas.items() if self.count[tier] < q}
        full = [u for u in candidates if self.load[u] >= self.units[u].capacity]
        room = [u for u in candidates if u not in full]
        by_quota = [u for u in room if self._quota_met(self.units[u].tier, town.city)]
        by_count = [u for u in room if u not in by_quota and u in self.counted]
        free = [u for u in room if u not in by_quota and u not in by_count]
        figures = {"candidates": len(candidates), "full": len(full), "room_blocked_by_quota": len(by_quota),
                   "room_blocked_by_lead_counts": len(by_count)}
        parts = []
        if full:
            tiers = Counter(self.units[u].tier.value for u in full)
            parts.append(f"{len(full)} of its {len(candidates)} candidate units are at capacity ("
                         + ", ".join(f"{t} {n}" for t, n in sorted(tiers.items())) + ")")
        if by_quota:
            met = sorted({self._quota_text(self.units[u].tier, town.city) for u in by_quota})
            parts.append(f"{len(by_quota)} with room are of tiers whose quota is met ({'; '.join(met)})")
        if by_count:
            parts.append(f"{len(by_count)} with room already lead their exact lead_counts")
        rules = tuple(rule for rule, hit in ((Rule.CAPACITY, full), (Rule.TIER_QUOTA, by_quota),
                                             (Rule.LEAD_COUNTS, by_count)) if hit)
        movable = [u for u in sorted(free, key=lambda u: -self.value[(u, town_id)]) if self.allows(town_id, u)]
        if movable:  # the single move "lead it with u" breaks no rule: it only does not pay (or the plan is improvable)
            best = movable[0]
            gain = int(self.value[(best, town_id)]) + self.penalty
            figures |= {"best_value": int(self.value[(best, town_id)]), "gain": gain}
            if gain > 0:
                why = f"not optimal: leading it with {self.units[best].name} breaks no rule and raises the objective " \
                      f"by {gain}"
                return "improvable", rules, why, figures
            why = f"{self.units[best].name} could lead it, but the pair is worth {figures['best_value']}, less than " \
                  f"the penalty {self.penalty} saved"
            return "penalty", rules, why, figures
        if free:
            parts.append(f"{len(free)} with room would need another unassigned town to fill a different quota, "
                         "which the city quotas do not allow")
            rules = (*rules, Rule.TIER_QUOTA) if Rule.TIER_QUOTA not in rules else rules
        if any(self.units[u].tier in short for u in full):
            primary = Rule.CAPACITY  # the tiers that fall short have no room for it
        else:
            primary = next(r for r in rules if r is not Rule.CAPACITY) if len(rules) > 1 else rules[0]
        return primary.value, rules, "; ".join(parts), figures

    def _no_candidate(self, town_id: str) -> tuple[str, tuple[Rule, ...], str, dict[str, int]]:
        eligible = [u for u in self.units if self.eligible(u, town_id)]
        if not eligible:
            why = ("no unit may lead it: no unit of its city, no provincial unit and no PRD unit of a counterpart city "
                   "(within their county pairings)")
            return Rule.ELIGIBILITY.value, (Rule.ELIGIBILITY,), why, {}
        banned = {p.unit_id for p in self.scenario.pins if p.action is PinAction.BAN and p.town_id == town_id}
        if set(eligible) <= banned:
            return Rule.PINS.value, (Rule.PINS,), f"bans remove all {len(eligible)} eligible units", {}
        if all(self.units[u].capacity == 0 for u in set(eligible) - banned):
            why = f"its {len(set(eligible) - banned)} eligible unit(s) have capacity 0 (member units, or cut to 0)"
            return Rule.CAPACITY.value, (Rule.CAPACITY,), why, {"eligible": len(eligible)}
        why = (f"the priority rules for its flags ({', '.join(sorted(self.towns[town_id].flags))}) remove all "
               f"{len(eligible)} eligible units")
        return Rule.PRIORITY.value, (Rule.PRIORITY,), why, {"eligible": len(eligible)}

    def _quota_met(self, tier: Tier, city: str) -> bool:
        city_quota = self.scenario.policy.city_quotas.get(city, {})
        return self.count[tier] >= self.quotas[tier] or (
            tier in city_quota and self.city_count[(tier, city)] >= city_quota[tier])

    def _quota_text(self, tier: Tier, city: str) -> str:
        if self.count[tier] >= self.quotas[tier]:
            return f"{tier.value} {self.count[tier]}/{self.quotas[tier]}"
        quota = self.scenario.policy.city_quotas[city][tier]
        return f"{city} {tier.value} {self.city_count[(tier, city)]}/{quota}"


def shortfall_frame(short: Shortfall) -> pd.DataFrame:
    """``shortfall.csv``: one row per unassigned key town (the columns of :data:`SHORTFALL_COLUMNS`)."""
    return pd.DataFrame([t.model_dump(include=set(SHORTFALL_COLUMNS)) for t in short.towns],
                        columns=SHORTFALL_COLUMNS)


def shortfall_summary(short: Shortfall) -> dict[str, object]:
    """The ``shortfall`` block of ``summary.json``."""
    return {"penalty": short.penalty, "unassigned": len(short.towns), "total_penalty": short.total_penalty,
            "towns": [t.model_dump(mode="json") for t in short.towns],
            "quotas": [q.model_dump(mode="json") for q in short.quotas]}
