"""feedbacksim: simulate the feedback loops of deployed machine-learning systems before they ship.

Describe a world, the deployed model and its retraining policy; run it forward many times;
get a verdict with evidence::

    import feedbacksim
    results = feedbacksim.load("scenarios/predictive_policing.yaml").run(replications=20)
    results.verdict, results.summaries, results.to_frame()
"""

from feedbacksim.agent import Agent
from feedbacksim.analyzers.base import Analyzer, Finding
from feedbacksim.cases import Batch, Decision, Observations
from feedbacksim.environment import Environment
from feedbacksim.errors import ScenarioError
from feedbacksim.registry import register, registry
from feedbacksim.results import Results
from feedbacksim.scenario import Scenario, load
from feedbacksim.simulation import Simulation
from feedbacksim.trace import Trace

__version__ = "0.1.0"

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
