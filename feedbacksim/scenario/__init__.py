"""The scenario layer: the format, reading with positions, extends and overrides, validation, the sweep block."""

from feedbacksim.scenario.scenario import Scenario, load

__all__ = ["Scenario", "load"]
