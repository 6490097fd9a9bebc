"""feedbacksim: simulate the feedback loops of deployed machine-learning systems before they ship.

Describe a world, the deployed model and its retraining policy; run it forward many times;
get a verdict with evidence::

    import feedbacksim
    results = feedbacksim.load("scenarios/predictive_policing.yaml").run(replications=20)
    results.verdict, results.summaries, results.to_frame()
"""

import importlib
from pathlib import Path
from typing import Any

from feedbacksim import _moved
from feedbacksim.analyzers.base import Analyzer, Finding
from feedbacksim.core.agent import Agent
from feedbacksim.core.cases import Batch, Decision, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import register, registry
from feedbacksim.core.simulation import Simulation
from feedbacksim.core.trace import Trace
from feedbacksim.errors import ScenarioError
from feedbacksim.run.compare import Comparison, comparison_figure
from feedbacksim.run.results import Results
from feedbacksim.run.runner import run_scenario
from feedbacksim.run.sweep import SweepResults
from feedbacksim.scenario.scenario import Scenario, load

__version__ = "0.1.0"


def _write_report(directory: Path) -> dict[str, Path]:
    from feedbacksim.report import write_report  # matplotlib only when a report is drawn

    return write_report(directory)


def _report_sweep(sweep: SweepResults, directory: Path, report: bool) -> None:
    from feedbacksim.report.phase import phase_diagram

    phase_diagram(sweep, directory / "phase_diagram.png")
    if report:
        _write_report(directory)


def _report_comparison(comparison: Comparison, directory: Path, report: bool) -> None:
    comparison_figure(comparison, directory / "comparison.png")
    if report:
        _write_report(directory)


# The facades of the lower layers, wired here so that no layer imports one above it.
Scenario.runner = run_scenario
Results.reporter = _write_report
SweepResults.reporter = _report_sweep
Comparison.reporter = _report_comparison
_moved.install()


def __getattr__(name: str) -> Any:
    # ``feedbacksim.agent`` and the other modules that moved into a layer folder.
    if f"feedbacksim.{name}" in _moved.MOVED:
        return importlib.import_module(f"feedbacksim.{name}")
    raise AttributeError(f"module 'feedbacksim' has no attribute {name!r}")


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
