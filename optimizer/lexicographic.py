"""Lexicographic objectives (``policy.objective_stages``) by one exact integer weighting.

Stages name objective terms (:data:`optimizer.terms.TERMS`), e.g. ``[[continuity, baseline], [score, distance]]``:
the plan maximises stage 1; among the plans optimal for stage 1, stage 2; and so on. Terms named in no stage form
a last stage; in the overconstrained mode an unnamed ``unassigned`` goes first (fewest towns left out).

**Why weighting, not staged solves.** Each stage is linear in the pairs, so the whole order is one linear
objective with the right integer weights, and one solve gives the lexicographic optimum on every path,
including the network fast path (min-cost flow + Lagrangian bound), which proves the Guangdong optimum in about
a second, while CP-SAT alone needs minutes (``benchmarks/README.md``). Staged solves would add a value-weighted
row "stage i ≥ its optimum" per earlier stage, which the network cannot carry, so every stage after the first
would run on CP-SAT alone, with a time limit per stage and bounds that mean less.

**Why the weights are exact.** Every plan picks exactly one option per key town (a pair, or in the
overconstrained mode a vacancy). Stage ``i``'s value per option, ``v_i``, is an integer; divided by ``g_i``, the
greatest common divisor of all of them, it is ``n_i``, still an integer. Across plans the stage's total can
differ by at most ``R_i = Σ_t (max n_i − min n_i over town t's options)``. With ``M_last = 1`` and
``M_i = M_(i+1)·(R_(i+1) + 1)``, the rank ``W = Σ_i M_i·n_i`` has ``Σ_(j>i) M_j·R_j = M_i − 1 < M_i``, so a
plan ahead at stage ``i`` (by at least one unit ``g_i``, the stages before tied) is ahead in ``W`` by at least 1,
whatever the later stages do: maximising ``W`` is the lexicographic optimum, exactly. Dividing by ``g_i`` keeps
``W`` small (``continuity_weight`` 100 counts as 1 per kept lead). The weights are refused, with a
``ValueError``, when ``W`` would leave the integer range the network and CP-SAT handle exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import Plan, Scenario, Score, SolveResult, Status
from models.plan import StageResult

from .model import candidate_pairs
from .model.objective import pair_terms
from .model.unassigned import VACANCY
from .network import SCALE
from .terms import TERMS


@dataclass(frozen=True)
class Stage:
    """One stage: its terms, the divisor ``unit`` (g), the weight ``M`` and the range ``R`` of its total."""

    terms: tuple[str, ...]
    unit: int
    weight: int
    spread: int


@dataclass(frozen=True)
class Ranking:
    """The stages, each candidate pair's (and vacancy's) stage values, and the scenario whose objective is W."""

    stages: tuple[Stage, ...]
    pairs: pd.DataFrame            # candidate pairs (vacancies included) with one column per stage, and "value"
    ranked: Scenario


def stage_terms(scenario: Scenario, used: set[str]) -> list[tuple[str, ...]]:
    """The stages in order: the policy's, an unnamed ``unassigned`` first (overconstrained mode), then the other
    terms that are not zero on every pair (``used``) as the last stage."""
    policy = scenario.policy
    stages: list[tuple[str, ...]] = [tuple(stage) for stage in policy.objective_stages]
    named = {term for stage in stages for term in stage}
    if policy.allow_unassigned and "unassigned" not in named:
        stages.insert(0, ("unassigned",))
    rest = tuple(t for t in TERMS if t not in named and t != "unassigned" and t in used)
    return stages + [rest] if rest else stages


def value_limit(scenario: Scenario) -> int:
    """Largest |value| of a pair that the network path (costs ``SCALE``·value plus multipliers, scaled again by
    the node count inside the min-cost flow) and CP-SAT handle exactly, with a margin of 8."""
    nodes = len(scenario.units) + len(scenario.key_towns) + 7
    return 2**62 // (8 * SCALE * nodes)


def check_range(scenario: Scenario, largest: int, what: str) -> None:
    """Raise ``ValueError`` when the largest |value| of a pair is above :func:`value_limit` (never overflow)."""
    if largest > (limit := value_limit(scenario)):
        raise ValueError(f"{what} reach {largest:.3g} per pair, above the {limit:.3g} that the solvers handle "
                         "exactly on this scenario: use fewer stages, lower weights or a smaller unassigned_penalty")


def rank(scenario: Scenario) -> Ranking:
    """The exact weighting of the stages (module docstring) and the scenario that maximises it."""
    pairs, _ = candidate_pairs(scenario)
    vacancy = pairs[VACANCY].to_numpy()
    terms = {term: np.zeros(len(pairs), dtype=np.int64) for term in TERMS}
    for term, values in pair_terms(scenario, pairs[~vacancy]).items():
        terms[term][~vacancy] = values
    terms["unassigned"][vacancy] = pairs["value"].to_numpy()[vacancy]  # −penalty
    names = stage_terms(scenario, {term for term, values in terms.items() if values.any()})
    columns = {f"stage{i}": sum((terms[t] for t in stage), np.zeros(len(pairs), dtype=np.int64))
               for i, stage in enumerate(names)}
    town = pairs["t"].to_numpy()
    units, spreads = [], []
    for column in columns.values():
        unit = int(np.gcd.reduce(np.abs(column))) or 1
        per_town = pd.Series(column // unit).groupby(town)
        units.append(unit)
        spreads.append(int((per_town.max() - per_town.min()).sum()))
    weights = [1] * len(names)
    for i in range(len(names) - 2, -1, -1):
        weights[i] = weights[i + 1] * (spreads[i + 1] + 1)
    largest = sum(w * int(np.abs(c // u).max(initial=0)) for w, c, u in zip(weights, columns.values(), units,
                                                                            strict=True))
    check_range(scenario, largest, "objective_stages weights")
    w = sum((weight * (column // unit) for weight, column, unit in zip(weights, columns.values(), units,
                                                                        strict=True)),
            np.zeros(len(pairs), dtype=np.int64))
    scores = tuple(Score.model_construct(unit_id=u, town_id=t, score=int(v))  # candidate pairs: valid as they are
                   for u, t, v in zip(pairs["unit_id"][~vacancy], pairs["town_id"][~vacancy], w[~vacancy],
                                      strict=True))
    penalty = -int(w[vacancy][0]) if vacancy.any() else scenario.policy.unassigned_penalty
    policy = scenario.policy.model_copy(update={
        "continuity_weight": 0, "baseline_weight": 0, "distance_weight": 0.0, "objective_stages": [],
        "unassigned_penalty": penalty})
    stages = tuple(Stage(terms=stage, unit=u, weight=m, spread=r)
                   for stage, u, m, r in zip(names, units, weights, spreads, strict=True))
    return Ranking(stages=stages, pairs=pairs.assign(**columns),
                   ranked=scenario.model_copy(update={"scores": scores, "policy": policy}))


def solve_lexicographic(scenario: Scenario, solve: Callable[[Scenario], SolveResult]) -> SolveResult:
    """Solve ``scenario``'s stages in one exact solve (``solve`` runs the ranked scenario); the result has the
    README objective of the plan, each stage's value and, when the rank is proven optimal, its bound."""
    ranking = rank(scenario)
    result = solve(ranking.ranked)
    common = {"fingerprint": scenario.fingerprint(),
              "parameters": result.parameters | {"objective_stages": [list(s.terms) for s in ranking.stages]}}
    if result.plan is None:
        return result.model_copy(update=common)
    values = _option_values(ranking, result.plan)
    objective = int(values["value"].sum())
    optimal = result.status is Status.OPTIMAL
    stages = tuple(StageResult(terms=s.terms, value=int(values[f"stage{i}"].sum()), weight=s.weight, unit=s.unit,
                               bound=int(values[f"stage{i}"].sum()) if optimal else _first_bound(ranking, result, i))
                   for i, s in enumerate(ranking.stages))
    return result.model_copy(update=common | {
        "objective": objective, "best_bound": objective if optimal else None, "gap": 0.0 if optimal else None,
        "stages": stages, "message": result.message or "lexicographic: " + " > ".join(
            "+".join(s.terms) for s in ranking.stages)})


