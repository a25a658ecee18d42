"""Rule ``pins``: a planner's pin (this unit leads this town) or ban (never this pair).

Enforced by pruning, like eligibility: a ban removes its pair; a pin removes every other pair of its town.
A pin on a pair that eligibility or priority already removed leaves the town with no pair: the pre-solve
checks name it.
"""

from __future__ import annotations

import numpy as np

from models import PinAction, Scenario

from . import frames


def allowed_by_pins(scenario: Scenario, u: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Boolean mask over the pairs of unit positions ``u`` and key-town positions ``t``: True where no ban forbids
    the pair and no pin claims its town for another unit."""
    if not scenario.pins:
        return np.ones(len(u), dtype=bool)
    at = frames.positions(scenario)
    banned = at.mask(u, t, [(p.unit_id, p.town_id) for p in scenario.pins if p.action is PinAction.BAN])
    pinned_unit = np.full(len(at.town), -1, dtype=np.int64)  # -1: not pinned; len(units): pinned to no known unit
    for p in scenario.pins:
        if p.action is PinAction.PIN and p.town_id in at.town:
            pinned_unit[at.town[p.town_id]] = at.unit.get(p.unit_id, len(at.unit))
    claimed = pinned_unit[t]
    return ~banned & ((claimed < 0) | (claimed == u))
