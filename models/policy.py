"""Policy and solver blocks of a scenario file."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .funding import FundingPolicy
from .tables import Tier, UnitKind  # before .staffing, which builds on the table rows
from .staffing import StaffingPolicy

Flag = Literal["border", "ethnic", "old_base"]
Method = Literal["auto", "cp-sat"]
ObjectiveTerm = Literal["score", "continuity", "baseline", "distance", "unassigned"]
"""The terms of the objective (:data:`optimizer.terms.TERMS`), as ``objective_stages`` names them."""
MAX_PENALTY = 10**9
"""Largest ``unassigned_penalty``: its multiples over every key town stay inside the solvers' 64-bit integers."""
MAX_COUNT = 1_000_000_000
"""Upper bound of every count and share in a policy: far above any real one, and safely inside the 64-bit
integers of the solver (a quota of 10**23 used to crash the model builder)."""
NonNegInt = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class TargetLevel(StrEnum):
    """What the plan pairs helper units with. The ``towns`` table lists the targets either way (for counties one
    row per county, its ``county`` being itself); only the words of messages and reports change."""

    TOWN = "town"      # 驻镇帮镇扶村: key towns (the default)
    COUNTY = "county"  # 纵向帮扶 (2023): counties and county-level cities

    @property
    def plural(self) -> str:
        return "counties" if self is TargetLevel.COUNTY else "towns"

    @property
    def zh(self) -> str:
        return "县" if self is TargetLevel.COUNTY else "镇"


class Block(BaseModel):
    """Policy blocks are strict about unknown keys: a typo must not silently drop a rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TierRatio(Block):
    """Ratio of key towns led by each tier. The default is the programme's 5:2:3.

    Rounding rule (largest remainder): each tier gets ``floor(N·r/Σr)`` towns; the towns left over go one
    each to the tiers with the largest fractional parts, ties to the earlier tier in prd, provincial, local
    order. For 600 towns this gives exactly 300/120/180.
    """

    prd: NonNegInt = 5
    provincial: NonNegInt = 2
    local: NonNegInt = 3

    @model_validator(mode="after")
    def _not_all_zero(self) -> TierRatio:
        if self.prd + self.provincial + self.local == 0:
            raise ValueError("tier_ratio must have at least one positive share")
        return self

    def share(self, tier: Tier) -> int:
        return int(getattr(self, tier.value))


class PriorityRule(Block):
    """Towns carrying any of ``flags`` must be led by a unit of ``tiers`` with strength ≥ ``min_strength``."""

    flags: list[Flag] = Field(min_length=1)
    tiers: list[Tier] | None = Field(None, min_length=1, description="Allowed tiers; empty means any tier.")
    min_strength: int | None = Field(None, ge=1, le=5)

    @model_validator(mode="after")
    def _requires_something(self) -> PriorityRule:
        if self.tiers is None and self.min_strength is None:
            raise ValueError("a priority rule needs 'tiers' or 'min_strength'")
        return self


class MemberRule(Block):
    """Each group of a selected target has between ``min`` and ``max`` member units of ``kinds``.

    A target is selected when it matches every non-empty selector, each by any of its values: its city is in
    ``cities``, one of its need tags is in ``needs``, one of its flags is in ``flags``. No selector: every target.
    E.g. ``{kinds: [enterprise, institution]}`` (at least one) and ``{kinds: [research], needs: [industry]}``.
    """

    kinds: list[UnitKind] = Field(min_length=1, description="Member unit kinds this rule counts.")
    min: NonNegInt = Field(1, description="Fewest member units of these kinds per selected group.")
    max: NonNegInt | None = Field(None, description="Most member units of these kinds per selected group; empty: no cap.")
    cities: list[str] = Field(default_factory=list, description="Targets in any of these cities; empty: any city.")
    needs: list[str] = Field(default_factory=list, description="Targets with any of these need tags; empty: any.")
    flags: list[Flag] = Field(default_factory=list, description="Targets with any of these flags; empty: any.")

    @model_validator(mode="after")
    def _bounds(self) -> MemberRule:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        if self.min == 0 and self.max is None:
            raise ValueError("a member rule needs min ≥ 1 or a max")
        if len(set(self.kinds)) < len(self.kinds):
            raise ValueError("a kind is listed twice")
        return self


class GroupPolicy(Block):
    """Group composition (组团): the member units joining each target's lead unit. See README, "Groups"."""

    member_rules: list[MemberRule] = Field(default_factory=list)
    member_continuity_weight: int = Field(0, ge=0, le=1_000_000, description="Objective points per previous "
                                          "member unit (previous_member relationship) kept in its town's group.")
    max_members: NonNegInt | None = Field(None, description="Most member units per group (the lead not counted); "
                                          "empty: no cap.")
    members_share_lead_city: bool = Field(True, description="PRD and local member units join only groups whose lead "
                                          "unit is of their own city (a city's organs and its enterprises help as one "
                                          "group); provincial member units join any group.")