def _option_values(ranking: Ranking, plan: Plan) -> pd.DataFrame:
    """The chosen option of every key town: its pair, or a vacancy for a town the plan leaves unassigned."""
    pairs = ranking.pairs
    lead = plan.lead_of()
    chosen = pairs["unit_id"].to_numpy() == pairs["town_id"].map(lead).astype(object).fillna("\0").to_numpy()
    vacancies = pairs[pairs[VACANCY]].drop_duplicates("t")
    left = vacancies[~vacancies["town_id"].isin(lead)]
    return pd.concat([pairs[chosen & ~pairs[VACANCY].to_numpy()], left])


def _first_bound(ranking: Ranking, result: SolveResult, i: int) -> int | None:
    """Stage 0's bound from the rank's bound B (later stages: None): ``M_0·n_0 ≤ B − Σ_(j>0) M_j·min n_j``."""
    if i != 0 or result.best_bound is None or not math.isfinite(result.best_bound):
        return None
    pairs, town = ranking.pairs, ranking.pairs["t"]
    rest = sum(s.weight * int((pairs[f"stage{j}"] // s.unit).groupby(town).min().sum())
               for j, s in enumerate(ranking.stages) if j > 0)
    first = ranking.stages[0]
    return first.unit * math.floor((result.best_bound - rest) / first.weight)
