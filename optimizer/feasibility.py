"""Is a subset of rule groups feasible? Exact answers for the diagnosis, from one max-flow where it can.

:mod:`optimizer.diagnose` asks this question many times, each time with other rule groups enforced. A group is
one declarative constraint over a fixed *universe* of (unit, key town) pairs (every pair the two hard rules allow:
each key town has one lead, a local unit serves only its own city):

- :class:`Forbid` — the pair rules (eligibility, priority, pins and bans) remove a set of pairs;
- :class:`Quota` — a tier leads exactly ``quota`` key towns;
- :class:`Capacity` — the units of a tier lead at most their capacity;
- :class:`Row` — ``low ≤ Σ x ≤ high`` over a set of pairs: the side rows (city quotas, lead counts, change caps).

**Network rules.** With no side row enforced, the enforced groups form a transportation network over the pairs
that no enforced :class:`Forbid` removes (N key towns; a relaxed capacity is N):

    source ──q_k──▶ tier k ──cap_u──▶ unit u ──1──▶ town t ──1──▶ sink         (tier k's quota enforced)
    source ──N − Σ_enforced q──▶ free ──N──▶ tier k                            (tier k's quota relaxed)

*Claim: the enforced groups admit a plan iff the maximum flow is N.* (⇒) A plan sends one unit of flow per
town along source → its lead's tier (through ``free`` when that tier's quota is relaxed) → lead → town → sink:
N in all, within every arc: a unit leads at most cap_u towns, an enforced tier exactly q_k, the relaxed tiers
together N − Σ_enforced q. (⇐) Every capacity is an integer, so the maximum flow the solver returns is integral
(integrality theorem: augmenting-path and push-relabel algorithms only ever move integral amounts). A flow of
value N saturates every source arc (their capacities add up to N) and every town arc: each town receives one
unit over exactly one pair arc — its lead — a unit passes at most cap_u, an enforced tier exactly q_k. ∎

**Side rows** cut across the network: a row over any set of pairs breaks total unimodularity (on a 4-cycle of
pairs, a row over two opposite pairs — two previous leads, say — takes 0 or 2, never 1). So with side rows
enforced, the network being infeasible proves infeasibility (it is a relaxation), and the max-flow's plan meeting
every enforced row proves feasibility; otherwise :class:`FlowOracle` asks an LP whose answers it checks exactly,
and CP-SAT last.

:class:`CpSatOracle` answers the same question from CP-SAT alone (every group behind an enforcement literal,
assumptions): the reference the flow oracle is tested against.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import max_flow, min_cost_flow
from ortools.linear_solver import linear_solver_pb2, pywraplp
from ortools.sat.python import cp_model

from models import Tier

from .solve import solve_interruptibly

TIERS = tuple(Tier)


@dataclass(frozen=True)
class Forbid:
    """The pairs ``pairs`` (positions in the universe) may not be chosen."""

    pairs: np.ndarray


@dataclass(frozen=True)
class Quota:
    """Tier ``tier`` (a position in :data:`TIERS`) leads exactly ``quota`` key towns."""

    tier: int
    quota: int


@dataclass(frozen=True)
class Capacity:
    """Each unit of ``units`` (positions) leads at most its capacity."""

    units: np.ndarray


@dataclass(frozen=True)
class Row:
    """``low ≤ Σ x[pairs] ≤ high``: a side row."""

    pairs: np.ndarray
    low: int
    high: int


Constraint = Forbid | Quota | Capacity | Row


class Undecided(Exception):
    """CP-SAT ran out of time before it could answer."""


@dataclass(frozen=True)
class Universe:
    """The pairs as arrays: each pair's unit and town position; each unit's tier position and capacity."""

    n_towns: int
    pair_unit: np.ndarray
    pair_town: np.ndarray
    unit_tier: np.ndarray
    unit_cap: np.ndarray

    @classmethod
    def of(cls, pairs: pd.DataFrame, units: Sequence[tuple[Tier, int]], n_towns: int) -> Universe:
        """From a pair frame with ``u`` and ``t`` columns and the units' (tier, capacity) in file order."""
        return cls(n_towns=n_towns, pair_unit=pairs["u"].to_numpy(dtype=np.int64),
                   pair_town=pairs["t"].to_numpy(dtype=np.int64),
                   unit_tier=np.array([TIERS.index(tier) for tier, _ in units], dtype=np.int64),
                   unit_cap=np.array([cap for _, cap in units], dtype=np.int64))

    @property
    def n_units(self) -> int:
        return len(self.unit_cap)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_unit)


