"""Built-in worlds; importing this package registers them."""

from feedbacksim.worlds.demand import DemandWorld, OrderUpToPolicy
from feedbacksim.worlds.model_collapse import ModelCollapseWorld
from feedbacksim.worlds.performative import PerformativeWorld
from feedbacksim.worlds.policing import PolicingWorld
from feedbacksim.worlds.strategic import StrategicClassificationWorld

__all__ = [
    "DemandWorld",
    "ModelCollapseWorld",
    "OrderUpToPolicy",
    "PerformativeWorld",
    "PolicingWorld",
    "StrategicClassificationWorld",
]
