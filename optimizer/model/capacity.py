"""Rule ``capacity``: a unit leads at most ``capacity`` towns."""

from __future__ import annotations

from models import Rule

from .context import ModelContext, groups


def define_capacity(ctx: ModelContext) -> None:
    """One ``≤ capacity`` row per unit whose eligible pairs outnumber its capacity (others cannot bind)."""
    capacity = {u.unit_id: u.capacity for u in ctx.scenario.units}
    unit_ids = [u.unit_id for u in ctx.scenario.units]
    for u, variables in enumerate(groups(ctx.pairs["u"].to_numpy(), len(unit_ids))):
        if len(variables) > capacity[unit_ids[u]]:
            ctx.add_linear(Rule.CAPACITY, variables, 0, capacity[unit_ids[u]])
