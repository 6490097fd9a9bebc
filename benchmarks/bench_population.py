"""CPU time of the lending world beside a hand-written numpy + scikit-learn loop of the same model.

Run: ``python benchmarks/bench_population.py [--days 360] [--sizes 10000 200 1]
[--retrain-every 30 1]``. For each number of applicants a day and retrain interval, one
replication of the shipped lending scenario (liblinear logistic regression, max-util
policy, 30-day label delay), serial, against a plain loop that does the same work per day
without the framework: draw applicants from the population, score them with
``predict_proba``, approve at repayment probability >= 0.8, deliver the approved
applicants' labels 30 days later (their scores move then), refit on every label so far at
the retrain interval, and record approval and default rates per group. The framework
also records the world's other metrics and measures each new model's true AUC on a
fresh population sample (``auc_sample``, 4000 people by default), which the loop does
not: the ``framework`` column is the whole cost a user pays. CPU seconds
(``time.process_time``), best of ``--repeats``; the load average is printed, and
numbers taken while it is above 1 are noisy.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import deque
from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

import feedbacksim

ROOT = Path(__file__).resolve().parent.parent


def plain_loop(days: int, applicants: int, retrain_every: int, seed: int) -> float:
    """The lending loop by hand; returns the final mean score of group 1."""
    rng = np.random.default_rng(seed)
    n = 10_000
    groups = np.repeat([0, 1], [8000, 2000])
    scores = np.clip(rng.normal(np.array([700.0, 540.0])[groups], 80.0), 300.0, 850.0)

    def repay(s: np.ndarray) -> np.ndarray:
        return expit((s - 600.0) / 50.0)

    def features(s: np.ndarray) -> np.ndarray:
        return ((s - 575.0) / 100.0).reshape(-1, 1)

    who = rng.integers(0, n, 2000)  # the pretraining sample
    x_seen = [features(scores[who])]
    y_seen = [(rng.random(2000) < repay(scores[who])).astype(float)]
    model = LogisticRegression(solver="liblinear").fit(x_seen[0], y_seen[0])
    pending: deque[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = deque()
    approval = np.empty((days, 2))
    default = np.empty((days, 2))
    for day in range(days):
        while pending and pending[0][0] <= day:
            _, borrowers, x, y = pending.popleft()
            moved = scores[borrowers] + np.where(y > 0, 75.0, -150.0)
            scores[borrowers] = np.clip(moved, 300.0, 850.0)
            x_seen.append(x)
            y_seen.append(y)
        if day > 0 and day % retrain_every == 0:
            model = LogisticRegression(solver="liblinear").fit(
                np.concatenate(x_seen), np.concatenate(y_seen)
            )
        who = rng.integers(0, n, applicants)
        s, g = scores[who], groups[who]
        repaid = (rng.random(applicants) < repay(s)).astype(float)
        x = features(s)
        approved = model.predict_proba(x)[:, 1] >= 0.8
        pending.append((day + 30, who[approved], x[approved], repaid[approved]))
        count = np.bincount(g, minlength=2)
        approval[day] = np.bincount(g, approved, 2) / np.maximum(count, 1)
        taken = np.bincount(g[approved], minlength=2)
        default[day] = np.bincount(g[approved], 1.0 - repaid[approved], 2) / np.maximum(taken, 1)
    return float(scores[groups == 1].mean())


def lending(days: int, applicants: int, retrain_every: int) -> feedbacksim.Scenario:
    """The shipped lending scenario at ``applicants`` a day, retrained every ``retrain_every``."""
    return feedbacksim.load(ROOT / "scenarios" / "lending.yaml").with_overrides(
        {
            "horizon": days,
            "environment.params.applicants_per_day": applicants,
            "agents.lender.retrain.every": retrain_every,
        }
    )


def framework(scenario: feedbacksim.Scenario, seed: int) -> float:
    """One replication of ``scenario``, serial, in memory (loading it is not timed)."""
    results = scenario.run(replications=1, seed=seed, executor="serial")
    return float(results.trace(0)["mean_score"].final[1])


def cpu(fn, *args, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=360)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200, 1])
    parser.add_argument("--retrain-every", type=int, nargs="+", default=[30, 1])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"lending, {args.days} days, 1 replication, serial; load average {load}")
    print(
        f"{'applicants/day':>14} {'retrain':>8} {'plain CPU s':>12} {'framework CPU s':>16} "
        f"{'ratio':>6} {'steps/s':>8}"
    )
    framework(lending(10, 10, 1), 0)  # warm imports and caches outside the timings
    for every in args.retrain_every:
        for size in args.sizes:
            plain = cpu(plain_loop, args.days, size, every, 1, repeats=args.repeats)
            ours = cpu(framework, lending(args.days, size, every), 1, repeats=args.repeats)
            print(
                f"{size:>14} {every:>8} {plain:>12.2f} {ours:>16.2f} {ours / plain:>6.2f} "
                f"{args.days / ours:>8.0f}"
            )


if __name__ == "__main__":
    main()
