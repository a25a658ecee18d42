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

**Side rows** cut across the network (a matrix with town rows and both unit and city-quota rows is not totally
unimodular: on a 4-cycle of pairs, a row over two opposite pairs takes 0 or 2, never 1), so with side rows
enforced: the network being infeasible proves infeasibility (it is a relaxation); the max-flow's plan meeting every
enforced row proves feasibility; otherwise CP-SAT decides, on the pairs the enforced groups leave (one worker, the
flow's plan as a hint).

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
from ortools.graph.python import max_flow
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


@dataclass(frozen=True)
class _Enforced:
    """What a subset of groups enforces, gathered by kind."""

    allowed: np.ndarray                 # pairs no enforced Forbid removes
    quotas: dict[int, int]              # tier → quota
    capped: np.ndarray                  # units whose capacity is enforced
    rows: list[Row]


def _enforced(universe: Universe, constraints: Sequence[Constraint], active: Iterable[int]) -> _Enforced:
    allowed = np.ones(universe.n_pairs, dtype=bool)
    capped = np.zeros(universe.n_units, dtype=bool)
    quotas: dict[int, int] = {}
    rows: list[Row] = []
    for i in active:
        match constraints[i]:
            case Forbid(pairs):
                allowed[pairs] = False
            case Quota(tier, quota):
                quotas[tier] = quota
            case Capacity(units):
                capped[units] = True
            case Row() as row:
                rows.append(row)
    return _Enforced(allowed, quotas, capped, rows)


def max_flow_plan(universe: Universe, allowed: np.ndarray, quotas: dict[int, int],
                  capped: np.ndarray) -> np.ndarray | None:
    """The plan of a maximum flow (a boolean over the universe's pairs), or None when its value is below N: then
    no plan meets coverage, the quotas of ``quotas``, the capacities of ``capped`` and the pair rules (module
    docstring)."""
    n = universe.n_towns
    source, free, tier0 = 0, 1, 2
    unit0 = tier0 + len(TIERS)
    town0 = unit0 + universe.n_units
    sink = town0 + n
    relaxed = [k for k in range(len(TIERS)) if k not in quotas]
    enforced = sorted(quotas)
    if sum(quotas.values()) > n:
        return None
    pair_unit, pair_town = universe.pair_unit[allowed], universe.pair_town[allowed]
    tails = np.concatenate([
        np.full(len(enforced) + 1, source), np.full(len(relaxed), free),
        tier0 + universe.unit_tier, unit0 + pair_unit, town0 + np.arange(n)])
    heads = np.concatenate([
        [tier0 + k for k in enforced], [free], [tier0 + k for k in relaxed],
        unit0 + np.arange(universe.n_units), town0 + pair_town, np.full(n, sink)])
    capacities = np.concatenate([
        [quotas[k] for k in enforced], [n - sum(quotas.values())], np.full(len(relaxed), n),
        np.where(capped, np.minimum(universe.unit_cap, n), n), np.ones(len(pair_unit) + n, dtype=np.int64)])
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), capacities.astype(np.int64))
    if flow.solve(source, sink) != flow.OPTIMAL or flow.optimal_flow() < n:
        return None
    first = len(enforced) + 1 + len(relaxed) + universe.n_units
    plan = np.zeros(universe.n_pairs, dtype=bool)
    plan[np.flatnonzero(allowed)] = flow.flows(np.arange(first, first + len(pair_unit))) == 1
    return plan


def _meets(plan: np.ndarray, row: Row) -> bool:
    return row.low <= int(plan[row.pairs].sum()) <= row.high


class FlowOracle:
    """Exact answers: a max-flow, and CP-SAT on the remaining pairs only when an enforced side row needs it."""

    def __init__(self, universe: Universe, constraints: Sequence[Constraint], deadline: float) -> None:
        self.universe, self.constraints, self.deadline = universe, constraints, deadline
        self.checks: Counter[str] = Counter()

    def infeasible(self, active: Iterable[int]) -> bool:
        enforced = _enforced(self.universe, self.constraints, active)
        self.checks["flow"] += 1
        plan = max_flow_plan(self.universe, enforced.allowed, enforced.quotas, enforced.capped)
        if plan is None:
            return True
        if all(_meets(plan, row) for row in enforced.rows):
            return False
        self.checks["cp-sat"] += 1
        return self._cp_sat_infeasible(enforced, plan)

    def _cp_sat_infeasible(self, enforced: _Enforced, hint: np.ndarray) -> bool:
        """CP-SAT on the allowed pairs with the enforced groups as hard rows (no objective, one worker)."""
        u = self.universe
        keep = np.flatnonzero(enforced.allowed)
        position = np.full(u.n_pairs, -1, dtype=np.int64)
        position[keep] = np.arange(len(keep))
        model = cp_model.CpModel()
        proto = model.proto
        for _ in range(len(keep)):
            proto.variables.add().domain.extend((0, 1))

        def linear(variables: np.ndarray, low: int, high: int) -> None:
            row = proto.constraints.add().linear
            row.vars.extend(variables.tolist())
            row.coeffs.extend([1] * len(variables))
            row.domain.extend([low, high])

        towns, units = u.pair_town[keep], u.pair_unit[keep]
        order = np.argsort(towns, kind="stable")
        for members in np.split(order, np.flatnonzero(np.diff(towns[order])) + 1):
            proto.constraints.add().exactly_one.literals.extend(members.tolist())
        tiers = u.unit_tier[units]
        for tier, quota in enforced.quotas.items():
            linear(np.flatnonzero(tiers == tier), quota, quota)
        by_unit = pd.Series(np.arange(len(keep))).groupby(units).indices
        for unit, members in by_unit.items():
            if enforced.capped[unit] and len(members) > u.unit_cap[unit]:
                linear(members, 0, int(u.unit_cap[unit]))
        for row in enforced.rows:
            members = position[row.pairs]
            linear(members[members >= 0], row.low, row.high)
        proto.solution_hint.vars.extend(range(len(keep)))
        proto.solution_hint.values.extend(hint[keep].astype(np.int64).tolist())
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = max(0.01, self.deadline - time.perf_counter())
        status = solve_interruptibly(solver, model, None)
        if status == cp_model.INFEASIBLE:
            return True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        raise Undecided


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
