"""Time of the recommender world at 1,000 users x 1,000 items x 100 steps, beside plain numpy.

Run: ``python benchmarks/bench_recommender.py [--users N] [--items N] [--steps N]``. Prints
a table: wall and CPU seconds of one replication through the framework (simpy clock, agent
with retrain every step, slate policy, both arms, recorder) for each recommender, and of a
hand-written numpy loop of the same popularity world (same state, same two-stage top-k,
no agent, no recorder), timed in the same run. BLAS is limited to one thread, so the
figures are for one core; CPU time is the number to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import feedbacksim
from feedbacksim.scenario import Scenario
from feedbacksim.worlds.recommender import top_k_items

MODELS = ["popularity", "content-filtering", "random-recommender"]


def plain_popularity(users: int, items: int, steps: int, seed: int) -> float:
    """The popularity world as one numpy loop (no framework); returns final homogenization."""
    rng = np.random.default_rng(seed)
    new, k, explore = 10, 10, 10
    max_items = items + new * (steps - 1)
    prefs = rng.dirichlet(np.full(20, 0.5), size=users)
    utility = rng.dirichlet(np.full(20, 0.1), size=max_items) @ prefs.T
    unit = prefs / np.linalg.norm(prefs, axis=1, keepdims=True)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    partner = np.argmax(sim, axis=1)
    consumed = np.zeros((max_items, users), dtype=bool)
    attention = np.arange(1, k + 1) ** -0.8
    rows = np.arange(users)
    h = 0.0
    for t in range(steps):
        n = items + new * t
        if t < explore:
            scores = rng.random((n, users))
        else:
            counts = consumed[:n].sum(axis=1) + 0.5 * rng.random(n)
            scores = np.repeat(counts[:, None], users, axis=1)
        scores[consumed[:n]] = -np.inf
        slate = top_k_items(scores, k)
        value = np.where(consumed[slate, rows[:, None]], -np.inf, utility[slate, rows[:, None]])
        chosen = slate[rows, np.argmax(value * attention, axis=1)]
        consumed[chosen, rows] = True
        mine = consumed[:n]
        theirs = mine[:, partner]
        h = float(np.mean((mine & theirs).sum(0) / (mine | theirs).sum(0)))
    return h


def framework(model: str, users: int, items: int, steps: int, seed: int) -> float:
    """One replication of the recommender world with ``model``; returns final homogenization."""
    scenario = Scenario.from_dict(
        {
            "name": "bench-recommender",
            "horizon": steps,
            "environment": {
                "kind": "recommender",
                "params": {"n_users": users, "n_items": items, "new_items_per_step": 10},
            },
            "agents": [{"name": "rec", "model": {"kind": model}, "policy": {"kind": "slate"}}],
        }
    )
    return float(scenario.build(seed).run()["homogenization"].final[0])


def timed(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    size = (args.users, args.items, args.steps)
    print(
        f"feedbacksim {feedbacksim.__version__}: recommender world, {args.users:,} users x "
        f"{args.items:,} items (+10 a step) x {args.steps} steps, 1 replication, 1 thread"
    )
    print(f"{'implementation':<40}{'wall s':>10}{'CPU s':>10}")
    with threadpool_limits(1):
        wall, cpu = timed(plain_popularity, *size, 0)
        print(f"{'plain numpy loop, popularity (baseline)':<40}{wall:>10.2f}{cpu:>10.2f}")
        for model in MODELS:
            wall, cpu = timed(framework, model, *size, 0)
            print(f"{'feedbacksim, ' + model:<40}{wall:>10.2f}{cpu:>10.2f}")


if __name__ == "__main__":
    main()
