"""feedbacksim: simulate the feedback loops of deployed machine-learning systems before they ship.

Describe a world, the deployed model and its retraining policy; run it forward many times;
get a verdict with evidence::

    import feedbacksim
    results = feedbacksim.load("scenarios/predictive_policing.yaml").run(replications=20)
    results.verdict, results.summaries, results.to_frame()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from feedbacksim.registry import register, registry

if TYPE_CHECKING:
    from feedbacksim.agent import Agent
    from feedbacksim.analyzers.base import Analyzer, Finding
    from feedbacksim.cases import Batch, Decision, Observations
    from feedbacksim.environment import Environment
    from feedbacksim.errors import ScenarioError
    from feedbacksim.results import Results
    from feedbacksim.scenario import Scenario, load
    from feedbacksim.simulation import Simulation
    from feedbacksim.trace import Trace

__version__ = "0.1.0"

# The public names, imported on first use: ``import feedbacksim`` (and so every command,
# ``--help`` included) stays light, and pandas or scikit-learn load only when needed.
_LAZY = {
    "Agent": "feedbacksim.agent",
    "Analyzer": "feedbacksim.analyzers.base",
    "Finding": "feedbacksim.analyzers.base",
    "Batch": "feedbacksim.cases",
    "Decision": "feedbacksim.cases",
    "Observations": "feedbacksim.cases",
    "Environment": "feedbacksim.environment",
    "ScenarioError": "feedbacksim.errors",
    "Results": "feedbacksim.results",
    "Scenario": "feedbacksim.scenario",
    "load": "feedbacksim.scenario",
    "Simulation": "feedbacksim.simulation",
    "Trace": "feedbacksim.trace",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'feedbacksim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Agent",
    "Analyzer",
    "Batch",
    "Decision",
    "Environment",
    "Finding",
    "Observations",
    "Results",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "Trace",
    "load",
    "register",
    "registry",
]
