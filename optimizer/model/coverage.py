"""Rule ``coverage``: every key town has exactly one lead unit."""

from __future__ import annotations

from models import Rule

from .context import ModelContext, groups


def define_coverage(ctx: ModelContext) -> None:
    """One ``exactly_one`` per key town over its eligible pairs (a town with none makes the model infeasible)."""
    for variables in groups(ctx.pairs["t"].to_numpy(), len(ctx.scenario.key_towns)):
        ctx.add_exactly_one(Rule.COVERAGE, variables)
