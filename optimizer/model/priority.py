"""Rule ``priority``: border, ethnic and old-base towns get the tiers and unit strength the policy requires.

Enforced like eligibility, by removing the pairs a rule forbids (a flagged town's arcs to units of a
disallowed tier or below the minimum strength), which keeps the lead problem a network.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import Policy


def allowed_by_priority(pairs: pd.DataFrame, policy: Policy) -> np.ndarray:
    """Boolean mask over ``pairs``: True where no priority rule forbids the pair."""
    keep = np.ones(len(pairs), dtype=bool)
    for rule in policy.priority:
        flagged = pairs[list(rule.flags)].to_numpy(dtype=bool).any(axis=1)
        ok = np.ones(len(pairs), dtype=bool)
        if rule.tiers is not None:
            ok &= pairs["tier"].isin([t.value for t in rule.tiers]).to_numpy()
        if rule.min_strength is not None:
            ok &= pairs["strength"].to_numpy() >= rule.min_strength
        keep &= ~flagged | ok
    return keep
