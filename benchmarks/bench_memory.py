"""Peak memory as replications and the horizon grow: results stream to disk, memory stays flat.

Run: ``python benchmarks/bench_memory.py [--sizes 200 2000] [--horizon 100]
[--horizons 1000 10000 100000] [--horizon-replications 2]``. Every measurement runs in a
fresh interpreter and reports peak resident memory (``resource.getrusage``).

* Replications axis: a 4-point sweep of the policing scenario with size/4 replications per
  point on the process pool, written to a temporary run directory, then aggregated from
  disk (summaries and the sweep table): the driver's and the largest worker's peak.
* Horizon axis: the policing scenario, serial, with its run directory, at each horizon,
  three ways: ``simulate`` (the run alone: the simulation's own peak), ``export`` (the run,
  then the run directory's files: findings, streamed ``metrics.parquet``, manifest) and
  ``frame`` (the run, then the whole-run DataFrame and ``to_csv`` the export used to do,
  for reference). The target: ``export`` within 1.5x of ``simulate``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EPSILON = "agents.dispatcher.policy.epsilon"


def measure(total: int, horizon: int) -> dict[str, float]:
    """Run the sweep in this process and return its peak memory (MiB) and wall time."""
    import feedbacksim
    from feedbacksim.run.sweep import parse_sweep, run_sweep

    scenario = feedbacksim.load(ROOT / "scenarios" / "predictive_policing.yaml")
    scenario = scenario.with_overrides({"horizon": horizon})
    plan = parse_sweep({EPSILON: [0.0, 0.1, 0.2, 0.3]})
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        sweep = run_sweep(
            scenario, plan, replications=total // 4, executor="processes", directory=directory
        )
        sweep.to_frame()
        wall = time.perf_counter() - started
        files = sum(1 for _ in Path(directory).glob("points/*/rep-*.npz"))
    # ru_maxrss is in KiB on Linux; children are the pool's workers (terminated by now).
    return {
        "replications": total,
        "files": files,
        "driver_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "wall_s": wall,
    }


def measure_horizon(mode: str, horizon: int, replications: int) -> dict[str, float]:
    """Peak memory (MiB) and CPU seconds of one policing run at ``horizon`` days, by ``mode``."""
    import feedbacksim
    from feedbacksim.run.directory import write_run

    scenario = feedbacksim.load(ROOT / "scenarios" / "predictive_policing.yaml")
    scenario = scenario.with_overrides({"horizon": horizon})
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        started = time.process_time()
        results = scenario.run(
            replications=replications, seed=7, executor="serial", directory=out / "run"
        )
        simulated = time.process_time()
        if mode == "export":
            write_run(results, out / "run")
        elif mode == "frame":
            results.to_frame().to_csv(out / "metrics.csv", index=False, float_format="%.10g")
        exported = time.process_time()
    return {
        "mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "simulate_cpu_s": simulated - started,
        "export_cpu_s": exported - simulated,
    }


def _fresh(*argv: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def horizon_table(horizons: list[int], replications: int) -> None:
    """Print peak memory per horizon: the simulation alone, with the export, the old frame."""
    print(f"policing, {replications} replications, serial, run directory; load average {_load()}")
    print(
        f"{'days':>7} {'simulate MiB':>13} {'export MiB':>11} {'frame MiB':>10} "
        f"{'export/sim':>11} {'export CPU s':>13} {'frame CPU s':>12}"
    )
    for horizon in horizons:
        row = {
            mode: _fresh("--mode", mode, "--one", str(horizon), "--reps", str(replications))
            for mode in ("simulate", "export", "frame")
        }
        print(
            f"{horizon:>7} {row['simulate']['mib']:>13.1f} {row['export']['mib']:>11.1f} "
            f"{row['frame']['mib']:>10.1f} {row['export']['mib'] / row['simulate']['mib']:>11.2f} "
            f"{row['export']['export_cpu_s']:>13.2f} {row['frame']['export_cpu_s']:>12.2f}"
        )


def _load() -> str:
    import os

    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 2000])
    parser.add_argument("--horizon", type=int, default=100)
    parser.add_argument("--horizons", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--horizon-replications", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one and args.mode:
        print(json.dumps(measure_horizon(args.mode, args.one, args.reps)))
        return
    if args.one:
        print(json.dumps(measure(args.one, args.horizon)))
        return
    if args.horizons:
        horizon_table(args.horizons, args.horizon_replications)
    if not args.sizes:
        return
    print(f"4-point sweep, {args.horizon} days per replication, process pool, run directory")
    print(
        f"{'replications':>12} {'files':>6} {'driver MiB':>11} {'worker MiB':>11} {'wall (s)':>9}"
    )
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--horizon", str(args.horizon)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{row['replications']:>12} {row['files']:>6} {row['driver_mib']:>11.1f} "
            f"{row['worker_mib']:>11.1f} {row['wall_s']:>9.1f}"
        )


if __name__ == "__main__":
    main()
