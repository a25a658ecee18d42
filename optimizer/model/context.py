"""What every rule family's builder function receives: the model, the pair table and its variables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from ortools.sat.python import cp_model

from models import Rule, Scenario


@dataclass
class ModelContext:
    """``pairs`` holds one row per eligible (unit, key town) pair; ``x`` its Boolean, same index."""

    scenario: Scenario
    model: cp_model.CpModel
    pairs: pd.DataFrame
    x: pd.Series
    constraints: dict[Rule, int] = field(default_factory=dict)

    def count(self, rule: Rule, n: int) -> None:
        self.constraints[rule] = self.constraints.get(rule, 0) + n
