"""The lead network as a square assignment problem, for scipy's dense LAPJV (``linear_sum_assignment``).

Every unit becomes as many *slots* as it may lead towns (its capacity, at most its candidate pairs); each key
town is a row, and each tier gets ``slots − quota`` dummy rows that may take only that tier's slots, at cost 0.
A perfect matching then gives every town one lead, uses exactly each tier's quota and no unit beyond its
capacity: the same optimum as the min-cost flow. On tight instances (Guangdong: 639 slots for 600 towns) it is
about 3× faster than ortools' min-cost flow (6 ms against 18 ms for 53,609 pairs), and the Lagrangian search
evaluates the network some 35 times per solve. Loose instances (many more slots than towns) stay on the flow:
the dense matrix grows with the square of the slots.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

MAX_SLOTS = 1_500
"""Largest dense matrix (slots × slots) worth building; beyond it the min-cost flow is faster (measured:
``benchmarks/run.py``)."""
FORBIDDEN = 1e15
"""Cost of an entry that is not a candidate pair: above any sum of pair costs, below 2**53 (exact in float64)."""


class Assignment:
    """The dense assignment form of one network over all its pairs; ``solve(costs)`` as :meth:`FlowNetwork.solve`."""

    def __init__(self, pair_unit: np.ndarray, pair_town: np.ndarray, unit_tier: np.ndarray,
                 unit_capacity: np.ndarray, tier_supply: np.ndarray, n_towns: int) -> None:
        slots = np.minimum(unit_capacity, np.bincount(pair_unit, minlength=len(unit_capacity)))
        self.n, self.n_towns, self.n_pairs = int(slots.sum()), n_towns, len(pair_unit)
        slot_tier = np.repeat(unit_tier, slots)
        extra = np.bincount(slot_tier, minlength=len(tier_supply)) - tier_supply
        self.feasible = bool(np.all(extra >= 0)) and n_towns + int(extra.sum()) == self.n
        if not self.feasible:  # too few slots for the towns or for a tier's quota: no flow either
            return
        first = np.concatenate([[0], np.cumsum(slots)[:-1]])
        copies = slots[pair_unit]  # one entry per pair and slot of its unit
        pair_of_entry = np.repeat(np.arange(len(pair_unit)), copies)
        offset = np.arange(len(pair_of_entry)) - np.repeat(np.cumsum(copies) - copies, copies)
        self._entries = pair_town[pair_of_entry] * self.n + first[pair_unit[pair_of_entry]] + offset
        self._pair_of_entry = pair_of_entry
        self._matrix = np.full((self.n, self.n), FORBIDDEN)  # pair entries rewritten by every solve, the rest fixed
        row = n_towns
        for tier, count in enumerate(extra):
            self._matrix[row:row + count, slot_tier == tier] = 0.0
            row += count
        self._entry_order = np.argsort(self._entries)  # to find a chosen cell's pair (entries are distinct cells)

    def solve(self, costs: np.ndarray) -> np.ndarray | None:
        """The chosen pairs of a cheapest perfect matching, or None when there is none (the network is then
        infeasible: no flow meets every town, quota and capacity)."""
        if not self.feasible:
            return None
        matrix = self._matrix
        matrix.flat[self._entries] = costs[self._pair_of_entry]
        rows, cols = linear_sum_assignment(matrix)
        if matrix[rows, cols].max(initial=0.0) >= FORBIDDEN:
            return None
        towns = rows < self.n_towns
        chosen = np.zeros(self.n_pairs, dtype=bool)
        cells = rows[towns] * self.n + cols[towns]
        at = self._entry_order[np.searchsorted(self._entries, cells, sorter=self._entry_order)]
        chosen[self._pair_of_entry[at]] = True
        return chosen
