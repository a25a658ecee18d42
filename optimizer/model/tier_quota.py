"""Rule ``tier_quota``: the key towns split over the tiers exactly by the policy ratio (and per-city quotas)."""

from __future__ import annotations

import numpy as np

from models import Rule, Tier, TierRatio

from .context import ModelContext


def tier_quotas(n_towns: int, ratio: TierRatio) -> dict[Tier, int]:
    """Largest-remainder split of ``n_towns`` by ``ratio``; leftover towns go to the largest fractional
    parts, ties to the earlier tier (prd, provincial, local). 600 at 5:2:3 → 300/120/180."""
    total = sum(ratio.share(t) for t in Tier)
    quota = {t: n_towns * ratio.share(t) // total for t in Tier}
    remainder = {t: n_towns * ratio.share(t) % total for t in Tier}
    leftover = n_towns - sum(quota.values())
    for tier in sorted(Tier, key=lambda t: -remainder[t])[:leftover]:  # sorted() is stable: ties keep tier order
        quota[tier] += 1
    return quota


def define_tier_quota(ctx: ModelContext) -> None:
    quotas = tier_quotas(len(ctx.scenario.key_towns), ctx.scenario.policy.tier_ratio)
    tier = ctx.pairs["tier"].to_numpy()
    for t, quota in quotas.items():
        ctx.add_linear(Rule.TIER_QUOTA, np.flatnonzero(tier == t.value), quota, quota)
    city = ctx.pairs["town_city"].to_numpy()
    for city_name, per_tier in ctx.scenario.policy.city_quotas.items():
        for t, quota in per_tier.items():
            ctx.add_linear(Rule.TIER_QUOTA, np.flatnonzero((tier == t.value) & (city == city_name)), quota, quota)
