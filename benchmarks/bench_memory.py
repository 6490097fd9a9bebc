"""Peak memory of a sweep as its replications grow: results stream to disk, memory stays flat.

Run: ``python benchmarks/bench_memory.py [--sizes 200 2000] [--horizon 100]``. Each size
runs in a fresh interpreter: a 4-point sweep of the policing scenario with size/4
replications per point on the process pool, written to a temporary run directory, then
aggregated from disk (summaries and the sweep table). Reports the peak resident memory of
the driver and of the largest worker (``resource.getrusage``), and the files written.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--horizon", type=int, default=100)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.horizon)))
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
