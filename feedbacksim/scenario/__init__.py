"""The scenario layer: the format, reading with positions, extends and overrides, validation, the sweep block."""

from typing import Any

from feedbacksim.scenario import scenario as _scenario
from feedbacksim.scenario.scenario import Scenario, load

__all__ = ["Scenario", "load"]


def __getattr__(name: str) -> Any:
    # The scenario module's other names, which ``feedbacksim.scenario`` held before it
    # became this package.
    try:
        return getattr(_scenario, name)
    except AttributeError:
        raise AttributeError(f"module 'feedbacksim.scenario' has no attribute {name!r}") from None
