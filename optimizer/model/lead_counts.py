"""Rule ``lead_counts``: a unit, or a quota group of units together, leads exactly the policy's number of targets.

Published plans fix the teams per leader (Shenzhen 2022: 福田区 5, 罗湖区 4, ..., the municipal units 40
together). ``policy.lead_counts`` keys a ``unit_id`` or a ``quota_group`` (a column of ``units``); each count is
one equality row over the candidate pairs of its units. The network path carries it as a side row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import Rule, Scenario

from .context import ModelContext


@dataclass(frozen=True)
class LeadCount:
    """``count`` targets are led by the units ``unit_ids`` together (one unit when keyed by a unit_id)."""

    key: str
    unit_ids: tuple[str, ...]
    count: int


def lead_counts(scenario: Scenario) -> list[LeadCount]:
    """The policy's counts with their units, in policy order (the scenario checked that every key resolves)."""
    unit_ids = {u.unit_id for u in scenario.units}
    members: dict[str, list[str]] = {}
    for u in scenario.units:
        if u.quota_group:
            members.setdefault(u.quota_group, []).append(u.unit_id)
    return [LeadCount(key, (key,) if key in unit_ids else tuple(members[key]), count)
            for key, count in scenario.policy.lead_counts.items()]


def members(pairs: pd.DataFrame, count: LeadCount) -> np.ndarray:
    """Positions of the pairs whose unit is one of ``count``'s units."""
    return np.flatnonzero(pairs["unit_id"].isin(count.unit_ids).to_numpy())


def define_lead_counts(ctx: ModelContext) -> None:
    """One equality row per count."""
    for count in lead_counts(ctx.scenario):
        ctx.add_linear(Rule.LEAD_COUNTS, members(ctx.pairs, count), count.count, count.count)
