"""The network fast path: the lead problem as a min-cost flow, side rows by Lagrangian relaxation.

Coverage, tier quotas, capacities, eligibility and priority form a transportation network:

    tier k (supply = quota_k) ──cap_u──▶ unit u ──1, cost −value──▶ town t (demand 1)

The side rows (city quotas, the change caps, lead counts) are priced into the arc costs with multipliers μ. For every μ the
flow optimum L(μ) is an upper bound on the plan's objective; Kelley's cutting-plane method searches the μ that
makes it tightest. A flow solution that meets every side row and reaches ⌊L(μ)⌋ is optimal, with that bound as
its certificate. When no flow solution meets the side rows, the union of the flow solutions' pairs (plus the
best few per town) is handed to CP-SAT as a small restricted model; reaching ⌊L(μ)⌋ there also proves optimality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow
from ortools.linear_solver import pywraplp

from models import Rule, Scenario, Tier

from .model.continuity import keeps
from .model.tier_quota import tier_quotas
from .model.unassigned import vacancy_units
from .model.lead_counts import lead_counts, members

SCALE = 10_000
"""Arc costs are ``SCALE·value + multiplier terms``: multipliers live on a 1/SCALE grid, costs stay integers."""


@dataclass(frozen=True)
class SideRow:
    """``Σ x[members] ≥ low`` (``equal``: ``= low``), a row the network cannot carry."""

    rule: Rule
    members: np.ndarray
    low: int
    equal: bool


@dataclass
class Relaxation:
    """What the Lagrangian search found: the tightest bound, the best plan meeting every row, the pairs seen."""

    bound: float
    best: np.ndarray | None
    best_value: int | None
    seen: np.ndarray
    support: np.ndarray
    multipliers: np.ndarray

    @property
    def certified(self) -> bool:
        return self.best_value is not None and self.best_value >= math.floor(self.bound + 1e-9)


def side_rows(scenario: Scenario, pairs: pd.DataFrame) -> list[SideRow]:
    """The rows of the CP-SAT model that are not arcs or node supplies: city quotas, the change caps and the
    lead counts."""
    rows: list[SideRow] = []
    tier = pairs["tier"].to_numpy()
    city = pairs["town_city"].to_numpy()
    for city_name, per_tier in scenario.policy.city_quotas.items():
        for t, quota in per_tier.items():
            rows.append(SideRow(Rule.TIER_QUOTA, np.flatnonzero((tier == t.value) & (city == city_name)), quota, True))
    for keep in keeps(scenario):
        if keep.must_keep > 0:
            rows.append(SideRow(keep.rule, np.flatnonzero(pairs[keep.column].to_numpy()), keep.must_keep, False))
    return rows
    rows += [SideRow(Rule.LEAD_COUNTS, members(pairs, count), count.count, True) for count in lead_counts(scenario)]


class FlowNetwork:
    """The transportation network of one scenario; ``solve(costs)`` returns the chosen pairs (or None)."""

    def __init__(self, scenario: Scenario, pairs: pd.DataFrame) -> None:
        tiers = list(Tier)
        quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
        units = [(u.tier, u.capacity) for u in scenario.units] + vacancy_units(scenario)  # vacancies: unassigned
        self.n_units, self.n_towns, self.n_pairs = len(units), len(scenario.key_towns), len(pairs)
        self._unit_tail = np.array([tiers.index(tier) for tier, _ in units], dtype=np.int64)
        self._unit_cap = np.array([capacity for _, capacity in units], dtype=np.int64)
        self._pair_tail = 3 + pairs["u"].to_numpy(dtype=np.int64)
        self._pair_head = 3 + self.n_units + pairs["t"].to_numpy(dtype=np.int64)
        self._supplies = np.concatenate([[quotas[t] for t in tiers], np.zeros(self.n_units, dtype=np.int64),
                                         -np.ones(self.n_towns, dtype=np.int64)]).astype(np.int64)

    def solve(self, costs: np.ndarray) -> np.ndarray | None:
        """Min-cost flow with the given integer cost per pair; None when the network has no feasible flow."""
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(self._unit_tail, 3 + np.arange(self.n_units), self._unit_cap,
                                                  np.zeros(self.n_units, dtype=np.int64))
        flow.add_arcs_with_capacity_and_unit_cost(self._pair_tail, self._pair_head,
                                                  np.ones(self.n_pairs, dtype=np.int64), costs)
        flow.set_nodes_supplies(np.arange(len(self._supplies)), self._supplies)
        if flow.solve() != flow.OPTIMAL:
            return None
        return flow.flows(np.arange(self.n_units, self.n_units + self.n_pairs)) == 1


def relax(scenario: Scenario, pairs: pd.DataFrame, max_iterations: int = 60) -> Relaxation | None:
    """Kelley's method on the Lagrangian dual of the side rows; None when the network itself is infeasible."""
    network = FlowNetwork(scenario, pairs)
    rows = side_rows(scenario, pairs)
    values = pairs["value"].to_numpy(dtype=np.int64)
    incidence = np.zeros((len(rows), len(pairs)), dtype=np.int64)
    for r, row in enumerate(rows):
        incidence[r, row.members] = 1
    rhs = np.array([row.low for row in rows], dtype=np.int64)
    radius = int(2 * (np.abs(values).max(initial=0) + 1) * SCALE)
    master = _Master(rows, radius)
    grid = np.zeros(len(rows), dtype=np.int64)  # multipliers × SCALE
    relaxation = Relaxation(bound=math.inf, best=None, best_value=None, seen=np.zeros(len(pairs), dtype=bool),
                            support=np.zeros(len(pairs), dtype=bool), multipliers=grid)
    solutions: list[np.ndarray] = []
    box = float(np.abs(values).max(initial=1) * SCALE)
    for _ in range(max_iterations):
        chosen = network.solve(-(SCALE * values + grid @ incidence))
        if chosen is None:
            return None
        relaxation.seen |= chosen
        solutions.append(chosen)
        value = int(values[chosen].sum())
        slack = incidence[:, chosen].sum(axis=1) - rhs
        bound = (SCALE * value + int(grid @ slack)) / SCALE
        if bound < relaxation.bound:
            relaxation.bound, relaxation.multipliers = bound, grid.copy()
        meets = all(s == 0 if row.equal else s >= 0 for s, row in zip(slack, rows, strict=True))
        if meets and (relaxation.best_value is None or value > relaxation.best_value):
            relaxation.best, relaxation.best_value = chosen, value
        if not rows or relaxation.certified:
            break
        master.add_cut(value, slack)
        box = box * 2 if bound <= relaxation.bound else box / 2
        lower, grid = master.solve(relaxation.multipliers, box)
        if relaxation.bound - lower < 1e-6 * max(1.0, abs(relaxation.bound)):
            break
    for weight, chosen in zip(master.weights(), solutions, strict=False):
        if weight > 1e-9:  # the LP optimum mixes these flow solutions: their pairs are where it lives
            relaxation.support |= chosen
    return relaxation


