"""Running replications: seeds, analysis of each trace, aggregation into Results."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from feedbacksim.analyzers.base import Finding
from feedbacksim.results import Results
from feedbacksim.seeding import replication_sequences
from feedbacksim.trace import Trace

if TYPE_CHECKING:
    import numpy as np

    from feedbacksim.scenario import Scenario


def run_replication(
    scenario: Scenario, index: int, seed: np.random.SeedSequence
) -> tuple[Trace, list[Finding]]:
    """Simulate replication ``index`` (with its open-loop twin and online checks when asked) and analyze it."""
    from feedbacksim.analyzers.running import analyze_replication

    return analyze_replication(scenario, index, seed)


def run_scenario(scenario: Scenario, replications: int, seed: int) -> Results:
    """Run ``replications`` replications serially; replication i gets child i of ``seed``."""
    started = time.perf_counter()
    traces, findings = [], []
    for index, child in enumerate(replication_sequences(seed, replications)):
        trace, found = run_replication(scenario, index, child)
        traces.append(trace)
        findings.extend(found)
    return Results(
        scenario, traces, findings, scenario.analyzers(), seed, time.perf_counter() - started
    )