class Classes:
    """Twin towns merged: towns are twins when they have the same units in the universe and, for every unit, its
    pairs with them lie in the same *distinguishing* groups. Pair ``a`` of the merged problem is "unit
    ``unit[a]`` leads towns of class ``cls[a]``", an integer ``y_a ∈ [0, size[cls[a]]]``; ``rep[a]`` is the
    universe pair of the class's first town, which stands for the class in every membership test."""

    def __init__(self, universe: Universe, keys: Sequence[bytes]) -> None:
        """``keys[t]``: town t's units and their pairs' memberships in the distinguishing groups, as bytes."""
        first: dict[bytes, int] = {}
        town_class = np.empty(universe.n_towns, dtype=np.int64)
        reps: list[int] = []
        for town, key in enumerate(keys):
            if key not in first:
                first[key] = len(reps)
                reps.append(town)
            town_class[town] = first[key]
        starts, ends = town_bounds(universe)
        self.size = np.bincount(town_class, minlength=len(reps)).astype(np.int64)
        self.rep = np.concatenate([np.arange(starts[t], ends[t]) for t in reps]).astype(np.int64)
        self.unit = universe.pair_unit[self.rep]
        self.cls = town_class[universe.pair_town[self.rep]]


def town_bounds(universe: Universe) -> tuple[np.ndarray, np.ndarray]:
    """Where each town's pairs start and end in the universe (sorted by town)."""
    towns = np.arange(universe.n_towns)
    return (np.searchsorted(universe.pair_town, towns, side="left"),
            np.searchsorted(universe.pair_town, towns, side="right"))


def _town_keys(universe: Universe, bits: np.ndarray) -> list[bytes]:
    """Per town: its units (8 bytes each) and, pair by pair, the membership bits ``bits`` (a row of packed bytes
    per pair); both parts grow with the town's number of pairs, so equal keys split alike."""
    return [universe.pair_unit[a:b].tobytes() + bits[a:b].tobytes()
            for a, b in zip(*town_bounds(universe), strict=True)]


