"""Cost per simulated day of the policing world, beside a plain-Python loop of the same urn.

Run: ``python benchmarks/bench_core.py [--days N] [--repeats R]``. Prints a table:
microseconds per day (best of R runs) for the full framework (simpy clock, agent, policy,
training data, recorder) and for hand-written loops of the same model (Bernoulli
discovery, one patrol, proportional dispatch, daily count update, no recording): in plain
Python with the ``random`` module (the baseline), the same loop driven by a simpy clock
(what simpy alone costs), and the same loop drawing from a ``numpy.random.Generator`` one
scalar at a time (what a reproducible plain implementation costs); each with its ratio to
the baseline.

A second table is the start-up cost of the commands that run nothing (``--help``, ``list``,
``schema``, ``validate`` of the policing scenario): CPU seconds (user + system) of a fresh
interpreter running each, best of ``--startup-repeats`` (``--startup-only`` skips the first
table).
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from collections.abc import Generator
from pathlib import Path

import numpy as np
import simpy

import feedbacksim
from feedbacksim.scenario import Scenario

SCENARIO = {
    "name": "bench-policing",
    "horizon": 100_000,
    "environment": {"kind": "policing", "params": {"incident_rates": [0.6, 0.4]}},
    "agents": [
        {
            "name": "dispatcher",
            "model": {"kind": "incident-count", "params": {"prior_counts": [1, 1]}},
            "policy": {"kind": "proportional"},
            "retrain": {"every": 1},
        }
    ],
}


def plain_loop(days: int, seed: int) -> float:
    """The urn model as a plain Python loop: returns region 0's final share."""
    rnd = random.Random(seed)
    rates = (0.6, 0.4)
    counts = [1.0, 1.0]
    for _ in range(days):
        p0 = counts[0] / (counts[0] + counts[1])
        region = 0 if rnd.random() < p0 else 1
        if rnd.random() < rates[region]:
            counts[region] += 1.0
    return counts[0] / (counts[0] + counts[1])


def simpy_loop(days: int, seed: int) -> float:
    """The same urn as :func:`plain_loop`, one ``env.timeout(1)`` per day: simpy's own cost."""
    rnd = random.Random(seed)
    rates = (0.6, 0.4)
    counts = [1.0, 1.0]
    env = simpy.Environment()

    def day() -> Generator[simpy.Event, None, None]:
        while True:
            p0 = counts[0] / (counts[0] + counts[1])
            region = 0 if rnd.random() < p0 else 1
            if rnd.random() < rates[region]:
                counts[region] += 1.0
            yield env.timeout(1)

    env.process(day())
    env.run(until=days)
    return counts[0] / (counts[0] + counts[1])


def numpy_scalar_loop(days: int, seed: int) -> float:
    """The plain loop drawing from a ``numpy.random.Generator``, one scalar at a time.

    What a reproducible plain implementation (seeded numpy streams, as the framework
    uses) costs: every draw is a call into numpy instead of the ``random`` module.
    """
    rng = np.random.default_rng(seed)
    rates = (0.6, 0.4)
    counts = [1.0, 1.0]
    for _ in range(days):
        p0 = counts[0] / (counts[0] + counts[1])
        region = 0 if rng.random() < p0 else 1
        if rng.random() < rates[region]:
            counts[region] += 1.0
    return counts[0] / (counts[0] + counts[1])


def framework(days: int, seed: int) -> float:
    """The shipped policing world for ``days`` days: returns region 0's final share."""
    scenario = Scenario.from_dict({**SCENARIO, "horizon": days})
    trace = scenario.build(seed).run()
    return float(trace["patrol_share"].final[0])


def best_of(fn, days: int, repeats: int) -> float:
    """Best wall time per day over ``repeats`` runs, in microseconds."""
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        fn(days, r)
        best = min(best, time.perf_counter() - start)
    return best / days * 1e6


ROOT = Path(__file__).resolve().parents[1]
STARTUP_COMMANDS = (
    ("--help",),
    ("list",),
    ("schema",),
    ("validate", "scenarios/predictive_policing.yaml"),
)


def child_cpu(command: list[str], repeats: int) -> float:
    """Best CPU time (user + system, seconds) of ``command`` in a fresh process."""
    best = float("inf")
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, cpu)
    return best


def print_startup(repeats: int) -> None:
    """The start-up table: CPU seconds of each command that runs nothing."""
    print(f"start-up, CPU seconds (user + system) of a fresh process (best of {repeats})")
    print(f"{'command':<56}{'CPU s':>8}")
    bare = child_cpu([sys.executable, "-c", "pass"], repeats)
    print(f"{'python -c pass (the interpreter alone)':<56}{bare:>8.3f}")
    for argv in STARTUP_COMMANDS:
        cpu = child_cpu([sys.executable, "-m", "feedbacksim", *argv], repeats)
        print(f"{'feedbacksim ' + ' '.join(argv):<56}{cpu:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--startup-repeats", type=int, default=5)
    parser.add_argument("--startup-only", action="store_true", help="skip the per-day table")
    args = parser.parse_args()
    if not args.startup_only:
        print_days(args.days, args.repeats)
        print()
    print_startup(args.startup_repeats)


def print_days(days: int, repeats: int) -> None:
    """The per-day table: the framework beside the hand-written loops."""
    framework(10, 0)  # imports the world and its components before anything is timed
    plain = best_of(plain_loop, days, repeats)
    rows = [
        ("plain Python loop (baseline)", plain),
        ("plain loop in simpy (1 timeout/day)", best_of(simpy_loop, days, repeats)),
        ("plain loop, numpy Generator draws", best_of(numpy_scalar_loop, days, repeats)),
        ("feedbacksim policing world", best_of(framework, days, repeats)),
    ]
    print(
        f"feedbacksim {feedbacksim.__version__}: policing world, 1 replication, {days:,} days"
        f" (best of {repeats})"
    )
    print(f"{'implementation':<38}{'us/day':>10}{'x plain':>10}")
    for label, cost in rows:
        print(f"{label:<38}{cost:>10.2f}{cost / plain:>10.1f}")
    print(f"{'ratio (framework / plain)':<38}{rows[-1][1] / plain:>20.1f}")


if __name__ == "__main__":
    main()
