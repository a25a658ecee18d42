"""Compare two plans of one scenario: which towns changed lead, tier moves, per-city counts, objective terms."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from pydantic import BaseModel, ConfigDict

from models import Plan, Scenario

from .terms import TERMS, objective_terms


class TownChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    town_id: str
    town_name: str
    city: str
    before: str | None
    after: str | None
    tier_before: str | None
    tier_after: str | None


class PlanDiff(BaseModel):
    """What changed from plan A to plan B; ``terms`` holds (A, B) totals of each objective term."""

    model_config = ConfigDict(frozen=True)

    changed: tuple[TownChange, ...]
    tier_moves: dict[str, int]
    per_city: dict[str, dict[str, int]]
    terms: dict[str, tuple[int, int]]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.model_dump() for c in self.changed])


def diff_plans(scenario: Scenario, a: Plan, b: Plan) -> PlanDiff:
    """Towns whose lead differs between ``a`` and ``b`` (in town id order) and the figures around them."""
    lead_a, lead_b = a.lead_of(), b.lead_of()
    tier = {u.unit_id: u.tier.value for u in scenario.units}
    towns = {t.town_id: t for t in scenario.towns}
    changed = []
    for town_id in sorted(set(lead_a) | set(lead_b)):
        before, after = lead_a.get(town_id), lead_b.get(town_id)
        if before != after:
            town = towns.get(town_id)
            changed.append(TownChange(
                town_id=town_id, town_name=town.name if town else "", city=town.city if town else "",
                before=before, after=after, tier_before=tier.get(before or ""), tier_after=tier.get(after or "")))
    moves = Counter(f"{c.tier_before or '-'} → {c.tier_after or '-'}" for c in changed
                    if c.tier_before != c.tier_after)
    per_city = Counter(c.city for c in changed)
    terms_a, terms_b = objective_terms(scenario, a), objective_terms(scenario, b)
    return PlanDiff(
        changed=tuple(changed), tier_moves=dict(sorted(moves.items())),
        per_city={city: {"changed": n} for city, n in sorted(per_city.items())},
        terms={term: (int(terms_a[term].sum()), int(terms_b[term].sum())) for term in [*TERMS, "value"]})