def _packed(n_pairs: int, groups: Sequence[np.ndarray]) -> np.ndarray:
    """Membership of each pair in each of ``groups`` (pair positions), packed 8 groups to a byte as
    :func:`numpy.packbits` does: a pair × group matrix of booleans would take 8 times the memory."""
    bits = np.zeros((n_pairs, (len(groups) + 7) // 8), dtype=np.uint8)
    for j, pairs in enumerate(groups):
        bits[pairs, j // 8] |= np.uint8(0x80 >> (j % 8))
    return bits


@dataclass(frozen=True)
class Question:
    """One question on merged pairs: which are ``allowed``, tier → ``quotas``, the ``capped`` units, and the
    enforced side rows as (merged-pair membership, row)."""

    allowed: np.ndarray
    quotas: dict[int, int]
    capped: np.ndarray
    rows: list[tuple[np.ndarray, Row]]


class Network:
    """The network of the module docstring over twin classes (a class of ``size`` towns is one node of demand
    ``size``, reached by arcs of capacity ``size``), built once; each question only sets the capacities."""

    def __init__(self, universe: Universe, classes: Classes) -> None:
        self.universe, self.classes = universe, classes
        k, n_classes = len(TIERS), len(classes.size)
        source, free, tier0 = 0, 1, 2
        unit0 = tier0 + k
        class0 = unit0 + universe.n_units
        self.source, self.sink = source, class0 + n_classes
        self.tails = np.concatenate([np.full(k + 1, source), np.full(k, free), tier0 + universe.unit_tier,
                                     unit0 + classes.unit, class0 + np.arange(n_classes)]).astype(np.int32)
        self.heads = np.concatenate([tier0 + np.arange(k), [free], tier0 + np.arange(k),
                                     unit0 + np.arange(universe.n_units), class0 + classes.cls,
                                     np.full(n_classes, self.sink)]).astype(np.int32)
        self.flow = max_flow.SimpleMaxFlow()
        self.arcs = np.asarray(self.flow.add_arcs_with_capacity(
            self.tails, self.heads, np.zeros(len(self.tails), dtype=np.int64)), dtype=np.int32)
        self.pairs = slice(2 * k + 1 + universe.n_units, 2 * k + 1 + universe.n_units + len(classes.unit))

    def capacities(self, q: Question) -> np.ndarray:
        u, n, k = self.universe, self.universe.n_towns, len(TIERS)
        enforced = np.array([tier in q.quotas for tier in range(k)])
        size = self.classes.size
        return np.concatenate([
            [q.quotas.get(tier, 0) for tier in range(k)], [n - sum(q.quotas.values())], np.where(enforced, 0, n),
            np.where(q.capped, np.minimum(u.unit_cap, n), n), np.where(q.allowed, size[self.classes.cls], 0),
            size]).astype(np.int64)

    def plan(self, q: Question) -> np.ndarray | None:
        """How many towns of each class each unit leads in a maximum flow (``y`` over the merged pairs), or None
        when the flow is below N: then no plan meets coverage, the quotas, the capacities and the pair rules."""
        if sum(q.quotas.values()) > self.universe.n_towns:
            return None
        self.flow.set_arcs_capacity(self.arcs, self.capacities(q))
        if self.flow.solve(self.source, self.sink) != self.flow.OPTIMAL or \
                self.flow.optimal_flow() < self.universe.n_towns:
            return None
        return np.asarray(self.flow.flows(self.arcs[self.pairs]), dtype=np.int64)

    def most(self, q: Question, weights: np.ndarray) -> tuple[int, np.ndarray] | None:
        """max Σ weights·y over the network's integral flows of value N, and a y reaching it (min-cost flow:
        exact, in integers); None when there is no such flow."""
        flow = min_cost_flow.SimpleMinCostFlow()
        costs = np.zeros(len(self.tails), dtype=np.int64)
        costs[self.pairs] = -weights
        flow.add_arcs_with_capacity_and_unit_cost(self.tails, self.heads, self.capacities(q), costs)
        n = self.universe.n_towns
        flow.set_node_supply(self.source, n)
        flow.set_node_supply(self.sink, -n)
        if flow.solve() != flow.OPTIMAL:
            return None
        return -int(flow.optimal_cost()), np.asarray(flow.flows(self.arcs[self.pairs]), dtype=np.int64)


LP_SCALE = 1 << 20
"""LP duals are scaled by this and rounded to integers before the exact min-cost flow checks the certificate."""


class FlowOracle:
    """Exact answers on twin classes: a max-flow; with side rows, also an LP certificate checked by a min-cost
    flow, and CP-SAT on the merged pairs only when neither decides.

    *Merging twins is exact.* Let every :class:`Forbid` group and every enforced :class:`Row` distinguish towns
    (:class:`Classes`). (⇒) A plan gives y = the number of towns of each class each unit leads: each class is
    covered ``size`` times, unit and tier totals are the plan's, and a group's count Σ x over its pairs equals
    Σ y over its merged pairs, membership depending on the unit and the class only. (⇐) Given integral y with
    those totals, hand each class's towns out to its units, y of them to each, in any order: every town gets one
    unit its class allows, and every count is the same. ∎ The network over classes is again a network with
    integral capacities, so its maximum flow is integral (module docstring).

    *Side rows* ``low_r ≤ a_r·y ≤ high_r``. Phase one of the LP (the network's rows, the side rows with slacks,
    minimise the slacks) is solved by GLOP. An integral optimal vertex with no slack is checked row by row in
    integers: a plan. A positive optimum gives duals μ_r (|μ_r| ≤ 1); every plan satisfies
    Σ μ_r a_r·y ≥ Σ μ_r t_r with t_r = low_r where μ_r > 0 and high_r where μ_r < 0, so when the network's
    integral maximum of Σ μ_r a_r·y (a min-cost flow, μ scaled to integers) falls below Σ μ_r t_r, no plan
    exists — a Farkas certificate checked in exact integer arithmetic, whatever the LP's tolerances.
    """

    def __init__(self, universe: Universe, constraints: Sequence[Constraint], deadline: float) -> None:
        self.universe, self.constraints, self.deadline = universe, constraints, deadline
        self.forbids = [i for i, c in enumerate(constraints) if isinstance(c, Forbid)]
        self.column = {group: j for j, group in enumerate(self.forbids)}
        self.forbid_bits = _packed(universe.n_pairs, [constraints[i].pairs for i in self.forbids])  # type: ignore[union-attr]
        self.forbid_keys = _town_keys(universe, self.forbid_bits)
        self.networks: dict[frozenset[int], Network] = {}
        self.on_classes: dict[tuple[frozenset[int], int], np.ndarray] = {}
        self.checks: Counter[str] = Counter()

    def _network(self, rows: frozenset[int]) -> Network:
        """The network whose classes the Forbid groups and the enforced ``rows`` distinguish (cached)."""
        if rows not in self.networks:
            keys = self.forbid_keys
            if rows:  # length-prefixed, so that the two parts cannot run into each other
                bits = _packed(self.universe.n_pairs, [self.constraints[i].pairs for i in sorted(rows)])  # type: ignore[union-attr]
                extra = _town_keys(self.universe, bits)
                keys = [len(key).to_bytes(8, "little") + key + more for key, more in zip(keys, extra, strict=True)]
            network = self.networks[rows] = Network(self.universe, Classes(self.universe, keys))
            rep = network.classes.rep
            forbidden = np.unpackbits(self.forbid_bits[rep], axis=1, count=len(self.forbids)).astype(bool)
            self.on_classes[rows, -1] = forbidden
            for i in rows:
                self.on_classes[rows, i] = np.isin(rep, self.constraints[i].pairs)  # type: ignore[union-attr]
        return self.networks[rows]

    def infeasible(self, active: Iterable[int]) -> bool:
        active = sorted(active)
        rows = [i for i in active if isinstance(self.constraints[i], Row)]
        key = frozenset(rows)
        network = self._network(key)
        quotas: dict[int, int] = {}
        capped = np.zeros(self.universe.n_units, dtype=bool)
        for i in active:
            match self.constraints[i]:
                case Quota(tier, quota):
                    quotas[tier] = quota
                case Capacity(units):
                    capped[units] = True
        forbidden = [self.column[i] for i in active if isinstance(self.constraints[i], Forbid)]
        idle = capped & (self.universe.unit_cap == 0)  # units that may lead no town: their pairs are out too
        allowed = ~self.on_classes[key, -1][:, forbidden].any(axis=1) & ~idle[network.classes.unit]
        q = Question(allowed=allowed, quotas=quotas, capped=capped,
                     rows=[(self.on_classes[key, i], self.constraints[i]) for i in rows])  # type: ignore[misc]
        self.checks["flow"] += 1
        y = network.plan(q)
        if y is None or any(row.low > row.high for _, row in q.rows):
            return True
        if _meets_rows(y, q):
            return False
        self.checks["lp"] += 1
        verdict, hint = self._lp(network, q)
        if verdict is not None:
            return verdict
        self.checks["cp-sat"] += 1
        return self._cp_sat_infeasible(network, q, y if hint is None else hint)

    def _lp(self, network: Network, q: Question) -> tuple[bool | None, np.ndarray | None]:
        """Phase one of the LP: (False, plan) for an integral plan, (True, None) for a checked certificate,
        (None, rounded LP point) when it decides nothing."""
        classes, u = network.classes, self.universe
        keep = np.flatnonzero(q.allowed)
        request = linear_solver_pb2.MPModelRequest(
            solver_type=linear_solver_pb2.MPModelRequest.GLOP_LINEAR_PROGRAMMING)
        model = request.model
        for size in classes.size[classes.cls[keep]].tolist():
            model.variable.add(lower_bound=0, upper_bound=size)

        def row(members: np.ndarray, low: float, high: float) -> linear_solver_pb2.MPConstraintProto:
            constraint = model.constraint.add(lower_bound=low, upper_bound=high)
            constraint.var_index.extend(members.tolist())
            constraint.coefficient.extend([1.0] * len(members))
            return constraint

        for members in _split(classes.cls[keep]):
            row(members, classes.size[classes.cls[keep[members[0]]]], classes.size[classes.cls[keep[members[0]]]])
        tiers = u.unit_tier[classes.unit[keep]]
        for tier, quota in q.quotas.items():
            row(np.flatnonzero(tiers == tier), quota, quota)
        for members in _split(classes.unit[keep]):
            unit = classes.unit[keep[members[0]]]
            if q.capped[unit]:
                row(members, 0, u.unit_cap[unit])
        first_side = len(model.constraint)
        for members, side in q.rows:
            constraint = row(np.flatnonzero(members[keep]), side.low, side.high)
            for sign in (1.0, -1.0):
                constraint.var_index.append(len(model.variable))
                constraint.coefficient.append(sign)
                model.variable.add(lower_bound=0, upper_bound=float("inf"), objective_coefficient=1)
        response = linear_solver_pb2.MPSolutionResponse()
        pywraplp.Solver.SolveWithProto(request, response)
        if response.status != linear_solver_pb2.MPSOLVER_OPTIMAL:
            return None, None
        point = np.zeros(len(q.allowed))
        point[keep] = np.asarray(response.variable_value)[:len(keep)]
        rounded = np.rint(point).astype(np.int64)
        if response.objective_value < 0.5:  # the LP is feasible: its point, or the network's plan nearest to it
            if np.abs(point - rounded).max(initial=0) < 1e-6 and self._plan_ok(network, q, rounded):
                return False, rounded
            nearest = network.most(q, np.rint(point * LP_SCALE).astype(np.int64))
            if nearest is not None and self._plan_ok(network, q, nearest[1]):
                return False, nearest[1]
        duals = np.asarray(response.dual_value)[first_side:]
        mu = np.rint(duals * LP_SCALE).astype(np.int64)
        for m in (mu, -mu):  # the certificate holds for one sign convention of the duals
            target = sum(int(m_r) * (side.low if m_r > 0 else side.high) for m_r, (_, side) in zip(m, q.rows,
                                                                                                   strict=True))
            weights = sum((int(m_r) * members.astype(np.int64) for m_r, (members, _) in zip(m, q.rows, strict=True)),
                          np.zeros(len(q.allowed), dtype=np.int64))
            most = network.most(q, weights)
            if m.any() and most is not None and most[0] < target:
                return True, None
        return None, rounded

    def _plan_ok(self, network: Network, q: Question, y: np.ndarray) -> bool:
        """Integral ``y`` meets every enforced group (checked directly, in integers)."""
        classes, u = network.classes, self.universe
        per_class = np.bincount(classes.cls, weights=y, minlength=len(classes.size))
        per_unit = np.bincount(classes.unit, weights=y, minlength=u.n_units)
        per_tier = np.bincount(u.unit_tier, weights=per_unit, minlength=len(TIERS))
        return bool((y >= 0).all() and (y[~q.allowed] == 0).all() and (per_class == classes.size).all()
                    and all(per_tier[tier] == quota for tier, quota in q.quotas.items())
                    and (per_unit[q.capped] <= u.unit_cap[q.capped]).all() and _meets_rows(y, q))

    def _cp_sat_infeasible(self, network: Network, q: Question, hint: np.ndarray) -> bool:
        """CP-SAT on the allowed merged pairs, the enforced groups as hard rows (no objective, one worker)."""
        classes, u = network.classes, self.universe
        keep = np.flatnonzero(q.allowed)
        model = cp_model.CpModel()
        proto = model.proto
        for size in classes.size[classes.cls[keep]]:
            proto.variables.add().domain.extend((0, int(size)))

        def linear(variables: np.ndarray, low: int, high: int) -> None:
            row = proto.constraints.add().linear
            row.vars.extend(variables.tolist())
            row.coeffs.extend([1] * len(variables))
            row.domain.extend([low, high])

        index = pd.Series(np.arange(len(keep)))
        for c, members in index.groupby(classes.cls[keep]).indices.items():
            linear(members, int(classes.size[c]), int(classes.size[c]))
        tiers = u.unit_tier[classes.unit[keep]]
        for tier, quota in q.quotas.items():
            linear(np.flatnonzero(tiers == tier), quota, quota)
        for unit, members in index.groupby(classes.unit[keep]).indices.items():
            if q.capped[unit]:
                linear(members, 0, int(u.unit_cap[unit]))
        for members, row in q.rows:
            linear(np.flatnonzero(members[keep]), row.low, row.high)
        proto.solution_hint.vars.extend(range(len(keep)))
        proto.solution_hint.values.extend(np.clip(hint[keep], 0, None).tolist())
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.cp_model_presolve = False  # measured: finds the plans of LP-feasible questions sooner
        solver.parameters.linearization_level = 2
        solver.parameters.max_time_in_seconds = max(0.01, self.deadline - time.perf_counter())
        status = solve_interruptibly(solver, model, None)
        if status == cp_model.INFEASIBLE:
            return True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        raise Undecided


def _split(keys: np.ndarray) -> list[np.ndarray]:
    """Positions grouped by equal ``keys`` (each group in increasing order)."""
    order = np.argsort(keys, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(keys[order])) + 1) if len(keys) else []


def _meets_rows(y: np.ndarray, q: Question) -> bool:
    return all(row.low <= int(y[members].sum()) <= row.high for members, row in q.rows)


class CpSatOracle:
    """The reference: every group behind an enforcement literal over the whole universe, answered by CP-SAT with
    the active groups' literals as assumptions (one worker, no objective)."""

    def __init__(self, universe: Universe, constraints: Sequence[Constraint], deadline: float) -> None:
        self.deadline = deadline
        self.checks: Counter[str] = Counter()
        self.model = cp_model.CpModel()
        x = [self.model.new_bool_var(f"x{i}") for i in range(universe.n_pairs)]
        for members in pd.Series(np.arange(universe.n_pairs)).groupby(universe.pair_town).indices.values():
            self.model.add_exactly_one(x[i] for i in members)
        if len(np.unique(universe.pair_town)) < universe.n_towns:
            self.model.add_bool_or([])  # a key town no unit may ever lead: coverage alone fails
        by_unit = pd.Series(np.arange(universe.n_pairs)).groupby(universe.pair_unit).indices
        tiers = universe.unit_tier[universe.pair_unit]
        self.literals = [self.model.new_bool_var(f"g{i}") for i in range(len(constraints))]
        for constraint, literal in zip(constraints, self.literals, strict=True):
            match constraint:
                case Forbid(pairs):
                    self.model.add(sum(x[i] for i in pairs) == 0).only_enforce_if(literal)
                case Quota(tier, quota):
                    self.model.add(sum(x[i] for i in np.flatnonzero(tiers == tier)) == quota).only_enforce_if(literal)
                case Capacity(units):
                    for unit in units:
                        members = by_unit.get(unit, [])
                        if len(members) > universe.unit_cap[unit]:
                            self.model.add(sum(x[i] for i in members) <= int(universe.unit_cap[unit])
                                           ).only_enforce_if(literal)
                case Row(pairs, low, high):
                    self.model.add_linear_constraint(sum(x[i] for i in pairs), low, high).only_enforce_if(literal)

    def infeasible(self, active: Iterable[int]) -> bool:
        self.checks["cp-sat"] += 1
        self.model.clear_assumptions()
        self.model.add_assumptions([self.literals[i] for i in active])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.cp_model_presolve = False  # on the 117k-pair Guangdong universe presolve alone takes > 60 s
        solver.parameters.linearization_level = 2
        solver.parameters.max_time_in_seconds = max(0.01, self.deadline - time.perf_counter())
        status = solve_interruptibly(solver, self.model, None)  # Ctrl-C stops it at once
        if status == cp_model.INFEASIBLE:
            return True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        raise Undecided
