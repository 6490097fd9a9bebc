"""CPU time of whole ``feedbacksim`` commands, beside a plain numpy script doing the same run.

Run: ``python benchmarks/bench_cli.py [--repeats 3]``. Each command runs in a fresh
interpreter (start-up and imports included, as a user pays them); its CPU time is the
user + system time of the process and every worker it waited for
(``resource.getrusage(RUSAGE_CHILDREN)``), best of ``--repeats``. Rows:

* ``plain numpy``: a script that imports numpy and pyarrow, runs the shipped policing urn
  (2 regions, rates 0.6/0.4, one patrol a day, proportional dispatch on discovered counts)
  for 50 replications x 2,000 days vectorized over replications, records the same
  7 metrics x 2 regions and writes them to a Parquet file: the floor of the same work.
* the shipped policing run three ways: serial without the report (the simulation, the
  verdict and the run directory), the default executor without the report, and the
  default command (``feedbacksim run scenarios/predictive_policing.yaml``, report included).

With ``--before DIR`` (a source checkout of an earlier version, e.g. ``git worktree add
/tmp/before <commit>``), each feedbacksim row also runs that version's package and
scenario file on the same interpreter, interleaved with this one, and the table gives
how many times less CPU this version takes: "today" measured beside it, on the same
machine at the same load, rather than a number from another day.

Start-up alone (``--help``, ``list``, ``schema``, ``validate``) is the second table of
``benchmarks/bench_core.py``.

The load average is printed before the table; above the number of cores the numbers are
noisy, and ratios within one run hold better than absolute seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICING = ROOT / "scenarios" / "predictive_policing.yaml"

PLAIN = """
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
rng = np.random.default_rng(7)
R, T = 50, 2000
rates = np.array([0.6, 0.4])
counts = np.ones((R, 2))
rows = np.arange(R)
out = np.empty((7, T, R, 2))
missed_total = np.zeros((R, 2))
for t in range(T):
    p = counts / counts.sum(axis=1, keepdims=True)
    chosen = (rng.random(R) >= p[:, 0]).astype(np.int64)
    actions = np.zeros((R, 2))
    actions[rows, chosen] = 1.0
    incidents = (rng.random((R, 2)) < rates).astype(float)
    found = actions * incidents
    counts += found
    missed_total += incidents - found
    for m, value in enumerate((p, actions, rates / rates.sum(), found, incidents - found,
                               rates, missed_total / (t + 1))):
        out[m, t] = value
values = out.transpose(2, 0, 1, 3).reshape(-1)  # replication, metric, time, region
n = values.shape[0]
table = pa.table({
    "replication": np.repeat(np.arange(R), n // R),
    "time": np.tile(np.repeat(np.arange(T, dtype=float), 2), 7 * R),
    "metric": pa.DictionaryArray.from_arrays(
        np.tile(np.repeat(np.arange(7, dtype=np.int32), 2 * T), R),
        ["share", "patrols", "true_share", "found", "missed", "rates", "mean_missed"]),
    "group": pa.DictionaryArray.from_arrays(
        np.tile(np.arange(2, dtype=np.int32), n // 2), ["0", "1"]),
    "value": values,
})
pq.write_table(table, sys.argv[1])
"""


def cpu_of(command: list[str], cwd: Path, source: Path = ROOT) -> float:
    """CPU seconds (user + system) of ``command`` and the workers it waited for, with the
    ``feedbacksim`` package of the checkout ``source`` first on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    path = os.pathsep.join(p for p in (str(source), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if done.returncode not in (0, 1):  # 1: the policing design fails, as it should
        raise SystemExit(f"{' '.join(command[:4])}... exited {done.returncode}: {done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--before", type=Path, help="a source checkout of an earlier version to compare with"
    )
    args = parser.parse_args()
    cli = [sys.executable, "-m", "feedbacksim"]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        runs = iter(range(10**6))

        def run(*extra: str, source: Path = ROOT) -> list[str]:
            return [
                *cli,
                "run",
                str(source / "scenarios" / POLICING.name),
                "--quiet",
                "--out",
                str(work / f"r{next(runs)}"),
                *extra,
            ]

        rows = [
            ("run --executor serial --no-report", ("--executor", "serial", "--no-report")),
            ("run --no-report", ("--no-report",)),
            ("run (default, with the report)", ()),
        ]
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"policing, 50 replications x 2,000 days; CPU seconds, best of {args.repeats}; "
            f"load average {load}"
        )
        plain_command = [sys.executable, "-c", PLAIN, str(work / "p.parquet")]
        plain = min(cpu_of(plain_command, work) for _ in range(args.repeats))
        before_header = f" {'before s':>9} {'x less':>7}" if args.before else ""
        print(f"{'command':<36} {'CPU s':>7} {'x plain':>8}{before_header}")
        print(f"{'plain numpy (same run, Parquet)':<36} {plain:>7.2f} {1.0:>8.2f}")
        for label, extra in rows:
            now, then = [], []
            for _ in range(args.repeats):  # interleaved, so both see the same load
                now.append(cpu_of(run(*extra), work))
                if args.before:
                    then.append(cpu_of(run(*extra, source=args.before), work, args.before))
            best = min(now)
            line = f"{label:<36} {best:>7.2f} {best / plain:>8.2f}"
            if then:
                line += f" {min(then):>9.2f} {min(then) / best:>7.2f}"
            print(line)


if __name__ == "__main__":
    main()
