"""The network fast path: the lead problem as a min-cost flow, side rows by Lagrangian relaxation.

Coverage, tier quotas, capacities, eligibility and priority form a transportation network:

    tier k (supply = quota_k) ──cap_u──▶ unit u ──1, cost −value──▶ town t (demand 1)

The side rows (city quotas, the change caps, lead counts) are priced into the arc costs with multipliers μ. For
every μ the network optimum L(μ) (a dense assignment problem when the network is tight, :mod:`.assignment`, else a
min-cost flow) is an upper bound on the plan's objective; Kelley's cutting-plane method searches the μ that makes
it tightest, from zero or from a similar scenario's :class:`WarmStart`. A network optimum that meets every side row
and reaches ⌊L(μ)⌋ is optimal, with that bound as its certificate. Otherwise the pairs of the network optima (plus
the best few per town) are handed to CP-SAT as a small restricted model; reaching ⌊L(μ)⌋ there also proves
optimality.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow
from ortools.linear_solver import linear_solver_pb2, pywraplp
from scipy import sparse

from models import Rule, Scenario, Tier

from .assignment import MAX_SLOTS, Assignment
from .model.codes import TIERS, city_codes, tier_codes
from .model.continuity import keeps
from .model.lead_counts import lead_counts, members
from .model.tier_quota import tier_quotas
from .model.unassigned import vacancy_units

PRUNE_FROM = 150
"""Pairs per town from which :func:`relax` searches on a pruned network. Measured: Guangdong (89 per town) needs
more iterations pruned than whole; the 1,127-town scale instance (318 per town) is 2.5× faster pruned."""
ACTIVE_PER_TIER = 4
"""Pairs per town and tier kept in the pruned network of :func:`relax` (plus each unit's best, a feasible flow)."""
PRIMAL_GAP = 3.0
"""How close (in points) the master's lower bound must be to the bound before :func:`relax` asks for a plan worth
the bound's floor: each attempt is a restricted CP-SAT (about 15 ms on Guangdong, two evaluations of L)."""
START_BOX = 2.0
"""Points around the ``start`` prices that :func:`relax` searches first (measured on 16 variants of the Guangdong
grid: 499 evaluations from the base's prices within 2 points, 518 within 5, 676 from zero)."""
COLD_BOX = 0.3
"""Without ``start``, :func:`relax` first searches within this share of the largest pair value around μ = 0
(measured, cold starts of 20 variants of the Guangdong grid: 686 evaluations at 0.3, 691 at 0.1, 771 at 1)."""
SCALE = 10_000
"""Arc costs are ``SCALE·value + multiplier terms``: multipliers live on a 1/SCALE grid, costs stay integers."""
CHAINS = (1, 2, 4, 8, 16)
"""How many column exchanges :meth:`Lagrangian.neighbours` chains in one direction, for one cut each (measured on
the base and 28 variants of the Guangdong grid, cold: 608 evaluations of L with these, 1,024 without
neighbours; single exchanges alone saved a fifth)."""
DIRECTION_ROWS = 27
"""Most side rows for :meth:`Lagrangian.neighbours`: a column exchange changes each row's slack by −2…2, one
balanced base-5 digit of an int64 label (5**27 < 2**63)."""


@dataclass(frozen=True)
class SideRow:
    """``Σ x[members] ≥ low`` (``equal``: ``= low``), a row the network cannot carry; ``key`` names it in
    :attr:`Relaxation.prices` (``tier_quota:湛江市:prd``, ``continuity``, ``lead_counts:<key>``)."""

    rule: Rule
    key: str
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
    keys: tuple[str, ...]
    flows: list[np.ndarray]

    @property
    def prices(self) -> dict[str, float]:
        """The multipliers at the bound, by side row, in points per town: what one more town on that row would
        be worth to the objective (the row's shadow price in the LP relaxation, to the grid's precision)."""
        return {key: int(m) / SCALE for key, m in zip(self.keys, self.multipliers, strict=True)}

    @property
    def certified(self) -> bool:
        return self.best_value is not None and self.best_value >= math.floor(self.bound + 1e-9)


@dataclass(frozen=True)
class WarmStart:
    """Where a similar scenario's search ended: its side-row ``prices`` (by row key, points per town) and the
    network optima it met, as ``leads`` (per plan, the lead unit_id of each of ``towns``). Each plan that is still
    a flow of the new network (its pairs eligible, capacities and quotas kept) is a valid cut of the new
    Lagrangian at once, priced with the new values: Kelley's master then starts with a model of L instead of one
    point."""

    prices: Mapping[str, float]
    towns: tuple[str, ...] = ()
    leads: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, scenario: Scenario, pairs: pd.DataFrame, relaxation: Relaxation) -> WarmStart:
        """The warm start ``relaxation`` leaves (plans with an unassigned town are left out: a vacancy has no id)."""
        unit_ids = [unit.unit_id for unit in scenario.units]
        unit, town = pairs["u"].to_numpy(), pairs["t"].to_numpy()  # by position: no 700k-string column gathered
        leads = []
        for flow in relaxation.flows:
            lead = np.empty(len(scenario.key_towns), dtype=np.int64)
            lead[town[flow]] = unit[flow]
            if (lead < len(unit_ids)).all():
                leads.append(tuple(unit_ids[u] for u in lead.tolist()))
        return cls(prices=relaxation.prices, towns=tuple(t.town_id for t in scenario.key_towns), leads=tuple(leads))


