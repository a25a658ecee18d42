"""Explain a plan, like a score analysis: what each town's lead contributes, why earlier leads moved, which
rules bind, and what the best alternatives for one town would cost.

Three parts, all typed (pydantic) in one :class:`Explanation`:

- **towns**: per key town, its lead and each objective term (:func:`optimizer.terms.objective_terms`); the
  per-town values add up to the plan's objective exactly. For every earlier lead of the town (the previous lead,
  rule ``continuity``; the baseline plan's lead, rule ``baseline``) whether it was kept and, if not, the first of
  these that moved it: the pair is no longer a candidate (``unit_gone``, ``ineligible``, ``priority``, ``ban``,
  ``pin``: the rule that removed the pair is checked and named), the earlier unit is at capacity (``capacity``:
  the towns it leads instead), giving the town back would change the tier counts (``tier_quota``: the quotas are
  equalities) or the towns a unit or quota group with a lead count leads (``lead_counts``: exact too), it would
  break the other rule's cap (``cap``), or else a plain ``tradeoff``: the town alone is
  worth that much more with its new lead, everything else unchanged (``improvable`` when it is worth less, which
  an optimal plan never shows). The reasons explain the *single move* "give the town back"; what a full
  re-optimisation with the town forced back costs is what :func:`alternatives` computes.
- **binding**: tier and city quotas (met exactly, with counts), units at full capacity ("3/3"), the lead counts
  (towns led against ``policy.lead_counts``), the continuity and baseline caps (changes against allowed).
- **alternatives** (``town=``): the town's ``top`` best other candidate units ranked by their own pair value
  (ties: units with spare capacity in the plan first, then file order), or the units asked for. Each is
  evaluated exactly: the whole scenario is solved again with the town pinned to the unit (:func:`optimizer.solve`,
  proven optimal), and the cost is that optimum minus the plan's objective (≤ 0 when the plan is optimal), or
  ``INFEASIBLE`` when no plan has that choice. The re-solve ranks plans by (objective, towns kept from the plan)
  lexicographically (:func:`_lexicographic`), so it also reports the fewest other towns that must change. Fixing
  the towns outside a neighbourhood instead would be faster but not sound: the tier and city quotas and the caps
  couple all towns, and on the Guangdong scenario forcing a town in 云浮 moves towns in 肇庆 and 清远. The
  ranking is the only shortcut: an alternative outside the top ``k`` by pair value may cost less than one inside;
  ask for it by ``units=``. About 2 s per alternative on the Guangdong scenario.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import partial
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from models import Category, Pin, PinAction, Plan, Rule, Scenario, Score, Status, Tier, Town, Unit
from models.penalty import unassigned_penalty

from .model import candidate_pairs, tier_quotas
from .model.continuity import Keep, keeps
from .model.eligibility import eligible_pairs
from .model.lead_counts import LeadCount, lead_counts
from .model.unassigned import VACANCY
from .solve import solve
from .terms import TERMS, objective_terms

ReasonKind = Literal["kept", "unit_gone", "ineligible", "priority", "ban", "pin", "capacity", "tier_quota",
                     "lead_counts", "cap", "tradeoff", "improvable"]
SETTING = {Rule.CONTINUITY: "max_changes", Rule.BASELINE: "max_baseline_changes"}
EARLIER = {Rule.CONTINUITY: "previous lead", Rule.BASELINE: "baseline lead"}
TIER_ORDER = {t: i for i, t in enumerate(Tier)}


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class EarlierLead(Frozen):
    """One earlier lead of a town (``rule`` continuity: its previous lead; baseline: the baseline plan's) and
    why the plan kept it or not."""

    rule: Rule
    unit_id: str
    unit_name: str
    kept: bool
    kind: ReasonKind
    rules: tuple[Rule, ...] = Field(default=(), description="The rules that moved the lead; empty for a trade-off.")
    message: str
    figures: dict[str, int] = Field(default_factory=dict)
    towns: tuple[str, ...] = Field(default=(), description="capacity: the towns the earlier unit leads instead.")


class TownExplanation(Frozen):
    """One lead pairing of the plan: the town, its unit, each objective term and the earlier leads."""

    town_id: str
    town_name: str
    city: str
    county: str
    flags: tuple[str, ...]
    unit_id: str | None
    unit_name: str
    tier: str | None
    terms: dict[str, int] = Field(description="score, continuity, baseline, distance (README objective).")
    value: int = Field(description="Σ terms: this town's contribution to the objective.")
    earlier: tuple[EarlierLead, ...] = ()

    @property
    def previous(self) -> EarlierLead | None:
        return next((e for e in self.earlier if e.rule is Rule.CONTINUITY), None)


class QuotaUse(Frozen):
    """A tier quota (``city`` None) or a city quota: towns led against the exact count required."""

    tier: str
    city: str | None = None
    count: int
    quota: int

    @property
    def met(self) -> bool:
        return self.count == self.quota


class UnitUse(Frozen):
    """A unit at full capacity, with the towns it leads."""

    unit_id: str
    unit_name: str
    tier: str
    leads: int
    capacity: int
    towns: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.leads}/{self.capacity}"


class CountUse(Frozen):
    """A lead count: the towns its unit or quota group leads against ``policy.lead_counts[key]``."""

    key: str
    unit_ids: tuple[str, ...]
    count: int
    target: int

    @property
    def met(self) -> bool:
        return self.count == self.target


class CapUse(Frozen):
    """The continuity or baseline cap: earlier leads changed against the number allowed."""

    rule: Rule
    setting: str
    earlier: int
    kept: int
    changed: int
    forced: int = Field(description="Earlier leads that are no longer candidate pairs: they must change.")
    allowed: int | None = Field(description="None: no cap.")

    @property
    def binding(self) -> bool:
        return self.allowed is not None and self.changed >= self.allowed


class Binding(Frozen):
    """What binds in the plan, rule by rule."""

    tier_quotas: tuple[QuotaUse, ...]
    city_quotas: tuple[QuotaUse, ...]
    full_units: tuple[UnitUse, ...]
    units_used: int
    units_total: int
    caps: tuple[CapUse, ...]
    lead_counts: tuple[CountUse, ...] = ()


class Move(Frozen):
    """Another town whose lead changes in the best plan with an alternative."""

    town_id: str
    town_name: str
    before: str | None
    after: str


class Alternative(Frozen):
    """The town led by another unit: the best plan with that forced choice, against the plan explained."""

    unit_id: str
    unit_name: str
    tier: str
    pair_value: int | None = Field(description="The pair's own value (None: not a candidate pair).")
    status: Status
    objective: int | None = Field(default=None, description="Best objective with the town pinned to this unit.")
    best_bound: float | None = None
    delta: int | None = Field(default=None, description="objective − the plan's (≤ 0 when the plan is optimal).")
    moved: tuple[Move, ...] = Field(default=(), description="Other towns whose lead differs in that best plan.")
    minimal_moves: bool = Field(default=False, description="moved is the fewest over the optimal plans with it.")
    rules: tuple[Rule, ...] = Field(default=(), description="Infeasible: the rules that leave no plan with it.")
    message: str = ""
    seconds: float = 0.0


class Explanation(Frozen):
    """A plan explained: per-town contributions, binding rules, and (for one town) its alternatives."""

    scenario: str
    objective: int = Field(description="The plan's objective: Σ of the towns' values, exactly.")
    terms: dict[str, int]
    towns: tuple[TownExplanation, ...]
    binding: Binding
    town: str | None = None
    alternatives: tuple[Alternative, ...] = ()
    method: str = ""


class _Context:
    """Lookups shared by the explanations: names, candidate pairs, the plan's loads and counts."""

    def __init__(self, scenario: Scenario, plan: Plan) -> None:
        self.scenario = scenario
        self.plan = plan
        self.units: dict[str, Unit] = {u.unit_id: u for u in scenario.units}
        self.towns: dict[str, Town] = {t.town_id: t for t in scenario.towns}
        self.position = {u.unit_id: i for i, u in enumerate(scenario.units)}
        pairs, _ = candidate_pairs(scenario)
        self.pairs = pairs[~pairs[VACANCY]]  # a vacancy (allow_unassigned) is no unit to explain or offer
        self.value = dict(zip(zip(self.pairs["unit_id"], self.pairs["town_id"], strict=True),
                              self.pairs["value"].tolist(), strict=True))
        self.lead = plan.lead_of()
        self.led: dict[str, list[str]] = defaultdict(list)
        for a in plan.assignments:
            self.led[a.unit_id].append(a.town_id)
        key = {t.town_id for t in scenario.key_towns}
        tiers = [(self.units[a.unit_id].tier, self.towns[a.town_id].city) for a in plan.assignments
                 if a.town_id in key and a.unit_id in self.units]
        self.tier_count = Counter(tier for tier, _ in tiers)
        self.city_count = Counter(tiers)
        self.quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
        self.keeps = [k for k in keeps(scenario) if k.leads]
        self.earlier = {k.rule: {t: u for u, t in k.leads} for k in self.keeps}
        self.changed = {k.rule: sum(self.lead.get(t) != u for u, t in k.leads) for k in self.keeps}
        self.counts = lead_counts(scenario)
        self.count_led = {c.key: sum(len(self.led.get(u, ())) for u in c.unit_ids) for c in self.counts}
        self._eligible: set[tuple[str, str]] | None = None

    @property
    def eligible(self) -> set[tuple[str, str]]:
        if self._eligible is None:
            frame = eligible_pairs(self.scenario)
            self._eligible = set(zip(frame["unit_id"], frame["town_id"], strict=True))
        return self._eligible

    def unit_name(self, unit_id: str | None) -> str:
        unit = self.units.get(unit_id or "")
        return unit.name if unit else ""

    def town_name(self, town_id: str) -> str:
        town = self.towns.get(town_id)
        return town.name if town else town_id

    def full(self, unit_id: str) -> bool:
        unit = self.units[unit_id]
        return len(self.led.get(unit_id, ())) >= unit.capacity

    def pair_terms(self, unit_id: str, town_id: str) -> dict[str, int]:
        row = objective_terms(self.scenario, Plan.from_pairs([(town_id, unit_id)])).iloc[0]
        return {term: int(row[term]) for term in TERMS}


def explain(scenario: Scenario, plan: Plan, town: str | None = None, top: int = 3, *,
            units: Sequence[str] | None = None, time_limit: float | None = None, workers: int | None = None,
            seed: int | None = None) -> Explanation:
    """Explain ``plan``: per-town contributions and reasons, binding rules, and with ``town`` its alternatives.

    With ``town`` (a key town id) only that town is listed in ``towns`` and its ``top`` best alternatives (or
    the ``units`` given) are each solved again with the town pinned to them (see the module docstring);
    ``time_limit``, ``workers`` and ``seed`` go to each of those solves. Raises ``ValueError`` for an unknown
    or non-key town.

    >>> from optimizer import load_scenario, solve
    >>> from optimizer.explain import explain
    >>> scenario = load_scenario("scenarios/tiny/scenario.yaml")
    >>> result = solve(scenario)
    >>> explanation = explain(scenario, result.plan)
    >>> sum(t.value for t in explanation.towns) == explanation.objective == result.objective
    True
    >>> next(t for t in explanation.towns if t.town_id == "441422101000").previous.kind
    'priority'
    """
    ctx = _Context(scenario, plan)
    frame = objective_terms(scenario, plan)
    if town is not None:
        if town not in ctx.towns:
            raise ValueError(f"unknown town {town!r}")
        if ctx.towns[town].category is not Category.KEY:
            raise ValueError(f"town {town!r} ({ctx.towns[town].name}) is not a key town: it gets no lead")
    towns = [_town(ctx, row) for row in frame.itertuples(index=False)]
    listed = set(frame["town_id"])  # with allow_unassigned the frame has a row per unassigned town already
    towns += [_town(ctx, None, t.town_id) for t in scenario.key_towns if t.town_id not in listed]
    objective = int(frame["value"].sum())
    chosen: tuple[Alternative, ...] = ()
    method = ""
    if town is not None:
        towns = [t for t in towns if t.town_id == town]
        chosen = alternatives(scenario, plan, town, top, units=units, time_limit=time_limit, workers=workers,
                              seed=seed, context=ctx, objective=objective)
        method = ("each alternative: the whole scenario solved again with the town pinned to the unit (exact); "
                  + ("the units asked for" if units else
                     f"the town's {top} best other candidates by their own pair value (ties: spare capacity first)")
                  + "; moved: the fewest other towns that change in an optimal plan with that choice")
    return Explanation(
        scenario=scenario.name, objective=objective,
        terms={term: int(frame[term].sum()) for term in [*TERMS, "value"]},
        towns=tuple(sorted(towns, key=lambda t: (t.city, t.county, t.town_id))), binding=_binding(ctx),
        town=town, alternatives=chosen, method=method)


def _town(ctx: _Context, row: object | None, town_id: str = "") -> TownExplanation:
    town_id = getattr(row, "town_id", town_id)
    unit_id: str | None = getattr(row, "unit_id", None) or None
    town = ctx.towns.get(town_id)
    unit = ctx.units.get(unit_id or "")
    earlier = tuple(_earlier(ctx, keep, town_id, unit_id) for keep in ctx.keeps
                    if town_id in ctx.earlier[keep.rule])
    return TownExplanation(
        town_id=town_id, town_name=town.name if town else "", city=town.city if town else "",
        county=town.county if town else "", flags=tuple(sorted(town.flags)) if town else (), unit_id=unit_id,
        unit_name=unit.name if unit else "", tier=unit.tier.value if unit else None,
        terms={term: int(getattr(row, term)) if row is not None else 0 for term in TERMS},
        value=int(getattr(row, "value", 0)), earlier=earlier)


def _earlier(ctx: _Context, keep: Keep, town_id: str, lead: str | None) -> EarlierLead:
    """Was the town's earlier lead (of ``keep.rule``) kept, and if not, what moved it."""
    unit_id = ctx.earlier[keep.rule][town_id]
    what = EARLIER[keep.rule]
    base = partial(EarlierLead, rule=keep.rule, unit_id=unit_id, unit_name=ctx.unit_name(unit_id),
                   kept=unit_id == lead)
    name = ctx.unit_name(unit_id) or unit_id
    if unit_id == lead:
        weight = ctx.scenario.policy.continuity_weight if keep.rule is Rule.CONTINUITY else \
            ctx.scenario.policy.baseline_weight
        return base(kind="kept", message=f"keeps its {what} {name} (+{weight})")
    removed = _not_candidate(ctx, unit_id, town_id)
    if removed is not None:
        kind, rules, why = removed
        return base(kind=kind, rules=rules,
                    message=f"its {what} {name} is no longer a candidate: {why}")
    unit = ctx.units[unit_id]
    if ctx.full(unit_id):
        led = tuple(sorted(ctx.led.get(unit_id, ())))
        names = ", ".join(ctx.town_name(t) for t in led) or "none"
        return base(kind="capacity", rules=(Rule.CAPACITY,), towns=led,
                    figures={"leads": len(led), "capacity": unit.capacity},
                    message=f"its {what} {name} is at capacity ({len(led)}/{unit.capacity}), leading "
                            f"{names} instead")
    current = ctx.units.get(lead or "")
    if current is not None and current.tier is not unit.tier:
        return _tier_change(ctx, base, what, name, unit, current, town_id)
    counted = [(c, (unit_id in c.unit_ids) - (lead in c.unit_ids)) for c in ctx.counts]
    if moved := [(c, delta) for c, delta in counted if delta]:
        return _count_change(ctx, base, what, name, moved)
    blocked = _cap_blocks(ctx, keep, town_id, lead)
    if blocked is not None:
        other, allowed = blocked
        return base(kind="cap", rules=(other,),
                    figures={"changed": ctx.changed[other], "allowed": allowed},
                    message=f"giving it back to {name} would leave its {EARLIER[other]} "
                            f"{ctx.unit_name(lead)}: {ctx.changed[other] + 1} change(s), but "
                            f"{SETTING[other]} allows {allowed}")
    return _tradeoff(ctx, base, what, name, unit_id, town_id, lead)


def _not_candidate(ctx: _Context, unit_id: str, town_id: str) -> tuple[ReasonKind, tuple[Rule, ...], str] | None:
    """Why the pair has no variable in the model (checked rule by rule, in the model's pruning order)."""
    if (unit_id, town_id) in ctx.value:
        return None
    unit, town = ctx.units.get(unit_id), ctx.towns[town_id]
    if unit is None:
        return "unit_gone", (Rule.BASELINE,), f"unit {unit_id!r} is no longer in the scenario"
    if (unit_id, town_id) not in ctx.eligible:
        return "ineligible", (Rule.ELIGIBILITY,), _ineligible(ctx, unit, town)
    if unit.capacity == 0:
        return "capacity", (Rule.CAPACITY,), f"{unit.name} may lead no town (capacity 0)"
    for rule in ctx.scenario.policy.priority:
        hit = sorted(set(rule.flags) & town.flags)
        if not hit:
            continue
        if rule.tiers is not None and unit.tier not in rule.tiers:
            return "priority", (Rule.PRIORITY,), (f"{town.name} ({', '.join(hit)}) must be led by a "
                                                  f"{'/'.join(t.value for t in rule.tiers)} unit, "
                                                  f"{unit.name} is {unit.tier.value}")
        if rule.min_strength is not None and unit.strength < rule.min_strength:
            return "priority", (Rule.PRIORITY,), (f"{town.name} ({', '.join(hit)}) needs a unit of strength "
                                                  f"≥ {rule.min_strength}, {unit.name} has {unit.strength}")
    for pin in ctx.scenario.pins:
        if pin.town_id != town_id:
            continue
        if pin.action is PinAction.BAN and pin.unit_id == unit_id:
            return "ban", (Rule.PINS,), f"a planner banned {unit.name} → {town.name}"
        if pin.action is PinAction.PIN and pin.unit_id != unit_id:
            return "pin", (Rule.PINS,), f"a planner pinned {town.name} to {ctx.unit_name(pin.unit_id)}"
    return "ineligible", (Rule.ELIGIBILITY,), "the pair is not a candidate"


def _ineligible(ctx: _Context, unit: Unit, town: Town) -> str:
    counties = sorted({r.county for r in ctx.scenario.relationships if r.unit_id == unit.unit_id and r.county})
    targets = {c.target_city for c in ctx.scenario.counterparts if c.prd_city == unit.city}
    if unit.tier is Tier.LOCAL and unit.city != town.city:
        return f"a local unit of {unit.city} may lead only towns of {unit.city}, not of {town.city}"
    if unit.tier is Tier.PRD and town.city not in targets:
        return f"{town.city} is not a counterpart city of {unit.city}"
    if counties and town.county not in counties:
        return f"{unit.name} is paired with {', '.join(counties)}, not with {town.county}"
    return "the pair is not eligible"


def _tier_change(ctx: _Context, base: partial[EarlierLead], what: str, name: str, unit: Unit, current: Unit,
                 town_id: str) -> EarlierLead:
    """Giving the town back moves one town from the current tier to the earlier unit's: the quotas are exact."""
    back, now = unit.tier, current.tier
    figures = {f"{back.value}_count": ctx.tier_count[back], f"{back.value}_quota": ctx.quotas[back],
               f"{now.value}_count": ctx.tier_count[now], f"{now.value}_quota": ctx.quotas[now]}
    message = (f"its {what} {name} is {back.value}, the lead is {now.value}: giving it back would make "
               f"{back.value} {ctx.tier_count[back] + 1} (quota {ctx.quotas[back]}) and {now.value} "
               f"{ctx.tier_count[now] - 1} (quota {ctx.quotas[now]})")
    city = ctx.towns[town_id].city
    quota = ctx.scenario.policy.city_quotas.get(city, {})
    held = [t for t in (back, now) if t in quota]
    if held:
        message += "; " + city + " quota " + ", ".join(
            f"{t.value} {ctx.city_count[(t, city)]}/{quota[t]}" for t in held)
        figures |= {f"{city}_{t.value}_quota": quota[t] for t in held}
    return base(kind="tier_quota", rules=(Rule.TIER_QUOTA,), figures=figures,
                message=message + ": the quotas are exact, so another town would have to change tier too")


def _count_change(ctx: _Context, base: partial[EarlierLead], what: str, name: str,
                  moved: list[tuple[LeadCount, int]]) -> EarlierLead:
    """Giving the town back moves one town into or out of a lead count, and the counts are exact."""
    figures: dict[str, int] = {}
    parts = []
    for count, delta in moved:
        led = ctx.count_led[count.key]
        figures |= {f"{count.key}_count": led, f"{count.key}_target": count.count}
        who = ctx.unit_name(count.key) if count.unit_ids == (count.key,) else f"quota group {count.key}"
        parts.append(f"{who} lead {led + delta} (policy.lead_counts[{count.key}] = {count.count})")
    return base(kind="lead_counts", rules=(Rule.LEAD_COUNTS,), figures=figures,
                message=f"giving it back to its {what} {name} would make {' and '.join(parts)}: the lead counts "
                        "are exact, so another town would have to change lead too")


def _cap_blocks(ctx: _Context, keep: Keep, town_id: str, lead: str | None) -> tuple[Rule, int] | None:
    """The other rule's cap, when the current lead is that rule's earlier lead and the cap is used up."""
    for other in ctx.keeps:
        if other.rule is keep.rule or other.cap is None:
            continue
        if ctx.earlier[other.rule].get(town_id) == lead and ctx.changed[other.rule] >= other.cap:
            return other.rule, other.cap
    return None


def _tradeoff(ctx: _Context, base: partial[EarlierLead], what: str, name: str, unit_id: str, town_id: str,
              lead: str | None) -> EarlierLead:
    back = ctx.value[(unit_id, town_id)]
    now = ctx.value.get((lead or "", town_id))
    if now is None:  # a plan outside the rules: value its pair by the terms
        now = sum(ctx.pair_terms(lead or "", town_id).values())
    gain = now - back
    parts = ", ".join(f"{term} {value:+d}" for term, value in ctx.pair_terms(unit_id, town_id).items() if value)
    figures = {"value": now, "earlier_value": back, "gain": gain}
    if gain >= 0:
        return base(kind="tradeoff", figures=figures,
                    message=f"a trade-off: the town is worth {now} with {ctx.unit_name(lead)}, {back} with "
                            f"its {what} {name} ({parts or 'no term'}), all else equal: the objective is "
                            f"{gain} higher this way")
    return base(kind="improvable", figures=figures,
                message=f"not optimal: giving the town back to its {what} {name} breaks no rule and raises "
                        f"the objective by {-gain} ({back} against {now})")


def _binding(ctx: _Context) -> Binding:
    tiers = tuple(QuotaUse(tier=t.value, count=ctx.tier_count[t], quota=q) for t, q in ctx.quotas.items())
    cities = tuple(QuotaUse(tier=t.value, city=city, count=ctx.city_count[(t, city)], quota=q)
                   for city, per_tier in sorted(ctx.scenario.policy.city_quotas.items())
                   for t, q in sorted(per_tier.items(), key=lambda item: TIER_ORDER[item[0]]))
    full = tuple(
        UnitUse(unit_id=u.unit_id, unit_name=u.name, tier=u.tier.value, leads=len(ctx.led.get(u.unit_id, ())),
                capacity=u.capacity, towns=tuple(sorted(ctx.led.get(u.unit_id, ()))))
        for u in sorted(ctx.scenario.units, key=lambda u: (TIER_ORDER[u.tier], ctx.position[u.unit_id]))
        if u.capacity > 0 and ctx.full(u.unit_id))
    candidates = set(ctx.value)
    caps = tuple(
        CapUse(rule=k.rule, setting=SETTING[k.rule], earlier=len(k.leads), kept=len(k.leads) - ctx.changed[k.rule],
               changed=ctx.changed[k.rule], forced=sum(pair not in candidates for pair in k.leads), allowed=k.cap)
        for k in ctx.keeps)
    counts = tuple(CountUse(key=c.key, unit_ids=c.unit_ids, count=ctx.count_led[c.key], target=c.count)
                   for c in ctx.counts)
    return Binding(tier_quotas=tiers, city_quotas=cities, full_units=full,
                   units_used=sum(1 for u in ctx.scenario.units if ctx.led.get(u.unit_id)),
                   units_total=len(ctx.scenario.units), caps=caps, lead_counts=counts)


def alternatives(scenario: Scenario, plan: Plan, town: str, top: int = 3, *, units: Sequence[str] | None = None,
                 time_limit: float | None = None, workers: int | None = None, seed: int | None = None,
                 context: _Context | None = None, objective: int | None = None) -> tuple[Alternative, ...]:
    """The town's ``top`` best other candidate units (or ``units``), each with the exact cost of forcing it.

    Cost = (optimal objective with the town pinned to the unit) − (the plan's objective); ``INFEASIBLE`` when no
    plan has that choice. See the module docstring for the ranking and why the re-solve is the whole scenario.
    """
    ctx = context or _Context(scenario, plan)
    if objective is None:
        objective = int(objective_terms(scenario, plan)["value"].sum())
    current = ctx.lead.get(town)
    if units is None:
        own = ctx.pairs[(ctx.pairs["town_id"] == town) & (ctx.pairs["unit_id"] != current)]
        ranked = own.assign(full=[ctx.full(u) for u in own["unit_id"]]).sort_values(
            ["value", "full", "u"], ascending=[False, True, True], kind="stable")
        units = list(ranked["unit_id"].head(max(0, top)))
    for unit_id in units:
        if unit_id not in ctx.units:
            raise ValueError(f"unknown unit {unit_id!r}")
    lexicographic = _lexicographic(ctx)
    return tuple(_alternative(ctx, lexicographic, town, unit_id, objective, time_limit, workers, seed)
                 for unit_id in units)


def _lexicographic(ctx: _Context) -> Scenario | None:
    """The scenario with one objective that ranks plans by (value, towns kept from the plan), lexicographically.

    Every candidate pair gets the score ``M·value + [pair in the plan]`` with ``M`` = key towns + 1, and the other
    weights become 0 (their rows stay: the continuity and baseline caps still hold). The kept count is below ``M``,
    so the optimum ``W`` has the best value ``W // M`` and, among the plans of that value, the fewest changes
    against the plan. Without the second key an optimum with the pin could move hundreds of towns for nothing:
    the Guangdong scenario has many ties (units of one city share coordinates). ``None`` when the scaled values
    would not fit the solver's 64-bit arithmetic (then the plain objective is solved, moves not minimal).
    """
    m = len(ctx.scenario.key_towns) + 1
    values = ctx.pairs["value"].to_numpy()
    penalty = unassigned_penalty(ctx.scenario) if ctx.scenario.policy.allow_unassigned else 0
    largest = max(int(abs(values).max(initial=0)), penalty) + 1
    if m * largest * m * 10_000 >= 2**62:  # the network path scales arc costs by 10⁴ and sums over the towns
        return None
    kept = [ctx.lead.get(t) == u for u, t in zip(ctx.pairs["unit_id"], ctx.pairs["town_id"], strict=True)]
    # constructed without validation: the pairs are the scenario's own candidates, only the score column is new
    scores = tuple(Score.model_construct(unit_id=u, town_id=t, score=m * int(v) + int(k))
                   for u, t, v, k in zip(ctx.pairs["unit_id"], ctx.pairs["town_id"], values, kept, strict=True))
    policy = ctx.scenario.policy.model_copy(update={"continuity_weight": 0, "baseline_weight": 0,
                                                    "distance_weight": 0.0, "objective_stages": [],
                                                    "unassigned_penalty": m * penalty or None})
    return ctx.scenario.model_copy(update={"scores": scores, "policy": policy})


def _alternative(ctx: _Context, lexicographic: Scenario | None, town: str, unit_id: str, objective: int,
                 time_limit: float | None, workers: int | None, seed: int | None) -> Alternative:
    unit = ctx.units[unit_id]
    base = partial(Alternative, unit_id=unit_id, unit_name=unit.name, tier=unit.tier.value,
                   pair_value=ctx.value.get((unit_id, town)))
    if ctx.lead.get(town) == unit_id:
        return base(status=Status.OPTIMAL, objective=objective, delta=0,
                    message="the plan's own lead")
    removed = _not_candidate(ctx, unit_id, town)
    if removed is not None:
        return base(status=Status.INFEASIBLE,
                    message=f"not a candidate [{', '.join(r.value for r in removed[1])}]: {removed[2]}")
    start = time.perf_counter()
    # a pin on a candidate pair of an unpinned key town: valid by construction, so no re-validation is needed
    pin = Pin(unit_id=unit_id, town_id=town, action=PinAction.PIN)
    source = lexicographic or ctx.scenario
    pinned = source.model_copy(update={"pins": (*ctx.scenario.pins, pin)})
    result = solve(pinned, time_limit=time_limit, workers=workers, seed=seed)
    if result.plan is None or result.objective is None:
        why = _why_not(ctx, pinned, time_limit, workers, seed) if result.status is Status.INFEASIBLE else result.message
        rules, message = why if isinstance(why, tuple) else ((), why)
        return base(status=result.status, rules=rules,
                    seconds=time.perf_counter() - start,
                    message=f"no plan has {unit.name} leading {ctx.town_name(town)}: {message}")
    value = int(objective_terms(ctx.scenario, result.plan)["value"].sum())  # the true objective, term by term
    bound = result.best_bound
    if lexicographic is not None and bound is not None:
        bound = float(math.floor(bound / (len(ctx.scenario.key_towns) + 1)))
    lead = result.plan.lead_of()
    moved = tuple(Move(town_id=t, town_name=ctx.town_name(t), before=ctx.lead.get(t), after=u)
                  for t, u in sorted(lead.items()) if t != town and ctx.lead.get(t) != u)
    fewest = lexicographic is not None and result.status is Status.OPTIMAL
    return base(status=result.status, objective=value, best_bound=bound,
                delta=value - objective, moved=moved, minimal_moves=fewest,
                seconds=time.perf_counter() - start, message=f"{len(moved)} other town(s) change lead")


def _why_not(ctx: _Context, pinned: Scenario, time_limit: float | None, workers: int | None,
             seed: int | None) -> tuple[tuple[Rule, ...], str]:
    """Which rule leaves no plan with the pin: a cap (with the fewest changes the pin needs) or the network.

    Each capped rule is tried alone: the pinned scenario without caps, maximising the earlier leads kept, gives
    the fewest changes the pin forces; above the cap, that cap is the reason. One solve per capped rule.
    """
    capped = [k for k in ctx.keeps if k.cap is not None]
    open_policy = pinned.policy.model_copy(update={"max_changes": None, "max_baseline_changes": None,
                                                   "continuity_weight": 0, "baseline_weight": 0,
                                                   "distance_weight": 0.0})
    over = []
    for keep in capped:
        leads = set(keep.leads)
        scores = tuple(Score.model_construct(unit_id=u, town_id=t, score=1)
                       for u, t in zip(ctx.pairs["unit_id"], ctx.pairs["town_id"], strict=True) if (u, t) in leads)
        result = solve(pinned.model_copy(update={"policy": open_policy, "scores": scores}), time_limit=time_limit,
                       workers=workers, seed=seed)
        if result.status is Status.INFEASIBLE:
            break  # not even without the caps
        if result.status is Status.OPTIMAL and result.objective is not None:
            fewest = len(keep.leads) - result.objective
            if keep.cap is not None and fewest > keep.cap:
                over.append((keep.rule, (f"at least {fewest} {EARLIER[keep.rule]}s would change, "
                                         f"{SETTING[keep.rule]} allows {keep.cap}")))
    else:
        if over:
            return tuple(rule for rule, _ in over), "; ".join(text for _, text in over)
        if capped:
            return tuple(k.rule for k in capped), "the caps on changed earlier leads together"
    cities = " and city quotas" if ctx.scenario.policy.city_quotas else ""
    counts = " and lead counts" if ctx.scenario.policy.lead_counts else ""
    why = f"no assignment of the other towns meets the tier quotas{cities}{counts} within the units' capacities"
    return (Rule.COVERAGE, Rule.TIER_QUOTA, Rule.CAPACITY, *((Rule.LEAD_COUNTS,) if counts else ())), why


def print_explanation(console: Console, explanation: Explanation) -> None:
    """The explanation as tables for a terminal (``bangfu explain``)."""
    e = explanation
    shown = [term for term in TERMS if term != "unassigned" or e.terms[term]]  # the penalty only in a partial plan
    console.print(f"[bold]{escape(e.scenario)}[/]: objective {e.objective} = "
                  + " + ".join(f"{term} {e.terms[term]}" for term in shown), highlight=False)
    table = Table("town", "city", "lead", "tier", *shown, "value", "earlier lead",
                  title="Per town" if e.town is None else None)
    for t in e.towns:
        prefix = len(t.earlier) > 1  # previous and baseline lead: say which is which
        notes = ", ".join((f"{x.rule.value} " if prefix else "") + ("kept" if x.kept else f"[yellow]{x.kind}[/]")
                          for x in t.earlier)
        table.add_row(f"{escape(t.town_name)} ({escape(t.town_id)})", escape(t.city), escape(t.unit_name or "-"),
                      t.tier or "-", *(str(t.terms[term]) for term in shown), str(t.value), notes or "-")
    console.print(table)
    changed = [(t, x) for t in e.towns for x in t.earlier if not x.kept]
    if changed:
        console.print("[bold]Earlier leads not kept[/]")
    for t, x in changed:
        label = f"[{', '.join(r.value for r in x.rules)}]" if x.rules else x.kind
        console.print(f"  {escape(t.town_name)} ({escape(t.town_id)}): {escape(label)} {escape(x.message)}",
                      highlight=False)
    b = e.binding
    console.print("[bold]Binding rules[/]")
    console.print("  tier_quota: " + ", ".join(f"{q.tier} {q.count}/{q.quota}" + ("" if q.met else " ✗")
                                               for q in b.tier_quotas), highlight=False)
    if b.city_quotas:
        console.print("  tier_quota (cities): " + ", ".join(
            f"{escape(q.city or '')} {q.tier} {q.count}/{q.quota}" + ("" if q.met else " ✗") for q in b.city_quotas),
            highlight=False)
    console.print(f"  capacity: {len(b.full_units)} unit(s) at full capacity ({b.units_used} of {b.units_total} "
                  "units lead a town)" + (": " if b.full_units else ""), highlight=False)
    if b.full_units and (e.town is None or len(b.full_units) <= 20):
        console.print("    " + ", ".join(f"{escape(u.unit_name)} {u.label}" for u in b.full_units), highlight=False)
    if b.lead_counts:
        console.print("  lead_counts: " + ", ".join(f"{escape(c.key)} {c.count}/{c.target}" + ("" if c.met else " ✗")
                                                    for c in b.lead_counts), highlight=False)
    for cap in b.caps:
        allowed = "no cap" if cap.allowed is None else f"{cap.setting} allows {cap.allowed}"
        state = " [yellow]binding[/]" if cap.binding else ""
        console.print(f"  {cap.rule.value}: {cap.changed} of {cap.earlier} earlier leads changed "
                      f"({cap.forced} forced), {allowed}{state}", highlight=False)
    if e.town is not None:
        alt = Table("alternative unit", "tier", "pair value", "objective", "cost", "other towns moved",
                    title=f"Alternatives for {escape(e.town)} (plan objective {e.objective})")
        for a in e.alternatives:
            cost = str(a.delta) if a.delta is not None else a.status.value.lower()
            moved = "-" if a.objective is None else str(len(a.moved))
            alt.add_row(f"{escape(a.unit_name)} ({escape(a.unit_id)})", a.tier,
                        "-" if a.pair_value is None else str(a.pair_value),
                        "-" if a.objective is None else str(a.objective), cost, moved)
        console.print(alt)
        for a in e.alternatives:
            if a.objective is None:
                console.print(f"  {escape(a.unit_name)}: {escape(a.message)}", highlight=False)
            elif a.moved:
                moves = ", ".join(f"{m.town_name} {m.before or '-'} → {m.after}" for m in a.moved[:8])
                more = f" and {len(a.moved) - 8} more" if len(a.moved) > 8 else ""
                console.print(f"  {escape(a.unit_name)}: also {escape(moves)}{more}", highlight=False)
        if e.method:
            console.print(f"  {escape(e.method)}", highlight=False)


def explanation_frame(explanation: Explanation) -> pd.DataFrame:
    """The per-town part as a DataFrame: one row per town with its terms, value and earlier-lead reasons."""
    rows = [{"town_id": t.town_id, "town_name": t.town_name, "city": t.city, "unit_id": t.unit_id, "tier": t.tier,
             **t.terms, "value": t.value,
             "previous_kept": t.previous.kept if t.previous else None,
             "previous_reason": t.previous.kind if t.previous else None} for t in explanation.towns]
    return pd.DataFrame(rows)
