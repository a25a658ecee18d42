"""Rule ``continuity`` ("big stability, small adjustment"): keep previous leads; at most ``max_changes`` change.

The reward for a kept lead is in the objective (see :mod:`.objective`); this module adds the hard cap.
A town whose previous lead is no longer eligible necessarily counts as a change.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
from models import Policy, RelationshipKind, Rule, Scenario

from . import frames
from .context import ModelContext


def previous_mask(scenario: Scenario, pairs: pd.DataFrame) -> np.ndarray:
    """True for the pairs that repeat a previous lead."""
    previous = frames.relationships(scenario, RelationshipKind.PREVIOUS_LEAD)
    keys = pd.MultiIndex.from_frame(previous[["unit_id", "town_id"]])
    return pd.MultiIndex.from_frame(pairs[["unit_id", "town_id"]]).isin(keys)


def change_cap(policy: Policy, n_previous: int) -> int | None:
    """``max_changes`` as a count: an int is a count, a float a fraction of ``n_previous`` rounded down."""
    cap = policy.max_changes
    if cap is None or isinstance(cap, int):
        return cap
    return math.floor(Fraction(repr(cap)) * n_previous)


def define_continuity(ctx: ModelContext) -> None:
    key_ids = {t.town_id for t in ctx.scenario.key_towns}
    n_previous = sum(1 for r in ctx.scenario.relationships
                     if r.kind is RelationshipKind.PREVIOUS_LEAD and r.town_id in key_ids)
    cap = change_cap(ctx.scenario.policy, n_previous)
    if cap is None or cap >= n_previous:
        return
    kept = np.flatnonzero(ctx.pairs["previous"].to_numpy())
    ctx.add_linear(Rule.CONTINUITY, kept, n_previous - cap, len(kept))