def side_rows(scenario: Scenario, pairs: pd.DataFrame) -> list[SideRow]:
    """The rows of the CP-SAT model that are not arcs or node supplies: city quotas, the change caps and the
    lead counts. A city whose quotas name every tier and add up to its key towns loses its last quota row: every
    town has one lead, so the others imply it, and its multiplier would only add a direction in which L is flat
    (Kelley's master then wanders along it)."""
    rows: list[SideRow] = []
    tier, (city, code) = tier_codes(scenario, pairs), city_codes(scenario, pairs)
    towns_in = Counter(town.city for town in scenario.key_towns)
    for city_name, per_tier in scenario.policy.city_quotas.items():
        implied = len(per_tier) == len(Tier) and sum(per_tier.values()) == towns_in[city_name]
        for t, quota in list(per_tier.items())[: -1 if implied else None]:  # coverage implies the last: no μ for it
            rows.append(SideRow(Rule.TIER_QUOTA, f"{Rule.TIER_QUOTA.value}:{city_name}:{t.value}",
                                np.flatnonzero((tier == TIERS.index(t)) & (city == code.get(city_name, -1))), quota,
                                True))
    for keep in keeps(scenario):
        if keep.must_keep > 0:
            rows.append(SideRow(keep.rule, keep.rule.value, np.flatnonzero(pairs[keep.column].to_numpy()),
                                keep.must_keep, False))
    rows += [SideRow(Rule.LEAD_COUNTS, f"{Rule.LEAD_COUNTS.value}:{count.key}", members(pairs, count), count.count,
                     True) for count in lead_counts(scenario)]
    return rows


