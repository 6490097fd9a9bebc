"""Built-in worlds; importing this package registers them."""

from feedbacksim.worlds.bandit import BanditWorld
from feedbacksim.worlds.data_feedback import DataFeedbackWorld
from feedbacksim.worlds.demand import DemandWorld, OrderUpToPolicy
from feedbacksim.worlds.lending import LendingWorld
from feedbacksim.worlds.lending_fico import FicoLendingWorld
from feedbacksim.worlds.model_collapse import ModelCollapseWorld
from feedbacksim.worlds.performative import PerformativeWorld
from feedbacksim.worlds.policing import PolicingWorld
from feedbacksim.worlds.pricing import (
    DemandPricingWorld,
    RepricingRule,
    RepricingWorld,
    SetValuePolicy,
)
from feedbacksim.worlds.recommender import RecommenderWorld, SlatePolicy
from feedbacksim.worlds.retention import RetentionWorld
from feedbacksim.worlds.strategic import StrategicClassificationWorld
from feedbacksim.worlds.tabular import TabularWorld

__all__ = [
    "BanditWorld",
    "DataFeedbackWorld",
    "DemandPricingWorld",
    "DemandWorld",
    "FicoLendingWorld",
    "LendingWorld",
    "ModelCollapseWorld",
    "OrderUpToPolicy",
    "PerformativeWorld",
    "PolicingWorld",
    "RecommenderWorld",
    "RepricingRule",
    "RepricingWorld",
    "RetentionWorld",
    "SetValuePolicy",
    "SlatePolicy",
    "StrategicClassificationWorld",
    "TabularWorld",
]
