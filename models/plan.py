"""Typed results: a plan (town → lead unit), a solve result around it, and an audit report."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .rules import Rule


class Assignment(BaseModel):
    """One lead pairing: ``unit_id`` leads ``town_id``, with the group's member units (rule ``groups``) if any."""

    model_config = ConfigDict(frozen=True)

    town_id: str
    unit_id: str
    members: tuple[str, ...] = Field((), description="Member units of the town's group, the lead not included.")


class Plan(BaseModel):
    """A set of lead pairings, sorted by town id so equal plans compare (and serialise) equal."""

    model_config = ConfigDict(frozen=True)

    assignments: tuple[Assignment, ...] = ()

    @classmethod
    def from_pairs(cls, pairs: dict[str, str] | list[tuple[str, str]]) -> Plan:
        """Build from ``{town_id: unit_id}`` or ``[(town_id, unit_id), ...]`` (duplicates are kept for the audit)."""
        items = pairs.items() if isinstance(pairs, dict) else pairs
        return cls(assignments=tuple(Assignment(town_id=t, unit_id=u) for t, u in sorted(items)))

    def lead_of(self) -> dict[str, str]:
        """town_id → unit_id (the last one wins if a town appears twice; the audit reports that case)."""
        return {a.town_id: a.unit_id for a in self.assignments}

    def members_of(self) -> dict[str, tuple[str, ...]]:
        """town_id → member unit ids of its group, for towns whose group has members."""
        return {a.town_id: a.members for a in self.assignments if a.members}

    def with_members(self, members: dict[str, tuple[str, ...]]) -> Plan:
        """The same leads, each town's group given the member units of ``members`` (none where absent)."""
        return Plan(assignments=tuple(a.model_copy(update={"members": tuple(members.get(a.town_id, ()))})
                                      for a in self.assignments))

    def __len__(self) -> int:
        return len(self.assignments)


class Status(StrEnum):
    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"
    MODEL_INVALID = "MODEL_INVALID"


class Conflict(BaseModel):
    """Why no plan exists, in policy words: the rules that clash, the entities and the figures."""

    model_config = ConfigDict(frozen=True)

    rules: tuple[Rule, ...]
    message: str
    message_zh: str = Field("", description="The same in Chinese, for the planners' documents.")
    entities: tuple[str, ...] = ()
    figures: dict[str, int] = Field(default_factory=dict)


class StageResult(BaseModel):
    """One stage of a lexicographic objective (``policy.objective_stages``) in the plan found."""

    model_config = ConfigDict(frozen=True)

    terms: tuple[str, ...]
    value: int = Field(description="Σ of the stage's terms over the plan (README objective terms).")
    bound: int | None = Field(None, description="Proven upper bound given the earlier stages; = value when optimal.")
    weight: int = Field(description="The stage's weight in the one exact objective that ranks the plans.")
    unit: int = Field(description="Greatest common divisor of the stage's pair values (its step).")


class SolveResult(BaseModel):
    """What one solve returns: the plan (when there is one) and the evidence of its quality."""

    model_config = ConfigDict(frozen=True)

    status: Status
    plan: Plan | None = None
    objective: int | None = Field(None, description="Σ of the chosen pairs' values (README formula).")
    best_bound: float | None = Field(None, description="Proven upper bound on the objective.")
    gap: float | None = Field(None, description="(bound − objective) / max(1, |objective|); 0 when optimal.")
    build_seconds: float
    solve_seconds: float
    variables: int
    constraints: int
    ortools_version: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str = Field("", description=(
        "SHA-256 of the normalised inputs (Scenario.fingerprint), computed after solve_seconds stopped."))
    path: str = Field("", description="What proved the result: network, lagrangian, restricted or cp-sat.")
    message: str = ""
    conflicts: tuple[Conflict, ...] = ()
    stages: tuple[StageResult, ...] = Field((), description="Lexicographic objectives: each stage's value, in order.")
    prices: dict[str, float] = Field(default_factory=dict, description=(
        "Network path: the Lagrangian multiplier of each side row at the bound (city quotas `tier_quota:<city>:"
        "<tier>`, change caps `continuity`/`baseline`, `lead_counts:<key>`), in points per town: what one more "
        "town on the row would be worth. `solve(warm=WarmStart(prices=...))` of a similar scenario starts there."))
    _warm_start: Any = PrivateAttr(default=None)

    @property
    def warm_start(self) -> Any:
        """Network path: where its Lagrangian search ended (an ``optimizer.network.WarmStart``: the prices and the
        plans it met), for ``solve(similar, warm=result.warm_start)``; None on the other paths. Not serialised."""
        return self._warm_start

    @property
    def has_plan(self) -> bool:
        return self.plan is not None and self.status in (Status.OPTIMAL, Status.FEASIBLE)


class Violation(BaseModel):
    """One broken rule found by the audit."""

    model_config = ConfigDict(frozen=True)

    rule: Rule
    message: str
    town_id: str | None = None
    unit_id: str | None = None


class AuditReport(BaseModel):
    """The audit's verdict plus the structure of the pairing graph (for reports)."""

    model_config = ConfigDict(frozen=True)

    violations: tuple[Violation, ...] = ()
    structure: dict[str, Any] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.violations

    def rules_broken(self) -> set[Rule]:
        return {v.rule for v in self.violations}
