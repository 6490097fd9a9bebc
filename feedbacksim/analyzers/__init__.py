"""Analyzers: read a Trace, return Findings; importing this package registers the built-ins."""

from feedbacksim.analyzers.base import Analyzer, Finding
from feedbacksim.analyzers.runaway import RunawayAnalyzer

__all__ = ["Analyzer", "Finding", "RunawayAnalyzer"]
