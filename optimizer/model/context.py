"""What every rule family's builder function receives: the model, the pair table, and proto writers.

Variable ``i`` of the model is the Boolean of row ``i`` of ``pairs`` (unit ``u`` leads town ``t``). Rules write
their rows straight into the CP-SAT proto from numpy index arrays: no Python loop over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from models import Rule, Scenario


@dataclass
class ModelContext:
    scenario: Scenario
    model: cp_model.CpModel
    pairs: pd.DataFrame
    constraints: dict[Rule, int] = field(default_factory=dict)

    def add_linear(self, rule: Rule, variables: np.ndarray, low: int, high: int) -> None:
        """``low ≤ Σ x[variables] ≤ high`` (unit coefficients)."""
        linear = self.model.proto.constraints.add().linear
        linear.vars.extend(variables.tolist())
        linear.coeffs.extend([1] * len(variables))
        linear.domain.extend([low, high])
        self.constraints[rule] = self.constraints.get(rule, 0) + 1

    def add_exactly_one(self, rule: Rule, variables: np.ndarray) -> None:
        self.model.proto.constraints.add().exactly_one.literals.extend(variables.tolist())
        self.constraints[rule] = self.constraints.get(rule, 0) + 1


def groups(keys: np.ndarray, size: int) -> list[np.ndarray]:
    """Variable indices grouped by ``keys`` (integers in ``range(size)``); empty groups included."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(size + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(size)]
