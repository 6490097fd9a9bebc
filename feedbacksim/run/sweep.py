"""Running a sweep: every point of a scenario's ``sweep:`` block, over the same replication seeds.

The block itself (axes, points and their checks) is :mod:`feedbacksim.scenario.sweep_block`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.scenario.sweep_block import (
    SweepPlan,
    SweepPoint,
    parse_sweep,
    point_scenarios,
    short_value,
)

if TYPE_CHECKING:
    from feedbacksim.run.executors import Executor
    from feedbacksim.run.progress import Progress
    from feedbacksim.run.results import Results
    from feedbacksim.scenario.scenario import Scenario

__all__ = ["SweepResults", "parse_sweep", "point_scenarios", "run_sweep"]


@dataclass
class SweepResults:
    """Results of every point of a sweep, with the plan that produced them."""

    plan: SweepPlan
    points: list[SweepPoint]
    results: list[Results]
    seed: int
    replications: int
    wall_time: float = 0.0
    scenario_name: str = ""
    analyzers: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per point and analyzer: the point's values, fail fraction and 95% Wilson interval."""
        rows = []
        for point, results in zip(self.points, self.results, strict=True):
            for s in results.summaries:
                row: dict[str, Any] = {"point": point.index}
                row.update({path: _cell(v) for path, v in point.overrides.items()})
                row.update(
                    analyzer=s.analyzer,
                    replications=s.replications,
                    failed_replications=s.failed_replications,
                    fail_fraction=s.fail_fraction,
                    lower=s.interval[0],
                    upper=s.interval[1],
                    median_detection=s.median_detection,
                    verdict="fail" if s.failed else "pass",
                )
                rows.append(row)
        return pd.DataFrame(rows)

    def fail_counts(self, analyzer: str) -> np.ndarray:
        """Failed replications of ``analyzer`` per point, shaped like the grid of axes."""
        counts = []
        for results in self.results:
            match = [s for s in results.summaries if s.analyzer == analyzer]
            if not match:
                raise KeyError(f"no analyzer named {analyzer!r}; known: {self.analyzers}")
            counts.append(match[0].failed_replications)
        return np.asarray(counts).reshape(tuple(len(a) for a in self.plan.axes))

    def to_json(self) -> dict[str, Any]:
        """The ``sweep.json`` document: the plan and every point's analyzer summaries."""
        return {
            "scenario": self.scenario_name,
            "seed": self.seed,
            "replications_per_point": self.replications,
            "plan": self.plan.to_dict(),
            "points": [
                {
                    "point": p.index,
                    "overrides": p.overrides,
                    "verdict": r.verdict,
                    "analyzers": [s.to_dict() for s in r.summaries],
                }
                for p, r in zip(self.points, self.results, strict=True)
            ],
        }


def _cell(value: Any) -> Any:
    return short_value(value) if isinstance(value, list | tuple | dict) else value


def run_sweep(
    scenario: Scenario,
    plan: SweepPlan | None = None,
    replications: int | None = None,
    seed: int | None = None,
    *,
    executor: str | Executor | None = None,
    workers: int | None = None,
    address: str | None = None,
    directory: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> SweepResults:
    """Run every point of ``plan`` (default: the scenario's ``sweep:`` block) with the same seeds.

    ``replications`` per point defaults to the block's ``replications``, then the
    scenario's. With ``directory`` every replication is written to
    ``directory/points/<point>/`` as it completes and ``resume`` skips complete ones;
    without, only findings are kept (a sweep's traces could fill memory).
    """
    from feedbacksim.run.runner import run_stored

    plan = plan or parse_sweep(scenario.spec.sweep)
    if not plan.axes:
        raise ScenarioError(Problem("the scenario has no sweep: block to run", keypath="sweep"))
    n = (
        replications
        if replications is not None
        else plan.replications or scenario.spec.replications
    )
    seed = scenario.spec.seed if seed is None else seed
    points = plan.points()
    scenarios = point_scenarios(scenario, points)
    started = time.perf_counter()
    results = run_stored(
        scenarios,
        n,
        seed,
        {
            "kind": "sweep",
            "scenario": scenario.to_dict(),
            "plan": plan.to_dict(),
            "seed": seed,
            "replications": n,
        },
        [f"points/{p.index:04d}" for p in points],
        keep_traces=False,
        executor=executor,
        workers=workers,
        address=address,
        directory=directory,
        resume=resume,
        progress=progress,
    )
    return SweepResults(
        plan,
        points,
        results,
        seed,
        n,
        time.perf_counter() - started,
        scenario.name,
        [a.name for a in scenario.analyzers()],
    )
