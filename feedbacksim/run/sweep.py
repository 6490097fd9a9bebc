"""Running a sweep: every point of a scenario's ``sweep:`` block, over the same replication seeds.

The block itself (axes, points and their checks) is :mod:`feedbacksim.scenario.sweep_block`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from feedbacksim.core.lazy_import import UpwardCall, lazy_module
from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.run.directory import manifest, write_json
from feedbacksim.run.files import atomic_write_text
from feedbacksim.run.options import RunOptions
from feedbacksim.scenario.sweep_block import (
    DISTRIBUTIONS,
    MAX_POINTS,
    SPACES,
    Axis,
    SweepPlan,
    SweepPoint,
    check_sweep_size,
    parse_sweep,
    point_scenarios,
    short_value,
    sweep_problems,
)

if TYPE_CHECKING:
    import pandas as pd

    from feedbacksim.run.results import Results
    from feedbacksim.scenario.scenario import Scenario
else:
    pd = lazy_module("pandas")  # imported on first use: start-up stays light

# The block's names are kept here too: ``feedbacksim.sweep`` (the old path of this module)
# held them.
__all__ = [
    "DISTRIBUTIONS",
    "MAX_POINTS",
    "SPACES",
    "Axis",
    "SweepPlan",
    "SweepPoint",
    "SweepResults",
    "parse_sweep",
    "point_scenarios",
    "run_sweep",
    "sweep_problems",
]


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
    scenario: Scenario | None = None
    execution: dict[str, Any] = field(default_factory=dict)

    #: Draws a saved sweep's phase diagram and, when asked, its report (the report layer's
    #: :func:`~feedbacksim.report.saving.report_sweep`), imported on first use.
    reporter: ClassVar[Callable[[SweepResults, Path, bool], Any]] = UpwardCall(
        "feedbacksim.report.saving:report_sweep"
    )

    def save(self, directory: str | os.PathLike[str], report: bool = True) -> Path:
        """Write ``sweep.csv``, ``sweep.json``, ``manifest.json``, the phase diagram and the report."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "sweep.csv", self.to_frame().to_csv(index=False))
        write_json(out / "sweep.json", self.to_json())
        subject: dict[str, Any] = {
            "scenario": self.scenario.to_dict() if self.scenario else None,
            "source": str(self.scenario.source) if self.scenario and self.scenario.source else None,
            "points": len(self.points),
            "replications_per_point": self.replications,
            "overrides": self.scenario.overrides if self.scenario else {},
        }
        write_json(
            out / "manifest.json",
            manifest(subject, seed=self.seed, wall_time=self.wall_time, extra=self.execution),
        )
        SweepResults.reporter(self, out, report)
        return out

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
                    verdict=s.status if s.status in ("fail", "inconclusive") else "pass",
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


def sweep_plan(
    scenario: Scenario, plan: SweepPlan | None = None, replications: int | None = None
) -> tuple[SweepPlan, int]:
    """The plan and the replications per point, refused if the sweep is empty or too large.

    Nothing is built: the size is arithmetic, so a caller can check before it creates a
    run directory.
    """
    plan = plan or parse_sweep(scenario.spec.sweep)
    if not plan.axes:
        raise ScenarioError(Problem("the scenario has no sweep: block to run", keypath="sweep"))
    n = (
        replications
        if replications is not None
        else plan.replications or scenario.spec.replications
    )
    key = (
        "replications"
        if replications is not None or not plan.replications
        else "sweep.replications"
    )
    check_sweep_size(plan, n, key)
    return plan, n


def run_sweep(
    scenario: Scenario,
    plan: SweepPlan | None = None,
    replications: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
    **run_options: Any,
) -> SweepResults:
    """Run every point of ``plan`` (default: the scenario's ``sweep:`` block) with the same seeds.

    ``replications`` per point defaults to the block's ``replications``, then the
    scenario's. With ``directory`` every replication is written to
    ``directory/points/<point>/`` as it completes and ``resume`` skips complete ones;
    without, only findings are kept (a sweep's traces could fill memory).
    """
    from feedbacksim.run.runner import run_stored

    plan, n = sweep_plan(scenario, plan, replications)
    seed = scenario.spec.seed if seed is None else seed
    points = plan.points()
    scenarios = point_scenarios(scenario, points)
    started = time.perf_counter()
    chosen = RunOptions.of(options, **run_options)
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
        options=chosen,
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
        scenario,
        chosen.describe(),
    )