class _Master:
    """Kelley's master LP: minimise t subject to t ≥ V(x_i) + μ·slack(x_i) for every flow solution seen."""

    def __init__(self, rows: list[SideRow], radius: int) -> None:
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.t = self.solver.NumVar(-self.solver.infinity(), self.solver.infinity(), "t")
        self.mu = [self.solver.NumVar(-radius if row.equal else 0, radius, f"mu{r}") for r, row in enumerate(rows)]
        self.cuts: list[pywraplp.Constraint] = []
        self.solver.Minimize(self.t)

    def add_cut(self, value: int, slack: np.ndarray) -> None:
        cut = self.solver.Constraint(SCALE * value, self.solver.infinity())
        cut.SetCoefficient(self.t, SCALE)
        for mu, s in zip(self.mu, slack, strict=True):
            cut.SetCoefficient(mu, -float(s))
        self.cuts.append(cut)

    def solve(self, centre: np.ndarray, box: float) -> tuple[float, np.ndarray]:
        """The master's lower bound on min L, and the next multipliers: the master's minimiser within ``box``
        of ``centre`` (box-step stabilisation: plain Kelley jumps between far corners), on the grid."""
        self.solver.Solve()
        lower = self.t.solution_value()
        bounds = [(mu.lb(), mu.ub()) for mu in self.mu]
        for mu, c, (lb, ub) in zip(self.mu, centre, bounds, strict=True):
            mu.SetBounds(max(lb, c - box), min(ub, c + box))
        self.solver.Solve()
        grid = np.array([round(mu.solution_value()) for mu in self.mu], dtype=np.int64)
        for mu, (lb, ub) in zip(self.mu, bounds, strict=True):
            mu.SetBounds(lb, ub)
        return lower, grid

    def weights(self) -> list[float]:
        """Dual value of each cut: the weight of its flow solution in the LP optimum of the relaxation."""
        self.solver.Solve()
        return [abs(cut.dual_value()) for cut in self.cuts]
