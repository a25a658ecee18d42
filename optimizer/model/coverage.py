"""Rule ``coverage``: every key town has exactly one lead unit."""

from __future__ import annotations

from models import Rule

from .context import ModelContext


def define_coverage(ctx: ModelContext) -> None:
    """One ``exactly_one`` per key town over its eligible pairs (a town with none makes the model infeasible)."""
    n_towns = len(ctx.scenario.key_towns)
    by_town = ctx.x.groupby(ctx.pairs["t"].to_numpy()).agg(list).reindex(range(n_towns))
    for variables in by_town:
        ctx.model.add_exactly_one(variables if isinstance(variables, list) else [])
    ctx.count(Rule.COVERAGE, n_towns)
