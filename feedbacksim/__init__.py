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

from feedbacksim import _moved

if TYPE_CHECKING:
    from feedbacksim.analyzers.base import Analyzer, Finding
    from feedbacksim.core.agent import Agent
    from feedbacksim.core.cases import Batch, Decision, Observations
    from feedbacksim.core.environment import Environment
    from feedbacksim.core.registry import register, registry
    from feedbacksim.core.simulation import Simulation
    from feedbacksim.core.trace import Trace
    from feedbacksim.errors import ScenarioError
    from feedbacksim.run.compare import Comparison
    from feedbacksim.run.results import Results
    from feedbacksim.run.runner import run_scenario
    from feedbacksim.run.sweep import SweepResults
    from feedbacksim.scenario.scenario import Scenario, load

__version__ = "0.1.0"

#: Where each exported name lives; it is imported on first access (PEP 562), so that
#: ``import feedbacksim`` (and the command line, which imports it) pays only for what is used.
_EXPORTS = {
    "Agent": "feedbacksim.core.agent",
    "Analyzer": "feedbacksim.analyzers.base",
    "Batch": "feedbacksim.core.cases",
    "Comparison": "feedbacksim.run.compare",
    "Decision": "feedbacksim.core.cases",
    "Environment": "feedbacksim.core.environment",
    "Finding": "feedbacksim.analyzers.base",
    "Observations": "feedbacksim.core.cases",
    "Results": "feedbacksim.run.results",
    "Scenario": "feedbacksim.scenario.scenario",
    "ScenarioError": "feedbacksim.errors",
    "SweepResults": "feedbacksim.run.sweep",
    "Simulation": "feedbacksim.core.simulation",
    "Trace": "feedbacksim.core.trace",
    "load": "feedbacksim.scenario.scenario",
    "register": "feedbacksim.core.registry",
    "registry": "feedbacksim.core.registry",
    "run_scenario": "feedbacksim.run.runner",
}

_moved.install()


def __getattr__(name: str) -> Any:
    """An exported name, imported on first access; or a module that moved into a layer folder."""
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later reads skip this function
        return value
    # ``feedbacksim.agent`` and the other modules that moved into a layer folder.
    if f"feedbacksim.{name}" in _moved.MOVED:
        return importlib.import_module(f"feedbacksim.{name}")
    raise AttributeError(f"module 'feedbacksim' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names with the exports that are not imported yet."""
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "Agent",
    "Analyzer",
    "Batch",
    "Comparison",
    "Decision",
    "Environment",
    "Finding",
    "Observations",
    "Results",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SweepResults",
    "Trace",
    "load",
    "register",
    "registry",
    "run_scenario",
]
