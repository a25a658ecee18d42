"""The CP-SAT model, one module per rule family (ids in :class:`models.Rule`)."""

from .build import BuiltModel, build_model, candidate_pairs
from .tier_quota import tier_quotas

__all__ = ["BuiltModel", "build_model", "candidate_pairs", "tier_quotas"]
