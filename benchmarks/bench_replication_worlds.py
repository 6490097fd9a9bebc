"""The replication axis beyond policing and the bandit: retention, attention, pricing, data feedback.

Run: ``python benchmarks/bench_replication_worlds.py [--replications 100]
[--serial-sample 10] [--scenarios retention.yaml ...]``. For each shipped scenario at its
own horizon, CPU seconds (``time.process_time``) of:

* ``kernel``: the world's batched kernel (``run_batch``) over R replications, in batches
  of ``MAX_BATCH``: the simulation alone (streams, traces, event logs);
* ``run``: ``Scenario.run`` with R replications, serial executor, in memory: the batched
  path with every replication analyzed;
* ``serial``: the per-replication path (one Simulation each, batching turned off as
  ``bench_replications.py`` does) on ``--serial-sample`` replications, scaled to R.

The load average is printed; on a shared machine (load above the number of cores) the
ratios hold better than the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedbacksim
from feedbacksim.core.seeding import replication_sequences
from feedbacksim.run import runner
from feedbacksim.run.batched import MAX_BATCH, batchable, kernel

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT = (
    "retention.yaml",
    "retention_mitigated.yaml",
    "attention_dynamic.yaml",
    "attention_dynamic_mitigated.yaml",
    "pricing.yaml",
    "pricing_mitigated.yaml",
    "data_feedback.yaml",
    "data_feedback_mitigated.yaml",
)


def cpu(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """CPU seconds of ``fn(*args, **kwargs)``."""
    started = time.process_time()
    fn(*args, **kwargs)
    return time.process_time() - started


def run_kernel(scenario: feedbacksim.Scenario, replications: int, seed: int) -> None:
    """The batched kernel alone over ``replications`` replications."""
    module = kernel(scenario.spec)
    seeds = replication_sequences(seed, replications)
    for start in range(0, replications, MAX_BATCH):
        chunk = list(range(start, min(replications, start + MAX_BATCH)))
        module.run_batch(scenario.spec, [seeds[i] for i in chunk], chunk)


def serial_run(scenario: feedbacksim.Scenario, replications: int, seed: int) -> None:
    """``Scenario.run`` with the replication axis turned off: one Simulation per replication."""
    real = runner.batchable
    runner.batchable = lambda scenario: False
    try:
        scenario.run(replications=replications, seed=seed, executor="serial")
    finally:
        runner.batchable = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--serial-sample", type=int, default=10)
    parser.add_argument("--scenarios", nargs="+", default=list(DEFAULT))
    args = parser.parse_args()
    r = args.replications
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"CPU seconds, R = {r} replications; load average {load} ({os.cpu_count()} cores)")
    print(
        f"{'scenario':>32} {'T':>5} {'kernel':>8} {'run':>8} {'serial (scaled)':>15} "
        f"{'serial/run':>10}"
    )
    for name in args.scenarios:
        scenario = feedbacksim.load(SCENARIOS / name)
        if not batchable(scenario):
            print(f"{name:>32}: not batchable, skipped")
            continue
        warm = scenario.with_overrides({"horizon": 3})  # imports and caches, both paths
        warm.run(replications=2, executor="serial")
        serial_run(warm, 1, 7)
        ours = cpu(run_kernel, scenario, r, 7)
        run = cpu(scenario.run, r, 7, executor="serial")
        sample = min(r, args.serial_sample)
        serial = cpu(serial_run, scenario, sample, 7) * r / sample
        print(
            f"{name:>32} {scenario.spec.horizon:>5g} {ours:>8.2f} {run:>8.2f} "
            f"{serial:>15.2f} {serial / run:>10.1f}"
        )


if __name__ == "__main__":
    main()
