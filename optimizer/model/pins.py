"""Rule ``pins``: a planner's pin (this unit leads this town) or ban (never this pair).

Enforced by pruning, like eligibility: a ban removes its pair; a pin removes every other pair of its town.
A pin on a pair that eligibility or priority already removed leaves the town with no pair: the pre-solve
checks name it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import PinAction, Scenario


def allowed_by_pins(pairs: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """Boolean mask over ``pairs``: True where no ban forbids the pair and no pin claims its town for another."""
    if not scenario.pins:
        return np.ones(len(pairs), dtype=bool)
    key = pd.MultiIndex.from_frame(pairs[["unit_id", "town_id"]])
    bans = [(p.unit_id, p.town_id) for p in scenario.pins if p.action is PinAction.BAN]
    pinned = {p.town_id: p.unit_id for p in scenario.pins if p.action is PinAction.PIN}
    banned = key.isin(bans) if bans else np.zeros(len(pairs), dtype=bool)
    pinned_unit = pairs["town_id"].map(pinned)
    other = (pinned_unit.notna() & (pinned_unit != pairs["unit_id"])).to_numpy()
    return ~banned & ~other
