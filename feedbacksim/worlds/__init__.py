"""Built-in worlds; importing this package registers them."""

from feedbacksim.worlds.policing import PolicingWorld
from feedbacksim.worlds.retention import RetentionWorld

__all__ = ["PolicingWorld", "RetentionWorld"]
