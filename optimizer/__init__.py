"""bangfu's optimizer: build and solve the CP-SAT model, audit plans independently, report them.

>>> from optimizer import load_scenario, solve, audit
"""

from models import load_scenario

from .audit import audit, pairing_graph, plan_value
from .report import plan_frame
from .solve import solve

__all__ = ["audit", "load_scenario", "pairing_graph", "plan_frame", "plan_value", "solve"]