class Policy(Block):
    """The rules and weights of the plan. Objective: maximise Σ chosen pairs' values (see README)."""

    tier_ratio: TierRatio = TierRatio()
    city_quotas: dict[str, dict[Tier, NonNegInt]] = Field(
        default_factory=dict,
        description="Optional exact towns per tier within a city, e.g. 湛江市: {prd: 24, provincial: 15, local: 17}.",
    )
    continuity_weight: int = Field(0, ge=0, le=1_000_000, description="Objective points per kept previous lead.")
    max_changes: NonNegInt | Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="Most previous leads that may change: an integer count, or a fraction (0.1 = 10 %, rounded down) "
        "of the towns that have a previous lead. Empty: no cap.",
    )
    baseline_weight: int = Field(1000, ge=0, le=1_000_000, description="Objective points per town that keeps its "
                                 "lead from the baseline plan (only with a baseline): stability first.")
    max_baseline_changes: NonNegInt | Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="Most key towns whose lead may differ from the baseline plan: a count or a fraction.")
    distance_weight: float = Field(0.0, ge=0, le=1_000, description="Objective points lost per km unit→town.")
    priority: list[PriorityRule] = Field(default_factory=list)
    allow_unassigned: bool = Field(False, description="Overconstrained mode: a key town may stay without a lead "
                                   "(each costs unassigned_penalty) and quotas are met by leads plus one vacancy per "
                                   "unassigned town, so a scenario without a complete plan gets its best partial plan.")
    unassigned_penalty: int | None = Field(None, ge=1, le=MAX_PENALTY, description="Objective points lost per key "
                                           "town left unassigned (allow_unassigned). Empty: automatic, the smallest "
                                           "figure of models.penalty that makes any complete plan beat every "
                                           "partial one.")
    objective_stages: list[list[ObjectiveTerm]] = Field(
        default_factory=list, description="Lexicographic objectives: stages of objective terms, e.g. "
        "[[continuity, baseline], [score, distance]]; each stage is maximised with the earlier stages held at their "
        "optimum. Terms named in no stage form a last stage. Empty: one objective, the sum of all terms.")
    target_level: TargetLevel = Field(TargetLevel.TOWN, description="What the targets (rows of `towns`) are: "
                                      "town (default) or county; reports and messages use the word.")
    lead_counts: dict[str, NonNegInt] = Field(
        default_factory=dict,
        description="Exact number of targets led by a unit (keyed by its unit_id) or by all units of a "
        "`quota_group` together, e.g. {深圳市直单位: 40, prd-sz-futian: 5} (Shenzhen's teams per leader, 2022).",
    )
    groups: GroupPolicy = GroupPolicy()
    funding: FundingPolicy = Field(FundingPolicy(), description="Yearly funding per town and who pays it "
                                   "(bangfu budget); the pairing ignores it.")
    staffing: StaffingPolicy = StaffingPolicy()

    @model_validator(mode="after")
    def _stages_name_each_term_once(self) -> Policy:
        named = [term for stage in self.objective_stages for term in stage]
        if any(not stage for stage in self.objective_stages):
            raise ValueError("objective_stages: a stage needs at least one term")
        if len(named) != len(set(named)):
            raise ValueError(f"objective_stages: each term may appear in one stage only (got {self.objective_stages})")
        return self


class SolverSettings(Block):
    """CP-SAT settings (see :func:`optimizer.solve`)."""

    method: Method = Field("auto", description="auto: the network path (min-cost flow with a Lagrangian bound) "
                           "and CP-SAT where it cannot prove the optimum; cp-sat: CP-SAT on the full model only.")
    time_limit: float = Field(60.0, gt=0, description="Wall-clock limit in seconds.")
    workers: int = Field(1, ge=1, le=64, description="CP-SAT search workers (memory grows with them). One worker "
                         "is the fastest profile measured on the pairing models on 2 cores, and always repeatable.")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    relative_gap: float = Field(0.0, ge=0, le=1, description="Stop when the gap is at most this (0 = prove optimal).")
    presolve: bool = Field(True, description="CP-SAT presolve. Its probing costs seconds on large pairing models "
                           "and removes little there; the shipped Guangdong scenario turns it off.")
    deterministic: bool = Field(
        True, description="Interleaved parallel search: same scenario, seed and workers give the same plan, as long "
        "as the time limit is not hit. Off: CP-SAT's faster, non-deterministic portfolio.")
    log: bool = Field(False, description="Print CP-SAT's search log.")
