"""Cost per simulated day of the policing world, beside a plain-Python loop of the same urn.

Run: ``python benchmarks/bench_core.py [--days N]``. Prints a table: microseconds per day
for the full framework (simpy clock, agent, policy, training data, recorder) and for a
hand-written loop of the same model (Bernoulli discovery, one patrol, proportional
dispatch, daily count update, no recording), timed in the same run, and their ratio.
"""

from __future__ import annotations

import argparse
import random
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    plain = best_of(plain_loop, args.days, args.repeats)
    full = best_of(framework, args.days, args.repeats)
    print(
        f"feedbacksim {feedbacksim.__version__}: policing world, 1 replication, {args.days:,} days"
    )
    print(f"{'implementation':<34}{'us/day':>10}")
    print(f"{'plain Python loop (baseline)':<34}{plain:>10.2f}")
    print(f"{'feedbacksim policing world':<34}{full:>10.2f}")
    print(f"{'ratio (framework / plain)':<34}{full / plain:>10.1f}")


if __name__ == "__main__":
    main()
