"""Domain and scenario schema of bangfu: towns, helper units, relationships, policy, plan."""

from .errors import ScenarioError
from .loader import ScenarioFile, TablePaths, load_plan, load_scenario, read_table
from .plan import Assignment, AuditReport, Conflict, Plan, SolveResult, Status, Violation
from .policy import GroupPolicy, MemberRule, Policy, PriorityRule, SolverSettings, TargetLevel, TierRatio
from .rules import Rule
from .scenario import Scenario
from .staffing import Cadre, CadreRule, Rank, StaffingPolicy
from .tables import (Category, Counterpart, Pin, PinAction, Relationship, RelationshipKind, Score, Tier, Town, Unit,
                     UnitKind)

__all__ = [
    "Assignment", "AuditReport", "Cadre", "CadreRule", "Category", "Conflict", "Counterpart", "GroupPolicy", "MemberRule", "Pin", "PinAction", "Plan", "Policy", "PriorityRule", "Relationship",
    "RelationshipKind", "Rule", "Scenario", "ScenarioError", "ScenarioFile", "Score", "SolveResult", "SolverSettings",
    "StaffingPolicy", "Rank",
    "Status", "TablePaths", "TargetLevel", "Tier", "TierRatio", "Town", "Unit", "UnitKind", "Violation", "load_plan", "load_scenario", "read_table",
]
