"""Analyzers: read a Trace, return Findings; importing this package registers the built-ins."""

from feedbacksim.analyzers.base import Analyzer, Finding
from feedbacksim.analyzers.convergence import ConvergenceAnalyzer
from feedbacksim.analyzers.degradation import DegradationAnalyzer
from feedbacksim.analyzers.drift import DriftAnalyzer
from feedbacksim.analyzers.early_warning import EarlyWarningAnalyzer
from feedbacksim.analyzers.invariant import InvariantAnalyzer
from feedbacksim.analyzers.loop_amplification import LoopAmplificationAnalyzer
from feedbacksim.analyzers.monitoring import MonitoringAnalyzer
from feedbacksim.analyzers.retrain_health import RetrainHealthAnalyzer
from feedbacksim.analyzers.runaway import RunawayAnalyzer

__all__ = [
    "Analyzer",
    "ConvergenceAnalyzer",
    "DegradationAnalyzer",
    "DriftAnalyzer",
    "EarlyWarningAnalyzer",
    "Finding",
    "InvariantAnalyzer",
    "LoopAmplificationAnalyzer",
    "MonitoringAnalyzer",
    "RetrainHealthAnalyzer",
    "RunawayAnalyzer",
]
