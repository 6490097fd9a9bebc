"""Built-in worlds; importing this package registers them."""

from feedbacksim.worlds.bandit import BanditWorld
from feedbacksim.worlds.lending import LendingWorld
from feedbacksim.worlds.policing import PolicingWorld

__all__ = ["BanditWorld", "LendingWorld", "PolicingWorld"]