class FlowNetwork:
    """The transportation network of one scenario; ``solve(costs)`` returns the chosen pairs (or None).
    ``dense=False`` always uses the min-cost flow (tests compare the two)."""

    def __init__(self, scenario: Scenario, pairs: pd.DataFrame, dense: bool = True) -> None:
        tiers = list(Tier)
        quotas = tier_quotas(len(scenario.key_towns), scenario.policy.tier_ratio)
        units = [(u.tier, u.capacity) for u in scenario.units] + vacancy_units(scenario)  # vacancies: unassigned
        self.n_units, self.n_towns, self.n_pairs = len(units), len(scenario.key_towns), len(pairs)
        self.unit_tier = np.array([tiers.index(tier) for tier, _ in units], dtype=np.int64)
        self.unit_capacity = np.array([capacity for _, capacity in units], dtype=np.int64)
        self.tier_supply = np.array([quotas[t] for t in tiers], dtype=np.int64)
        self._supplies = np.concatenate([self.tier_supply, np.zeros(self.n_units, dtype=np.int64),
                                         -np.ones(self.n_towns, dtype=np.int64)]).astype(np.int64)
        self.pair_unit, self.pair_town = pairs["u"].to_numpy(dtype=np.int64), pairs["t"].to_numpy(dtype=np.int64)
        slots = int(np.minimum(self.unit_capacity, np.bincount(self.pair_unit, minlength=self.n_units)).sum())
        self._dense = Assignment(self.pair_unit, self.pair_town, self.unit_tier, self.unit_capacity,
                                 self.tier_supply, self.n_towns) if dense and slots <= MAX_SLOTS else None
        self.engine = "min-cost flow" if self._dense is None else "assignment"

    def solve(self, costs: np.ndarray, active: np.ndarray | None = None) -> np.ndarray | None:
        """Min-cost flow with the given integer cost per pair, over the ``active`` pairs only (default: all);
        the chosen pairs, or None when the network has no feasible flow. A tight network over all its pairs is
        solved as a dense assignment problem (:mod:`.assignment`); the others, and pruned subsets of any (whose
        dense matrix would not shrink), by ortools' min-cost flow over their arcs: the same optimum."""
        if self._dense is not None and active is None:
            return self._dense.solve(costs)
        arcs = np.arange(self.n_pairs) if active is None else np.flatnonzero(active)
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(self.unit_tier, 3 + np.arange(self.n_units), self.unit_capacity,
                                                  np.zeros(self.n_units, dtype=np.int64))
        flow.add_arcs_with_capacity_and_unit_cost(3 + self.pair_unit[arcs], 3 + self.n_units + self.pair_town[arcs],
                                                  np.ones(len(arcs), dtype=np.int64), costs[arcs])
        flow.set_nodes_supplies(np.arange(len(self._supplies)), self._supplies)
        if flow.solve() != flow.OPTIMAL:
            return None
        chosen = np.zeros(self.n_pairs, dtype=bool)
        chosen[arcs] = flow.flows(np.arange(self.n_units, self.n_units + len(arcs))) == 1
        return chosen


@dataclass(frozen=True)
class Evaluation:
    """One flow solve at multipliers μ: its pairs, their plain value, each side row's slack, the bound L(μ)."""

    chosen: np.ndarray
    value: int
    slack: np.ndarray
    bound: float
    meets: bool


