"""The bangfu model as a MIP for HiGHS: same candidate pairs, values and rules as the CP-SAT builder.

A yardstick for :func:`optimizer.solve.solve`, not a second solver for users: it returns figures, not a plan.
Each rule family is a vector giving every pair its row in that family (−1: none), so the whole constraint
matrix is assembled in numpy (CSR) and handed to HiGHS in one ``passModel`` call.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import highspy
import numpy as np
import pandas as pd

from models import Scenario, Tier
from optimizer.model import candidate_pairs, tier_quotas
from optimizer.model.continuity import keeps

INF = highspy.kHighsInf


class Family(NamedTuple):
    """Rows of one rule family: ``row[i]`` is pair i's row in the family (−1: not in it); bounds per row."""

    row: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _equal(row: np.ndarray, rhs: list[int]) -> Family:
    return Family(row, np.array(rhs, dtype=float), np.array(rhs, dtype=float))


def rule_families(scenario: Scenario, pairs: pd.DataFrame) -> list[Family]:
    """Coverage, tier quotas, city quotas, capacity, continuity and baseline rows, as the CP-SAT builder defines
    them (eligibility, priority and pins act through ``pairs``, as in the builder)."""
    policy = scenario.policy
    n_key = len(scenario.key_towns)
    tier = pairs["tier"].to_numpy()
    families = [_equal(pairs["t"].to_numpy(), [1] * n_key)]
    quotas = tier_quotas(n_key, policy.tier_ratio)
    tier_row = np.select([tier == t.value for t in Tier], list(range(len(Tier))), -1)
    families.append(_equal(tier_row, [quotas[t] for t in Tier]))
    if policy.city_quotas:
        # a pair has one city and one tier, so it falls in at most one city-quota row
        quota = pd.DataFrame([(city, t.value, n) for city, per_tier in policy.city_quotas.items()
                              for t, n in per_tier.items()], columns=["town_city", "tier", "quota"])
        quota["row"] = np.arange(len(quota))
        city_row = pairs[["town_city", "tier"]].merge(quota, how="left", on=["town_city", "tier"])["row"]
        families.append(_equal(city_row.fillna(-1).to_numpy(dtype=np.int64), quota["quota"].tolist()))
    # capacity: as in the CP-SAT builder, a row only for units with more eligible pairs than capacity
    per_unit = pairs.groupby("u").agg(capacity=("capacity", "first"), n=("t", "size"))
    binding = per_unit[per_unit["n"] > per_unit["capacity"]]
    rank = pd.Series(np.arange(len(binding)), index=binding.index)
    families.append(Family(rank.reindex(pairs["u"]).fillna(-1).to_numpy(dtype=np.int64),
                           np.zeros(len(binding)), binding["capacity"].to_numpy(dtype=float)))
    for keep in keeps(scenario):  # continuity and baseline: at least must_keep earlier leads stay
        if keep.must_keep > 0:
            families.append(Family(np.where(pairs[keep.column].to_numpy(dtype=bool), 0, -1),
                                   np.array([keep.must_keep], dtype=float), np.array([INF])))
    return families


class Csr(NamedTuple):
    """A 0/1 matrix in compressed-row form, with the bounds of its rows."""

    start: np.ndarray
    columns: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.lower)


def constraint_matrix(families: list[Family]) -> Csr:
    """Stack the families' rows into one 0/1 CSR matrix (columns within a row in pair order)."""
    offsets = np.cumsum([0] + [len(f.lower) for f in families])
    rows = np.concatenate([f.row[f.row >= 0] + offset for f, offset in zip(families, offsets[:-1], strict=True)])
    cols = np.concatenate([np.flatnonzero(f.row >= 0) for f in families])
    order = np.lexsort((cols, rows))
    start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=int(offsets[-1])))])
    return Csr(start.astype(np.int32), cols[order].astype(np.int32),
               np.concatenate([f.lower for f in families]), np.concatenate([f.upper for f in families]))


def solve_with_highs(scenario: Scenario, time_limit: float, seed: int = 0) -> dict[str, Any]:
    """Build and solve the MIP (maximise Σ value·x, x binary) and report it like :class:`models.SolveResult`.

    ``mip_rel_gap`` is 0, like CP-SAT's default ``relative_gap``: both must prove optimality to say OPTIMAL.
    Status is OPTIMAL, FEASIBLE (time limit with a solution), INFEASIBLE or UNKNOWN.
    """
    start = time.perf_counter()
    pairs, _ = candidate_pairs(scenario)
    n_cols = len(pairs)
    matrix = constraint_matrix(rule_families(scenario, pairs))
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", seed)
    passed = h.passModel(n_cols, matrix.n_rows, len(matrix.columns), highspy.MatrixFormat.kRowwise.value,
                         highspy.ObjSense.kMaximize.value, 0.0, pairs["value"].to_numpy(dtype=np.float64),
                         np.zeros(n_cols), np.ones(n_cols), matrix.lower, matrix.upper, matrix.start, matrix.columns,
                         np.ones(len(matrix.columns)),
                         np.full(n_cols, highspy.HighsVarType.kInteger.value, dtype=np.int32))
    if passed != highspy.HighsStatus.kOk:
        raise RuntimeError(f"HiGHS rejected the model: {passed}")
    build_seconds = time.perf_counter() - start
    start = time.perf_counter()
    h.run()
    solve_seconds = time.perf_counter() - start
    info, model_status = h.getInfo(), h.getModelStatus()
    has_plan = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible.value
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "OPTIMAL"
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = "INFEASIBLE"
    else:
        status = "FEASIBLE" if has_plan else "UNKNOWN"
    return {
        "status": status, "objective": round(info.objective_function_value) if has_plan else None,
        "bound": info.mip_dual_bound, "gap": info.mip_gap if has_plan else None,
        "build_seconds": build_seconds, "solve_seconds": solve_seconds,
        "pairs": n_cols, "variables": n_cols, "constraints": matrix.n_rows, "version": h.version(),
    }
