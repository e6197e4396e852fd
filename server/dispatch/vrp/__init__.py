"""The day-plan solver core: the problem model, a Solomon reader, the solver behind
``solve`` and an independent feasibility ``check``. Pure Python data, no database."""

from server.dispatch.vrp import solomon
from server.dispatch.vrp.check import Violation, check
from server.dispatch.vrp.model import (
    Job,
    Objective,
    Problem,
    Route,
    Solution,
    Stop,
    Unassigned,
    Vehicle,
    Window,
)
from server.dispatch.vrp.solver import NoFeasiblePlan, solve

__all__ = [
    "Job",
    "NoFeasiblePlan",
    "Objective",
    "Problem",
    "Route",
    "Solution",
    "Stop",
    "Unassigned",
    "Vehicle",
    "Violation",
    "Window",
    "check",
    "solomon",
    "solve",
]
