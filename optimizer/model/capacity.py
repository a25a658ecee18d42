"""Rule ``capacity``: a unit leads at most ``capacity`` towns."""

from __future__ import annotations

from ortools.sat.python import cp_model

from models import Rule

from .context import ModelContext


def define_capacity(ctx: ModelContext) -> None:
    """One ``≤ capacity`` row per unit whose eligible pairs outnumber its capacity (others cannot bind)."""
    groups = ctx.pairs.groupby("u", sort=True)
    added = 0
    for u, index in groups.groups.items():
        capacity = int(ctx.pairs.at[index[0], "capacity"])
        if len(index) > capacity:
            ctx.model.add(cp_model.LinearExpr.sum(ctx.x[index].tolist()) <= capacity)
            added += 1
    ctx.count(Rule.CAPACITY, added)
