"""Rules ``continuity`` and ``baseline`` ("big stability, small adjustment"): keep earlier leads.

Two sources of earlier leads: the ``previous_lead`` relationships (the poverty-alleviation years) and, when
re-planning, the ``baseline`` plan being revised. Each kept lead earns its weight in the objective (see
:mod:`.objective`); this module adds each hard cap (``max_changes``, ``max_baseline_changes``). A town whose
earlier lead is no longer a candidate pair necessarily counts as a change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from models import RelationshipKind, Rule, Scenario

from . import frames
from .context import ModelContext


@dataclass(frozen=True)
class Keep:
    """Earlier leads of key towns that one rule wants kept: ``column`` marks them in the pair table."""

    rule: Rule
    column: str
    leads: tuple[tuple[str, str], ...]  # (unit_id, town_id)
    cap: int | None                     # most of them that may change; None = no cap

    @property
    def must_keep(self) -> int:
        return 0 if self.cap is None else max(0, len(self.leads) - self.cap)


def as_count(cap: int | float | None, n: int) -> int | None:
    """A cap given as a count (int) or as a fraction of ``n`` (float, rounded down, exactly)."""
    if cap is None or isinstance(cap, int):
        return cap
    return math.floor(Fraction(repr(cap)) * n)


def keeps(scenario: Scenario) -> list[Keep]:
    """The continuity and baseline leads of key towns, with their caps."""
    key = {t.town_id for t in scenario.key_towns}
    previous = tuple((r.unit_id, r.town_id) for r in scenario.relationships
                     if r.kind is RelationshipKind.PREVIOUS_LEAD and r.town_id in key)
    baseline = tuple((b.unit_id, b.town_id) for b in scenario.baseline if b.town_id in key)
    policy = scenario.policy
    return [Keep(Rule.CONTINUITY, "previous", previous, as_count(policy.max_changes, len(previous))),
            Keep(Rule.BASELINE, "baseline", baseline, as_count(policy.max_baseline_changes, len(baseline)))]


def mark(scenario: Scenario, pairs: pd.DataFrame, keep: Keep) -> np.ndarray:
    """True for the pairs that repeat one of ``keep``'s leads, found by their ``u`` and ``t`` positions
    (:class:`.frames.Positions`): ``unit_id\ttown_id`` string keys took 80 ms on 700k pairs."""
    return frames.positions(scenario).mask(pairs["u"].to_numpy(), pairs["t"].to_numpy(), keep.leads)


def define_continuity(ctx: ModelContext) -> None:
    """At least ``must_keep`` of each rule's earlier leads stay (one row per capped rule)."""
    for keep in keeps(ctx.scenario):
        if keep.must_keep > 0:
            kept = np.flatnonzero(ctx.pairs[keep.column].to_numpy())
            ctx.add_linear(keep.rule, kept, keep.must_keep, max(keep.must_keep, len(kept)))
