"""Serial vs process pool vs Dask LocalCluster on the same replications, in one run.

Run: ``python benchmarks/bench_parallel.py [--replications 32] [--horizon 20000]``. Each
replication is the policing scenario over ``horizon`` days (about 1 s at 20,000 days).
Wall times include starting the workers (the pool's spawned processes import the
package; the LocalCluster starts a scheduler and its workers), because a user pays for
them. The results of the three executors are checked to be identical. Prints a table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import feedbacksim
from feedbacksim.run.executors import default_workers, make_executor

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "predictive_policing.yaml"


def timed(scenario: feedbacksim.Scenario, name: str, replications: int, workers: int) -> tuple:
    """Wall time of one run on executor ``name`` (worker start-up included) and its findings."""
    started = time.perf_counter()
    with make_executor(name, workers if name != "serial" else None) as executor:
        results = scenario.run(replications=replications, seed=1, executor=executor)
        wall = time.perf_counter() - started
    return wall, results.findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=32)
    parser.add_argument("--horizon", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args()
    scenario = feedbacksim.load(SCENARIO).with_overrides({"horizon": args.horizon})
    rows = []
    reference = None
    for name in ("serial", "processes", "dask"):
        wall, findings = timed(scenario, name, args.replications, args.workers)
        if reference is None:
            reference = findings
        rows.append((name, 1 if name == "serial" else args.workers, wall, findings == reference))
    serial = rows[0][2]
    print(
        f"{args.replications} replications x {args.horizon} days, "
        f"{serial / args.replications:.2f} s per replication serially, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} (other processes share the cores)"
    )
    print(f"{'executor':<10} {'workers':>7} {'wall (s)':>9} {'speedup':>8} {'identical':>9}")
    for name, workers, wall, same in rows:
        print(f"{name:<10} {workers:>7} {wall:>9.2f} {serial / wall:>7.2f}x {str(same):>9}")
    pool, dask = rows[1][2], rows[2][2]
    print(f"dask / pool wall time: {dask / pool:.2f} (target <= 1.15); pool speedup target >= 1.7x")


if __name__ == "__main__":
    main()