class Lagrangian:
    """L(μ) = max over network flows of Σ (value + μ·rows)·x − μ·low: an upper bound on every plan, for every μ
    (μ ≥ 0 on ≥ rows), computed exactly in integers with μ on the 1/SCALE grid."""

    def __init__(self, scenario: Scenario, pairs: pd.DataFrame) -> None:
        self.network = FlowNetwork(scenario, pairs)
        self.rows = side_rows(scenario, pairs)
        self.values = pairs["value"].to_numpy(dtype=np.int64)
        lengths = [len(row.members) for row in self.rows]
        members = np.concatenate([row.members for row in self.rows]) if self.rows else np.zeros(0, dtype=np.int64)
        self.incidence = sparse.csr_matrix((np.ones(len(members), dtype=np.int64),
                                            (np.repeat(np.arange(len(self.rows)), lengths), members)),
                                           shape=(len(self.rows), len(pairs)))
        self._by_pair = self.incidence.T.tocsr()  # a flow's slack sums the rows of its few chosen pairs
        self._scaled = SCALE * self.values
        self.low = np.array([row.low for row in self.rows], dtype=np.int64)
        self._padded_values = np.append(self.values, 0)
        dense = self.network._dense
        if dense is not None and 0 < len(self.rows) <= DIRECTION_ROWS:
            dense.label(np.asarray(self.incidence.T @ 5 ** np.arange(len(self.rows), dtype=np.int64)))
        self.equal = np.array([row.equal for row in self.rows], dtype=bool)

    def slack(self, chosen: np.ndarray) -> np.ndarray:
        """Each side row's ``Σ x[members] − low`` for the pairs ``chosen``."""
        return np.asarray(self._by_pair[np.flatnonzero(chosen)].sum(axis=0)).ravel() - self.low

    def evaluate(self, grid: np.ndarray, active: np.ndarray | None = None) -> Evaluation | None:
        """L at μ = grid / SCALE over the ``active`` pairs (default: all; only then is it a bound); None when the
        network has no feasible flow."""
        chosen = self.network.solve(-(self._scaled + self._by_pair @ grid), active)
        if chosen is None:
            return None
        value = int(self.values[chosen].sum())
        slack = self.slack(chosen)
        meets = bool(np.all(np.where(self.equal, slack == 0, slack >= 0)))
        return Evaluation(chosen, value, slack, (SCALE * value + int(grid @ slack)) / SCALE, meets)

    def neighbours(self, point: Evaluation, reach: float) -> list[tuple[int, np.ndarray, _Neighbour]]:
        """Flows a few column exchanges away from ``point``'s (a dense solve over all pairs): per direction in
        which one exchange moves the side rows' slacks, the cheapest disjoint exchanges that way, chained
        :data:`CHAINS` deep; each as its plain value, slacks and flow. Only chains whose priced loss some
        multipliers within ``reach`` (grid units, per row) of the point's could make up are kept."""
        dense = self.network._dense
        if dense is None or not 0 < len(self.rows) <= DIRECTION_ROWS:
            return []
        i, j, cost, change = dense.swaps()
        if not len(i):
            return []
        order = np.lexsort((cost, change))  # by direction, cheapest first (ties by position: deterministic)
        i, j, cost, change = i[order], j[order], cost[order], change[order]
        starts = np.flatnonzero(np.r_[True, change[1:] != change[:-1]]).tolist()
        rows_i, rows_j = i.tolist(), j.tolist()
        longest = max(CHAINS)
        found = []
        for start, end in zip(starts, starts[1:] + [len(order)], strict=True):
            used: set[int] = set()
            chain: list[int] = []
            for k in range(start, end):
                if rows_i[k] not in used and rows_j[k] not in used:
                    used.update((rows_i[k], rows_j[k]))
                    chain.append(k)
                    if len(chain) == longest:
                        break
            found.append(chain)
        digits = 5 ** np.arange(len(self.rows), dtype=np.int64)
        effects = (change[[chain[0] for chain in found]][:, None] + 2 * digits.sum()) // digits % 5 - 2
        ends = np.cumsum([len(chain) for chain in found])
        loss = np.cumsum(cost[[k for chain in found for k in chain]])  # priced, along the chains one after another
        kept = [[m for m in CHAINS if m <= len(chain) and
                 loss[end - len(chain) + m - 1] - (loss[end - len(chain) - 1] if end > len(chain) else 0.0)
                 <= m * reach * float(np.abs(effect).sum())]
                for chain, effect, end in zip(found, effects, ends, strict=True)]
        swaps = [k for chain, lengths in zip(found, kept, strict=True) if lengths for k in chain[:lengths[-1]]]
        drop, add = dense.swapped_pairs(i[swaps], j[swaps])
        gain = self._padded_values[add].sum(axis=1) - self._padded_values[drop].sum(axis=1)
        cuts = []
        first = 0
        for effect, lengths in zip(effects, kept, strict=True):
            for m in lengths:
                gone, new = drop[first:first + m].ravel(), add[first:first + m].ravel()
                cuts.append((point.value + int(gain[first:first + m].sum()), point.slack + m * effect,
                             _Neighbour(point.chosen, gone[gone >= 0], new[new >= 0])))
            first += lengths[-1] if lengths else 0
        return cuts


@dataclass(frozen=True)
class _Neighbour:
    """A flow some column exchanges away from a network optimum, kept as the pairs it trades: only the few the
    master's optimum mixes are ever needed whole."""

    base: np.ndarray
    drop: np.ndarray
    add: np.ndarray

    def mask(self) -> np.ndarray:
        """The flow's pairs."""
        chosen = self.base.copy()
        chosen[self.drop] = False
        chosen[self.add] = True
        return chosen


