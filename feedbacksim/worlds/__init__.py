"""Built-in worlds; importing this package registers them."""

from feedbacksim.worlds.data_feedback import DataFeedbackWorld
from feedbacksim.worlds.policing import PolicingWorld
from feedbacksim.worlds.retention import RetentionWorld

__all__ = ["DataFeedbackWorld", "PolicingWorld", "RetentionWorld"]
