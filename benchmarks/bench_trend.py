"""Cost of the runaway analyzer's trend test by series length, beside scipy's quadratic one.

Run: ``python benchmarks/bench_trend.py [--sizes 1000 10000 100000] [--quadratic-max 8000]``.
Prints, for each length n of a stationary AR(1) series (phi 0.8), CPU seconds
(``time.process_time``) and peak traced memory (``tracemalloc``, numpy's buffers included)
of:

* ``theil_sen_slope``: the O(n log n) Theil-Sen slope (selection by merge-sort counts);
* ``theil_sen interval``: the slope with Sen's 95% interval (three order statistics), as
  the convergence analyzer uses it;
* ``mann_kendall_ar1``: the whole AR(1)-corrected trend test (two slopes, Kendall's tau);
* ``kendalltau``: one ``scipy.stats.kendalltau`` pass, the plain O(n log n) baseline
  every count above costs;
* ``scipy theilslopes``: the quadratic slope the test used before (all n(n-1)/2 pairwise
  slopes), run only up to ``--quadratic-max`` points; beyond, the memory its pairwise
  arrays would need is printed instead.

The machine's load average is printed first: CPU time is meaningful on a shared machine,
wall time is not.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats
from scipy.signal import lfilter

from feedbacksim.analyzers.statistics import mann_kendall_ar1, theil_sen, theil_sen_slope


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    """A stationary AR(1) series of ``n`` points (unit innovations)."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n)
    return lfilter([1.0], [1.0, -phi], e)


def measure(fn: Callable[..., Any], *args: Any) -> tuple[float, float]:
    """CPU seconds and peak traced MiB of one call ``fn(*args)``."""
    tracemalloc.start()
    start = time.process_time()
    fn(*args)
    cpu = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 8_000, 10_000, 100_000])
    parser.add_argument("--quadratic-max", type=int, default=8_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    header = f"{'n':>8} {'what':<20} {'CPU s':>9} {'peak MiB':>10}"
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        y = ar1(n, 0.8, seed=n)
        t = np.arange(n, dtype=float)
        rows: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
            ("theil_sen_slope", theil_sen_slope, (y,)),
            ("theil_sen interval", theil_sen, (y, t)),
            ("mann_kendall_ar1", mann_kendall_ar1, (y, 0.05)),
            ("kendalltau", stats.kendalltau, (t, y)),
        ]
        if n <= args.quadratic_max:
            rows.append(("scipy theilslopes", stats.theilslopes, (y, t)))
        for what, fn, fn_args in rows:
            cpu, peak = measure(fn, *fn_args)
            print(f"{n:>8} {what:<20} {cpu:>9.3f} {peak:>10.1f}")
        if n > args.quadratic_max:
            # theilslopes holds the n x n differences of x and y and the slopes: 3 n^2 floats.
            need = 3 * n * n * 8 / 2**20
            print(f"{n:>8} {'scipy theilslopes':<20} {'not run':>9} {need:>10.0f} (needed)")


if __name__ == "__main__":
    main()
