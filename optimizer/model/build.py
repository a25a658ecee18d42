"""Build the CP-SAT model: eligible pairs → variables → one function per rule family → objective."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
from ortools.sat.python import cp_model

from models import Rule, Scenario

from . import frames
from .capacity import define_capacity
from .context import ModelContext
from .continuity import define_continuity, keeps, mark
from .coverage import define_coverage
from .eligibility import eligible_indices, pair_frame
from .lead_counts import define_lead_counts
from .objective import define_objective, pair_values
from .pins import allowed_by_pins
from .priority import allowed_by_priority
from .tier_quota import define_tier_quota
from .unassigned import with_vacancies

RULE_BUILDERS = (define_coverage, define_tier_quota, define_capacity, define_continuity, define_lead_counts)
"""Constraint families in build order; eligibility, priority and pins act earlier, by pruning pairs."""


@dataclass(frozen=True)
class BuiltModel:
    model: cp_model.CpModel
    pairs: pd.DataFrame
    constraints: dict[Rule, int]
    pruned: dict[Rule, int]
    seconds: float


def candidate_pairs(scenario: Scenario) -> tuple[pd.DataFrame, dict[Rule, int]]:
    """Eligible pairs of units that may lead (capacity > 0: member-only units get none) and that no priority rule
    or pin forbids, with their ``previous`` flag and objective ``value``; in the overconstrained mode also the
    vacancy pairs (:mod:`.unassigned`).

    The pruning rules act on unit and town positions, so only the kept pairs' columns are ever gathered.
    """
    towns, units = frames.key_towns(scenario), frames.units(scenario)
    u, t = eligible_indices(scenario, towns, units)
    by_priority = allowed_by_priority(towns, units, u, t, scenario.policy)
    by_pins = allowed_by_pins(scenario, u, t)
    leads = units["capacity"].to_numpy()[u] > 0
    pruned = {Rule.PRIORITY: int((~by_priority).sum()), Rule.PINS: int((by_priority & ~by_pins).sum()),
              Rule.CAPACITY: int((by_priority & by_pins & ~leads).sum())}
    pairs = pair_frame(towns, units, u, t, by_priority & by_pins & leads)
    for keep in keeps(scenario):
        pairs[keep.column] = mark(scenario, pairs, keep)
    pairs["value"] = pair_values(scenario, pairs)
    return with_vacancies(scenario, pairs), pruned


def build_model(scenario: Scenario, pairs: pd.DataFrame | None = None,
                pruned: dict[Rule, int] | None = None) -> BuiltModel:
    """The whole model; only eligible pairs get a Boolean (sparse), never a dense unit × town matrix.

    ``pairs`` (rows of :func:`candidate_pairs`) restricts the model to a subset, e.g. the network path's candidates;
    ``pruned`` is then what :func:`candidate_pairs` reported, carried into the result.
    """
    start = time.perf_counter()
    pruned = pruned or {}
    if pairs is None:
        pairs, pruned = candidate_pairs(scenario)
    pairs = pairs.reset_index(drop=True)
    model = cp_model.CpModel()
    variables = model.proto.variables
    for _ in range(len(pairs)):  # one Boolean per eligible pair; variable i is row i of ``pairs``
        variables.add().domain.extend((0, 1))
    ctx = ModelContext(scenario=scenario, model=model, pairs=pairs)
    for define in RULE_BUILDERS:
        define(ctx)
    define_objective(ctx)
    return BuiltModel(model=model, pairs=pairs, constraints=ctx.constraints, pruned=pruned,
                      seconds=time.perf_counter() - start)
