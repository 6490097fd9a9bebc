"""Built-in worlds; importing this package registers them."""

from feedbacksim.worlds.policing import PolicingWorld
from feedbacksim.worlds.pricing import (
    DemandPricingWorld,
    RepricingRule,
    RepricingWorld,
    SetValuePolicy,
)
from feedbacksim.worlds.recommender import RecommenderWorld, SlatePolicy

__all__ = [
    "DemandPricingWorld",
    "PolicingWorld",
    "RecommenderWorld",
    "RepricingRule",
    "RepricingWorld",
    "SetValuePolicy",
    "SlatePolicy",
]
