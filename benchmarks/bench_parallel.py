"""Serial vs process pool vs Dask LocalCluster on the same replications, in one run.

Run: ``python benchmarks/bench_parallel.py [--replications 32] [--horizon 20000]
[--repeats 3]``. Each
replication is the policing scenario over ``horizon`` days (about 1 s at 20,000 days), with
Poisson discovery so that it runs serially per replication, not on the replication axis.
Wall times include starting the workers (the pool's spawned processes import the
package; the LocalCluster starts a scheduler and its workers), because a user pays for
them. CPU time is this process's plus its reaped children's (the pool's workers and the
LocalCluster's nannies and workers, which exit before the timing ends). The load average
is printed before each executor: on a shared machine wall times are noisy, and a
comparison taken while the load is above the number of cores says little. So the pool and
Dask run ``repeats`` times, alternating, and the summary compares their best wall times
(the least disturbed run of each) and gives the median of the paired ratios beside it.
The results of every run are checked to be identical to the serial run's. Prints a table.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

import feedbacksim
from feedbacksim.run.executors import default_workers, make_executor

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "predictive_policing.yaml"


def _cpu() -> float:
    """CPU seconds of this process and of its terminated, waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(scenario: feedbacksim.Scenario, name: str, replications: int, workers: int) -> tuple:
    """Wall and CPU time of one run on executor ``name`` (worker start-up included), findings."""
    load = os.getloadavg()[0]
    cpu, started = _cpu(), time.perf_counter()
    with make_executor(name, workers if name != "serial" else None) as executor:
        results = scenario.run(replications=replications, seed=1, executor=executor)
    wall = time.perf_counter() - started
    return wall, _cpu() - cpu, load, results.findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=32)
    parser.add_argument("--horizon", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeats", type=int, default=3, help="runs of the pool and of Dask")
    args = parser.parse_args()
    # Poisson discovery: a configuration the replication axis does not batch, so that
    # every replication is a separate one-second task (what this benchmark is about).
    scenario = feedbacksim.load(SCENARIO).with_overrides(
        {"horizon": args.horizon, "environment.params.discovery": "poisson"}
    )
    order = ["serial"] + ["processes", "dask"] * args.repeats
    rows = []
    reference = None
    for name in order:
        wall, cpu, load, findings = timed(scenario, name, args.replications, args.workers)
        if reference is None:
            reference = findings
        workers = 1 if name == "serial" else args.workers
        rows.append((name, workers, wall, cpu, load, findings == reference))
    serial = rows[0][2]
    print(
        f"{args.replications} replications x {args.horizon} days, "
        f"{serial / args.replications:.2f} s per replication serially, {os.cpu_count()} cores"
    )
    print(
        f"{'executor':<10} {'workers':>7} {'wall (s)':>9} {'CPU (s)':>8} {'speedup':>8} "
        f"{'load before':>11} {'identical':>9}"
    )
    for name, workers, wall, cpu, load, same in rows:
        print(
            f"{name:<10} {workers:>7} {wall:>9.2f} {cpu:>8.2f} {serial / wall:>7.2f}x "
            f"{load:>11.2f} {str(same):>9}"
        )
    pools = [row[2] for row in rows if row[0] == "processes"]
    dasks = [row[2] for row in rows if row[0] == "dask"]
    paired = statistics.median(d / p for p, d in zip(pools, dasks, strict=True))
    print(
        f"dask / pool wall time: {min(dasks) / min(pools):.2f} best against best, "
        f"{paired:.2f} median of {args.repeats} pairs (target <= 1.15); "
        f"pool speedup {serial / min(pools):.2f}x (target >= 1.7x); "
        f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
