"""Rule ``priority``: border, ethnic and old-base towns get the tiers and unit strength the policy requires.

Enforced like eligibility, by removing the pairs a rule forbids (a flagged town's arcs to units of a
disallowed tier or below the minimum strength), which keeps the lead problem a network.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Policy


def allowed_by_priority(towns: pd.DataFrame, units: pd.DataFrame, u: np.ndarray, t: np.ndarray,
                        policy: Policy) -> np.ndarray:
    """Boolean mask over the pairs of unit positions ``u`` and town positions ``t`` (rows of
    :func:`.frames.units` and :func:`.frames.key_towns`): True where no priority rule forbids the pair. Each rule
    is decided per town and per unit, then gathered, so no pair column is needed."""
    keep = np.ones(len(u), dtype=bool)
    for rule in policy.priority:
        flagged = towns[list(rule.flags)].to_numpy(dtype=bool).any(axis=1)
        ok = np.ones(len(units), dtype=bool)
        if rule.tiers is not None:
            ok &= units["tier"].isin([tier.value for tier in rule.tiers]).to_numpy()
        if rule.min_strength is not None:
            ok &= units["strength"].to_numpy() >= rule.min_strength
        keep &= ~flagged[t] | ok[u]
    return keep
