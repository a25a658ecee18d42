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
        self._entry_row, self._entry_col = np.divmod(self._entries, self.n)
        self._cols = np.arange(self.n)  # the last matching: each row's column
        self._cell_label = np.zeros(self.n * self.n, dtype=np.uint8)  # per cell, an index into _labels
        self._labels = np.zeros(1, dtype=np.int64)
        self._entry_label = np.zeros(len(self._entries), dtype=np.int64)
        self._entry_cost = np.zeros(len(self._entries))

    def solve(self, costs: np.ndarray) -> np.ndarray | None:
        """The chosen pairs of a cheapest perfect matching, or None when there is none (the network is then
        infeasible: no flow meets every town, quota and capacity)."""
        if not self.feasible:
            return None
        matrix = self._matrix
        self._entry_cost = costs[self._pair_of_entry].astype(float)
        matrix.ravel()[self._entries] = self._entry_cost  # a view: ``.flat`` assignment is 4× slower
        rows, cols = linear_sum_assignment(matrix)
        if matrix[rows, cols].max(initial=0.0) >= FORBIDDEN:
            return None
        self._cols = cols
        chosen = np.zeros(self.n_pairs, dtype=bool)
        chosen[self._pairs_at(np.arange(self.n_towns), cols[:self.n_towns])] = True
        return chosen

    def label(self, pair_label: np.ndarray) -> None:
        """An integer label per pair (dummy cells: 0), for :meth:`swaps` to tell which exchanges change it."""
        if not self.feasible:
            return
        self._labels, index = np.unique(np.concatenate([[0], pair_label]), return_inverse=True)
        self._cell_label = np.full(self.n * self.n, index[0], dtype=np.min_scalar_type(len(self._labels)))
        self._cell_label[self._entries] = index[1:][self._pair_of_entry]
        self._entry_label = self._labels[self._cell_label[self._entries]]

    def swaps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The exchanges of columns between two rows ``i < j`` of the last matching that are perfect matchings
        too and change the labels' sum: ``i``, ``j``, the cost change, the label change. Found from the pair
        entries (row ``i`` takes ``j``'s column there), not the n² cells: only some 5 % of those are entries."""
        if not self.feasible:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty.astype(float), empty
        matrix, cols, n = self._matrix.ravel(), self._cols, self.n
        holder = np.empty(n, dtype=np.int64)
        holder[cols] = np.arange(n)
        j = holder[self._entry_col]
        back = j * n + cols[self._entry_row]  # the cell row j moves to
        entry = np.flatnonzero((self._entry_row < j) & (matrix[back] < FORBIDDEN))  # i a town: a dummy j is below
        i, j, back = self._entry_row[entry], j[entry], back[entry]
        current = np.arange(n) * n + cols
        labels = self._labels
        now = labels[self._cell_label[current]]
        change = self._entry_label[entry] + labels[self._cell_label[back]] - now[i] - now[j]
        moved = np.flatnonzero(change)
        i, j, entry, back = i[moved], j[moved], entry[moved], back[moved]
        cost = self._entry_cost[entry] + matrix[back] - matrix[current[i]] - matrix[current[j]]
        return i, j, cost, change[moved]

    def swapped_pairs(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each exchange of rows ``i``, ``j`` of the last matching: the pairs it drops and the pairs it adds,
        as ``(k, 2)`` arrays (−1 where the row is a dummy)."""
        cols = self._cols
        rows = np.stack([i, j], axis=1)
        return self._pairs_at(rows, cols[rows]), self._pairs_at(rows, cols[rows[:, ::-1]])

    def _pairs_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The pair of each cell (``rows``, ``cols``), −1 for a dummy row's cell."""
        cells = np.where(rows < self.n_towns, rows * self.n + cols, -1)
        at = self._entry_order[np.minimum(np.searchsorted(self._entries, cells, sorter=self._entry_order),
                                          len(self._entries) - 1)]
        return np.where(cells >= 0, self._pair_of_entry[at], -1)