def active_pairs(pairs: pd.DataFrame, lagrangian: Lagrangian, grid: np.ndarray,
                 feasible: np.ndarray) -> np.ndarray | None:
    """The pruned network Kelley's search runs on, around the multipliers ``grid``: by priced value
    (value + μ·rows), each town's :data:`ACTIVE_PER_TIER` best pairs of every tier (the city quotas are rows per
    tier) and each unit's ``capacity + ACTIVE_PER_TIER`` best towns; every pair a ≥ side row counts; and a feasible
    flow (so the pruned network is feasible too). None when pruning would save little."""
    n_towns = lagrangian.network.n_towns
    if len(pairs) <= PRUNE_FROM * n_towns:
        return None
    priced = SCALE * lagrangian.values + lagrangian.incidence.T @ grid
    u, t = pairs["u"].to_numpy(), pairs["t"].to_numpy()
    tier = lagrangian.network.unit_tier[u]
    mask = top_per_group(priced, t * len(Tier) + tier, ACTIVE_PER_TIER) | feasible
    mask |= top_per_group(priced, u, lagrangian.network.unit_capacity[u] + ACTIVE_PER_TIER)
    for row in lagrangian.rows:
        if not row.equal:
            mask[row.members] = True
    return mask


def top_per_group(value: np.ndarray, group: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """True for the ``k`` highest values of each group (ties by position; ``k`` one for all or per element).

    Integer values are ordered by one stable argsort of ``group · span + (max − value)`` where that fits in 62
    bits: 3.5× faster than the two-key lexsort on 711k pairs, the same order."""
    if len(value) == 0:
        return np.zeros(0, dtype=bool)
    high, span = int(value.max()), int(value.max()) - int(value.min()) + 1
    if np.issubdtype(value.dtype, np.integer) and (int(group.max()) + 1) * span < 2**62:
        order = np.argsort(group.astype(np.int64) * span + (high - value), kind="stable")
    else:
        order = np.lexsort((-value, group))
    sorted_group = group[order]
    first = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    mask = np.zeros(len(value), dtype=bool)
    mask[order[rank < (k[order] if isinstance(k, np.ndarray) else k)]] = True
    return mask


Primal = Callable[[int, np.ndarray], "np.ndarray | None"]
"""``primal(target, support)``: a plan worth exactly ``target`` among the ``support`` pairs (and any plan the
search found), or None. :func:`optimizer.solve` passes a restricted CP-SAT."""


def relax(scenario: Scenario, pairs: pd.DataFrame, max_iterations: int = 60,
          primal: Primal | None = None, start: WarmStart | None = None) -> Relaxation | None:
    """Kelley's method on the Lagrangian dual of the side rows; None when the network itself is infeasible.

    With ``primal``, the search stops as soon as it can prove optimality: whenever the bound's floor drops to a
    new integer while the master's lower bound is within :data:`PRIMAL_GAP` of it, ``primal`` is asked for a
    plan worth that floor over the current LP support; one found is optimal. On Guangdong this saves the last
    ten of 37 iterations, spent closing the master's gap.

    ``start``: a similar scenario's :class:`WarmStart`: its prices to begin from (missing rows start at 0),
    searched within :data:`START_BOX` points first, and its plans as cuts wherever they are still flows here. A
    sweep starts each variant from a neighbour's (:func:`optimizer.sweep.hubs`).

    On large instances the search runs on a pruned network (:func:`active_pairs`): its L(μ) is cheap but proves
    nothing, since it may miss pairs. When the search has converged there, L is evaluated over all pairs at the
    best multipliers found. That value is a valid bound; when it equals the pruned one, no missing pair could
    have changed the answer at those multipliers; otherwise the best pairs at those multipliers and the full
    solution's join the pruned network and the search goes on (every cut stays valid: a pruned flow is a flow of
    the full network).

    Without ``start``, every evaluation over all pairs of a dense network also hands the master the cuts of its
    :meth:`Lagrangian.neighbours`: one solve's cut says only where L is at least its value along one slope, the
    neighbours' cuts bend the model in every direction a few exchanges reach (Guangdong, cold: 13 evaluations
    instead of 29). A warm start already brings its neighbour's plans as cuts: there the neighbours saved a tenth
    of the evaluations and cost a third more time (40 variants of the Guangdong grid from their hubs: 559
    evaluations in 12.6 s with them, 620 in 9.7 s without), so they are left out."""
    lagrangian = Lagrangian(scenario, pairs)
    rows, values = lagrangian.rows, lagrangian.values
    radius = int(2 * (np.abs(values).max(initial=0) + 1) * SCALE)
    master = _Master(rows, radius)
    prices = start.prices if start is not None else {}
    grid = np.array([round(prices.get(row.key, 0.0) * SCALE) for row in rows], dtype=np.int64)
    grid = np.clip(grid, [-radius if row.equal else 0 for row in rows], radius) if rows else grid
    relaxation = Relaxation(bound=math.inf, best=None, best_value=None, seen=np.zeros(len(pairs), dtype=bool),
                            support=np.zeros(len(pairs), dtype=bool), multipliers=grid,
                            keys=tuple(row.key for row in rows), flows=[])
    solutions = relaxation.flows
    cuts: list[np.ndarray | _Neighbour] = []  # the flow of each cut of the master, in order
    box = START_BOX * SCALE if prices else COLD_BOX * float(np.abs(values).max(initial=1) * SCALE)
    active: np.ndarray | None = None
    steer, centre = math.inf, grid  # tightest L seen on the network searched, and where
    checked = grid  # where L was last evaluated over all pairs
    tried = math.inf  # the last target handed to ``primal``

    def record(point: Evaluation, at: np.ndarray, full: bool) -> None:
        relaxation.seen |= point.chosen
        if full and point.bound < relaxation.bound:
            relaxation.bound, relaxation.multipliers = point.bound, at.copy()
        if point.meets and (relaxation.best_value is None or point.value > relaxation.best_value):
            relaxation.best, relaxation.best_value = point.chosen, point.value
        if rows:
            master.add_cut(point.value, point.slack)
            cuts.append(point.chosen)
            solutions.append(point.chosen)
            if full and start is None:  # a warm start brings its own cuts (see the docstring)
                for value, slack, flow in lagrangian.neighbours(point, box):
                    master.add_cut(value, slack)
                    cuts.append(flow)

    if rows and start is not None:
        for chosen in _still_flows(scenario, lagrangian.network, start):
            master.add_cut(int(values[chosen].sum()), lagrangian.slack(chosen))
            cuts.append(chosen)
            solutions.append(chosen)
    for iteration in range(max_iterations):
        point = lagrangian.evaluate(grid, active)
        if point is None:
            return None  # the first evaluation is over all pairs, later ones contain a feasible flow
        record(point, grid, full=active is None)
        if iteration == 0:
            active = active_pairs(pairs, lagrangian, grid, point.chosen)
        if point.bound < steer:
            steer, centre = point.bound, grid.copy()
        if not rows or relaxation.certified:
            break
        box = box * 2 if point.bound <= steer else box / 2
        lower, grid = master.solve(centre, box)
        target = math.floor(relaxation.bound + 1e-9)
        if primal is not None and active is None and target < tried and relaxation.bound - lower < PRIMAL_GAP:
            tried = target
            found = primal(target, _support(master, cuts, len(pairs)))
            if found is not None:
                relaxation.best, relaxation.best_value = found, int(values[found].sum())
                break
        near = relaxation.best_value is not None and relaxation.best_value >= math.floor(steer + 1e-9)
        if near or steer - lower < 1e-6 * max(1.0, abs(steer)):
            if active is None or np.array_equal(centre, checked):
                break
            check = lagrangian.evaluate(centre)  # over all pairs: a valid bound at the multipliers found
            assert check is not None  # the full network contains the pruned one's flows
            record(check, centre, full=True)
            checked = centre
            if check.bound <= steer + 1e-9 or relaxation.certified:
                break
            active |= active_pairs(pairs, lagrangian, centre, check.chosen)  # re-prune around the multipliers
            steer = check.bound
            lower, grid = master.solve(centre, box)
    if active is not None and not np.array_equal(centre, checked):  # out of iterations: bound the best found
        check = lagrangian.evaluate(centre)
        assert check is not None
        record(check, centre, full=True)
    relaxation.support = _support(master, cuts, len(pairs)) if cuts else relaxation.support
    return relaxation


def _still_flows(scenario: Scenario, network: FlowNetwork, warm: WarmStart) -> list[np.ndarray]:
    """``warm``'s plans that are flows of ``network``, as masks over its pairs: the same key towns, every pair
    still a candidate, no unit above its capacity, each tier exactly its quota."""
    if [town.town_id for town in scenario.key_towns] != list(warm.towns):
        return []
    unit_at = {unit.unit_id: u for u, unit in enumerate(scenario.units)}  # pair positions u; t is the town's place
    width = network.n_units + 1
    keys = network.pair_town * width + network.pair_unit
    order = np.argsort(keys, kind="stable")
    found: list[np.ndarray] = []
    for lead in warm.leads:
        u = np.array([unit_at.get(unit, -1) for unit in lead], dtype=np.int64)
        if (u < 0).any():
            continue
        wanted = np.arange(len(lead)) * width + u
        index = order[np.minimum(np.searchsorted(keys, wanted, sorter=order), len(keys) - 1)]
        if not np.array_equal(keys[index], wanted):
            continue
        chosen = np.zeros(network.n_pairs, dtype=bool)
        chosen[index] = True
        if (np.bincount(u, minlength=network.n_units) <= network.unit_capacity).all() and \
                np.array_equal(np.bincount(network.unit_tier[u], minlength=len(Tier)), network.tier_supply):
            found.append(chosen)
    return found


def _support(master: _Master, cuts: list[np.ndarray | _Neighbour], n_pairs: int) -> np.ndarray:
    """The pairs of the flows the master's LP optimum mixes: where the relaxation's optimum lives."""
    support = np.zeros(n_pairs, dtype=bool)
    for weight, flow in zip(master.weights(), cuts, strict=True):
        if weight > 1e-9:
            support |= flow if isinstance(flow, np.ndarray) else flow.mask()
    return support


class _Master:
    """Kelley's master LP: minimise t subject to t ≥ V(x_i) + μ·slack(x_i) for every flow solution seen."""

    def __init__(self, rows: list[SideRow], radius: int) -> None:
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.t = self.solver.NumVar(-self.solver.infinity(), self.solver.infinity(), "t")
        # μ in points (grid / SCALE): coefficients of the order of the values keep GLOP's tolerances meaningful
        self.mu = [self.solver.NumVar(-radius / SCALE if row.equal else 0, radius / SCALE, f"mu{r}")
                   for r, row in enumerate(rows)]
        self.cuts: list[pywraplp.Constraint] = []
        self.solver.Minimize(self.t)

    def add_cut(self, value: int, slack: np.ndarray) -> None:
        cut = self.solver.Constraint(value, self.solver.infinity())
        cut.SetCoefficient(self.t, 1)
        for mu, s in zip(self.mu, slack, strict=True):
            cut.SetCoefficient(mu, -float(s))
        self.cuts.append(cut)

    def solve(self, centre: np.ndarray, box: float) -> tuple[float, np.ndarray]:
        """The master's lower bound on min L, and the next multipliers: the master's minimiser within ``box``
        of ``centre`` (box-step stabilisation: plain Kelley jumps between far corners), on the grid."""
        self._solve()
        lower = self.t.solution_value()
        bounds = [(mu.lb(), mu.ub()) for mu in self.mu]
        for mu, c, (lb, ub) in zip(self.mu, centre / SCALE, bounds, strict=True):
            mu.SetBounds(max(lb, c - box / SCALE), min(ub, c + box / SCALE))
        self._solve()
        grid = np.array([round(mu.solution_value() * SCALE) for mu in self.mu], dtype=np.int64)
        for mu, (lb, ub) in zip(self.mu, bounds, strict=True):
            mu.SetBounds(lb, ub)
        return lower, grid

    def weights(self) -> list[float]:
        """Dual value of each cut: the weight of its flow solution in the LP optimum of the relaxation."""
        self._solve()
        return [abs(cut.dual_value()) for cut in self.cuts]

    def _solve(self) -> None:
        """GLOP, warm-started from the last basis; when that ends ABNORMAL (about one master solve in a hundred
        did, after many bound changes, and its garbage minimiser cost Kelley's search a dozen iterations), a new
        GLOP on the same model, which solves it."""
        if self.solver.Solve() == pywraplp.Solver.OPTIMAL:
            return
        proto = linear_solver_pb2.MPModelProto()
        self.solver.ExportModelToProto(proto)
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.solver.LoadModelFromProto(proto)
        self.t, *self.mu = self.solver.variables()
        self.cuts = list(self.solver.constraints())
        self.solver.Solve()
