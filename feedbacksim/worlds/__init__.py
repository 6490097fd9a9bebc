"""Built-in worlds; importing this package registers them."""

from feedbacksim.worlds.policing import PolicingWorld
from feedbacksim.worlds.recommender import RecommenderWorld, SlatePolicy

__all__ = ["PolicingWorld", "RecommenderWorld", "SlatePolicy"]
