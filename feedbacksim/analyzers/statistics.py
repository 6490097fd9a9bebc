"""Statistical tests used by the analyzers.

Every function here is pure and vectorized with numpy/scipy.  Functions that need
randomness take an explicit :class:`numpy.random.Generator`; nothing touches global
random state.

Contents
--------
* Trend tests: :func:`trend_test` (Mann-Kendall / Kendall tau + Theil-Sen slope) and
  :func:`mann_kendall_ar1` (the same with a lag-1 autocorrelation variance correction).
* Proportions: :func:`wilson_interval`.
* Distribution drift: :func:`psi`.
* Change points: :func:`page_hinkley`, :func:`detect_drop`.
* Critical slowing down: :func:`early_warning` (Dakos et al. 2012).
* Convergence of successive models: :func:`convergence`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.quality import average_ranks

signal = lazy_module("scipy.signal")
stats = lazy_module("scipy.stats")


__all__ = [
    "PSI_EPS",
    "PSI_MAJOR",
    "PSI_MODERATE",
    "ConvergenceResult",
    "DropResult",
    "EarlyWarningResult",
    "TrendResult",
    "convergence",
    "detect_drop",
    "early_warning",
    "mann_kendall_ar1",
    "page_hinkley",
    "psi",
    "theil_sen",
    "theil_sen_slope",
    "trend_test",
    "upward_trend_possible",
    "wilson_interval",
]

Direction = Literal["down", "up"]
ConvergenceStatus = Literal["converging", "oscillating", "diverging", "undetermined"]

#: PSI above this value is conventionally read as a moderate population shift.
PSI_MODERATE: float = 0.1
#: PSI above this value is conventionally read as a major population shift.
PSI_MAJOR: float = 0.25
#: Floor applied to bin proportions in :func:`psi` so that empty bins stay finite.
PSI_EPS: float = 1e-4


def _as_1d(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    return arr


# --------------------------------------------------------------------------------------
# Trend tests
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendResult:
    """Result of a monotonic trend test.

    Attributes:
        tau: Kendall tau-b of the series against time.
        p_value: Two-sided p-value for ``tau == 0``.
        slope: Theil-Sen slope (units of ``y`` per time step).
        significant_up: ``p_value < alpha`` and ``tau > 0``.
        significant_down: ``p_value < alpha`` and ``tau < 0``.
    """

    tau: float
    p_value: float
    slope: float
    significant_up: bool
    significant_down: bool


def _null_trend(y: np.ndarray) -> TrendResult:
    slope = float(y[-1] - y[0]) if y.size == 2 else 0.0
    return TrendResult(float("nan"), 1.0, slope, False, False)


def _trend_result(tau: float, p: float, slope: float, alpha: float) -> TrendResult:
    if not np.isfinite(tau) or not np.isfinite(p):
        return TrendResult(float(tau), 1.0, float(slope), False, False)
    sig = p < alpha
    return TrendResult(
        float(tau), float(p), float(slope), bool(sig and tau > 0), bool(sig and tau < 0)
    )


#: Series up to this length get their Theil-Sen slope from all pairwise slopes at once.
THEIL_SEN_EXACT_MAX: int = 1000
#: Relative precision of the Theil-Sen slope found by selection (longer series).
THEIL_SEN_RTOL: float = 1e-9


@functools.lru_cache(maxsize=4)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``i < j`` of every pair of ``n`` points and their gaps ``j - i``, read-only.

    Cached: an analyzer tests many windows of the same length (8 MB at n = 1,000).
    """
    i, j = np.triu_indices(n, k=1)
    i, j = i.astype(np.int32), j.astype(np.int32)
    gaps = (j - i).astype(float)
    for a in (i, j, gaps):
        a.setflags(write=False)
    return i, j, gaps


def _kendall_s(y: np.ndarray) -> int:
    """Kendall's ``S`` of ``y`` against time: concordant minus discordant pairs.

    Up to :data:`THEIL_SEN_EXACT_MAX` points from the signs of all pairwise differences
    (numpy, a fraction of a millisecond at 400 points, where one call of
    ``scipy.stats.kendalltau`` costs about 0.5 ms of input checks alone); longer series
    by merge sort (``kendalltau``'s tau-b, O(n log n)).
    """
    n = y.size
    if n <= THEIL_SEN_EXACT_MAX:
        i, j, _ = _pairs(n)
        return int(np.sign(y[j] - y[i]).sum())
    n0, ties = n * (n - 1) // 2, _tie_counts(y)
    tied = int(np.sum(ties * (ties - 1) // 2))
    if tied == n0:
        return 0
    tau = stats.kendalltau(np.arange(n), y)[0]
    return int(round(tau * math.sqrt(float(n0) * float(n0 - tied))))


def _tie_counts(y: np.ndarray) -> np.ndarray:
    """Sizes of the groups of equal values in ``y`` (groups of one included)."""
    return np.unique(y, return_counts=True)[1].astype(np.int64)


def _s_variance(n: int, ties: np.ndarray) -> float:
    """Null variance of Kendall's ``S`` with the tie correction (Kendall 1975)."""
    t = ties.astype(float)
    return float((n * (n - 1) * (2 * n + 5) - np.sum(t * (t - 1) * (2 * t + 5))) / 18.0)


def _two_sided_p(z: float) -> float:
    """``P(|Z| >= |z|)`` for a standard normal ``Z`` (``2 * scipy.stats.norm.sf(|z|)``)."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def _slopes_at_most(y: np.ndarray, t: np.ndarray, theta: float) -> int:
    """How many pairs ``i < j`` have slope ``(y_j - y_i) / (j - i) <= theta``: O(n log n).

    ``(y_j - y_i) / (j - i) <= theta`` exactly when ``z_j <= z_i`` for ``z = y - theta t``,
    so the count is the number of discordant pairs of ``(t, z)`` plus the ties in ``z``,
    which Kendall's tau-b gives (``scipy.stats.kendalltau`` counts discordant pairs by
    merge sort, Knight 1966): ``C - D = tau sqrt(n0 (n0 - ties))`` and ``C + D = n0 - ties``.
    """
    z = y - theta * t
    n0 = z.size * (z.size - 1) // 2
    _, counts = np.unique(z, return_counts=True)
    ties = int(np.sum(counts * (counts - 1) // 2))
    if ties == n0:
        return n0
    tau = stats.kendalltau(t, z)[0]
    concordant_minus_discordant = tau * np.sqrt(float(n0) * float(n0 - ties))
    return int(round(((n0 - ties) - concordant_minus_discordant) / 2.0)) + ties


def _select_slope(
    y: np.ndarray, t: np.ndarray, k: int, lo: float, hi: float, tol: float, hi_next: float
) -> tuple[float, float]:
    """The ``k``-th smallest pairwise slope (0-based), given that it lies in ``(lo, hi]``.

    Bisection on the slope value, each step one O(n log n) count. Also returns the
    smallest trial slope with more than ``k + 1`` slopes at or below it (``hi_next`` if
    none is smaller), the upper end of a bracket of the ``k+1``-th slope, so that the
    second order statistic of an even-sized median starts close.
    """
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:  # adjacent floats
            break
        count = _slopes_at_most(y, t, mid)
        if count > k:
            hi = mid
        else:
            lo = mid
        if count > k + 1:
            hi_next = min(hi_next, mid)
    return hi, hi_next


def theil_sen_slope(y: ArrayLike) -> float:
    """Theil-Sen slope of an equally spaced series, in O(n log n) time and O(n) memory.

    The median of the ``n(n-1)/2`` pairwise slopes ``(y_j - y_i) / (j - i)``, as
    ``scipy.stats.theilslopes(y)[0]``, which forms them all (O(n^2) time and memory:
    1.8 GB at n = 8,000). Up to :data:`THEIL_SEN_EXACT_MAX` (1,000) points the slopes are
    formed and their median taken (identical to scipy). Longer series find the median's
    order statistics by selection: every pairwise slope lies between the smallest and the
    largest successive difference (it is their mean over ``i..j``); a seeded sample of
    ``4n`` pairs narrows that bracket to its quantiles ``q +- 4 sd`` (checked by count;
    the full range when the check fails); bisection then halves it, each step counting
    the pairs below a trial slope with one merge-sort pass (:func:`_slopes_at_most`),
    until it is narrower than :data:`THEIL_SEN_RTOL` (1e-9) of the sample's
    interquartile range (or of the slope itself when larger). About 25 passes a slope:
    0.8 s of CPU and 17 MiB at n = 100,000 (``benchmarks/bench_trend.py``).

    The sample's generator is seeded by ``n`` alone: the slope is a deterministic
    function of ``y``, and only the number of passes depends on the draw.

    References:
        Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's
        tau. JASA 63, 1379-1389.
        Knight, W. R. (1966). A computer method for calculating Kendall's tau with
        ungrouped data. JASA 61, 436-439.
        Dillencourt, Mount & Netanyahu (1992), A randomized algorithm for slope selection,
        IJCGA 2, 1-27 (the sample-then-count idea).
    """
    v = _as_1d(y, "y")
    n = v.size
    if n < 2:
        return 0.0
    if n <= THEIL_SEN_EXACT_MAX:
        i, j, gaps = _pairs(n)
        return float(np.median((v[j] - v[i]) / gaps))
    select = _SlopeSelection(v, np.arange(n, dtype=float))
    k = (select.pairs - 1) // 2
    lower, hi_next = select.kth(k)
    if select.pairs % 2 or _slopes_at_most(v, select.t, lower) > k + 1:
        return float(lower)  # odd count, or the two middle slopes are equal
    upper = _select_slope(v, select.t, k + 1, lower, hi_next, select.tol, select.hi_all)[0]
    return float(0.5 * (lower + upper))


class _SlopeSelection:
    """Order statistics of the pairwise slopes of ``(t, v)`` (``t`` strictly increasing).

    Every pairwise slope lies between the smallest and the largest successive slope (it
    is their weighted mean over ``i..j``); a sample of ``4n`` pairs, from a generator
    seeded by ``n`` alone, narrows that bracket to the sample's quantiles
    ``q +- 4 sd`` (checked by count; the full range when the check fails); bisection
    (:func:`_select_slope`) halves it until it is narrower than :data:`THEIL_SEN_RTOL`
    of the sample's interquartile range (or of its median, when larger).
    """

    def __init__(self, v: np.ndarray, t: np.ndarray) -> None:
        n = v.size
        self.v, self.t = v, t
        self.pairs = n * (n - 1) // 2
        steps = np.diff(v) / np.diff(t)
        self.lo_all = float(np.nextafter(float(steps.min()), -np.inf))
        self.hi_all = float(steps.max())
        rng = np.random.default_rng(n)
        a, b = rng.integers(0, n, size=(2, 4 * n))
        a, b = np.minimum(a, b)[a != b], np.maximum(a, b)[a != b]
        self.sample = np.sort((v[b] - v[a]) / (t[b] - t[a]))
        q25, q50, q75 = np.quantile(self.sample, [0.25, 0.5, 0.75])
        self.tol = THEIL_SEN_RTOL * max(float(q75 - q25), abs(float(q50)), np.finfo(float).tiny)

    def bracket(self, k: int) -> tuple[float, float]:
        """An interval ``(lo, hi]`` that holds the ``k``-th slope (0-based)."""
        v, t, sample = self.v, self.t, self.sample
        q = (k + 0.5) / self.pairs
        half = 4.0 * np.sqrt(q * (1.0 - q) / sample.size)
        lo = float(np.nextafter(float(np.quantile(sample, max(q - half, 0.0))), -np.inf))
        hi = float(np.quantile(sample, min(q + half, 1.0)))
        if lo > self.lo_all and _slopes_at_most(v, t, lo) > k:
            return self.lo_all, self.hi_all
        if hi < self.hi_all and _slopes_at_most(v, t, hi) <= k:
            return self.lo_all, self.hi_all
        return max(lo, self.lo_all), min(hi, self.hi_all)

    def kth(self, k: int) -> tuple[float, float]:
        """The ``k``-th slope, and the upper end of a bracket of the ``k+1``-th."""
        return _select_slope(self.v, self.t, k, *self.bracket(k), self.tol, self.hi_all)


def theil_sen(y: ArrayLike, t: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Theil-Sen slope of ``y`` on strictly increasing ``t`` with Sen's (1968) interval.

    ``(slope, low, high)`` as ``scipy.stats.theilslopes(y, t, alpha=confidence)`` gives
    them (the interval's order statistics from equation 2.6 of Sen 1968, ties in ``y``
    corrected), in O(n log n) time and O(n) memory beyond
    :data:`THEIL_SEN_EXACT_MAX` points (:func:`theil_sen_slope`'s selection).
    """
    v, x = _as_1d(y, "y"), _as_1d(t, "t")
    n = v.size
    if x.size != n or n < 2 or np.any(np.diff(x) <= 0):
        raise ValueError("need y and strictly increasing t of the same length >= 2")
    if n <= THEIL_SEN_EXACT_MAX:
        result = stats.theilslopes(v, x, alpha=confidence)
        return float(result[0]), float(result[2]), float(result[3])
    _, counts = np.unique(v, return_counts=True)
    counts = counts[counts > 1].astype(float)
    sigma = np.sqrt(
        (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18.0
    )
    z = float(stats.norm.ppf((1.0 - confidence) / 2.0))
    select = _SlopeSelection(v, x)
    pairs = select.pairs
    high_k = min(int(np.round((pairs - z * sigma) / 2.0)), pairs - 1)
    low_k = max(int(np.round((pairs + z * sigma) / 2.0)) - 1, 0)
    low, high = select.kth(low_k)[0], select.kth(high_k)[0]
    k = (pairs - 1) // 2
    lower, hi_next = select.kth(k)
    slope = lower
    if pairs % 2 == 0 and _slopes_at_most(v, x, lower) <= k + 1:
        upper = _select_slope(v, x, k + 1, lower, hi_next, select.tol, select.hi_all)[0]
        slope = 0.5 * (lower + upper)
    return float(slope), float(low), float(high)


def trend_test(y: ArrayLike, alpha: float = 0.01) -> TrendResult:
    """Mann-Kendall trend test with a Theil-Sen slope.

    Method: Kendall's tau-b between ``y`` and the time index (``scipy.stats.kendalltau``),
    whose test is the Mann-Kendall test for a monotonic trend, and the Theil-Sen median
    of pairwise slopes (:func:`theil_sen_slope`) as a robust slope estimate; both take
    O(n log n) time and O(n) memory.

    The p-value assumes the observations are **independent** under the null.  With
    positively autocorrelated noise (common for metrics of a system with memory) it is
    far too small and the test raises false trends; use :func:`mann_kendall_ar1` then.

    References:
        Mann, H. B. (1945). Nonparametric tests against trend. Econometrica 13, 245-259.
        Kendall, M. G. (1975). Rank Correlation Methods. Griffin.
        Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's
        tau. JASA 63, 1379-1389.

    Args:
        y: One-dimensional series ordered in time (equally spaced).
        alpha: Two-sided significance level.

    Returns:
        A :class:`TrendResult`.  Series shorter than 3 points are never significant.
    """
    y = _as_1d(y, "y")
    if y.size < 3:
        return _null_trend(y)
    t = np.arange(y.size, dtype=float)
    tau, p = stats.kendalltau(t, y)
    return _trend_result(tau, p, theil_sen_slope(y), alpha)


def _lag1_autocorr(r: np.ndarray) -> float:
    r = r - r.mean()
    denom = float(np.dot(r, r))
    if denom <= 0.0:
        return 0.0
    return float(np.dot(r[:-1], r[1:]) / denom)


#: Standard errors by which :func:`mann_kendall_ar1` raises its autocorrelation estimate.
AR1_SE_INFLATION: float = 1.5


def _rank_lag1_autocorr(y: np.ndarray, t: np.ndarray) -> float:
    """Lag-1 autocorrelation of the noise of ``y``, estimated on its ranks.

    The ranks of ``y`` are detrended with their own Theil-Sen line; the lag-1
    autocorrelation ``r_R`` of those residuals is mapped to the Pearson scale of Gaussian
    noise, ``2 sin(pi r_R / 6)`` (the inverse of the rank correlation of a bivariate
    normal, ``(6/pi) asin(rho/2)``).  Ranks make the estimate invariant to increasing
    transformations of ``y``, as Kendall's ``S`` is: any noiseless monotone series has
    ranks ``1..n``, a straight line, so its curvature is not mistaken for autocorrelation.
    """
    ranks = average_ranks(y)
    slope = theil_sen_slope(ranks)
    intercept = float(np.median(ranks)) - slope * float(np.median(t))  # as theilslopes
    r = _lag1_autocorr(ranks - (intercept + slope * t))
    return float(2.0 * np.sin(np.pi * r / 6.0))


def kendall_s(y: ArrayLike) -> int:
    """Kendall's ``S`` of ``y`` against time (concordant minus discordant pairs)."""
    return _kendall_s(_as_1d(y, "y"))


def mann_kendall_ar1(
    y: ArrayLike, alpha: float = 0.01, slope: bool = True, s: int | None = None
) -> TrendResult:
    """Mann-Kendall trend test corrected for lag-1 autocorrelation.

    Method (Hamed & Rao 1998 variance correction with an AR(1) autocorrelation model):

    1. Estimate the lag-1 autocorrelation ``r`` of the noise on the **ranks** of ``y``
       (as Hamed & Rao do): detrend the ranks with their Theil-Sen line, take the lag-1
       autocorrelation of the residuals and map it to the Pearson scale of Gaussian
       noise, ``2 sin(pi r_R / 6)``.  Bias-correct it as ``(n r + 1) / (n - 4)``
       (first-order bias of the sample autocorrelation), raise it by
       ``AR1_SE_INFLATION`` (1.5) standard errors ``sqrt((1 - r^2) / n)`` so that the
       noise in ``r`` does not make the test anti-conservative, and clip it to
       ``[0, 0.99]``: negative autocorrelation is never used to *shrink* the variance.
    2. Inflate the null variance of Kendall's ``S`` by Hamed & Rao's factor
       ``n/n* = 1 + 2 / (n(n-1)(n-2)) * sum_k (n-k)(n-k-1)(n-k-2) rho_k`` with the AR(1)
       autocorrelations ``rho_k = r**k`` (summed over all lags, vectorized).  For large
       ``n`` this tends to ``(1 + r) / (1 - r)``; e.g. 3 for ``r = 0.5``.
    3. ``z = (S - sign(S)) / sqrt(Var(S) * n/n*)`` (continuity-corrected), two-sided
       normal p-value.  ``Var(S)`` includes the usual tie correction.

    Why ranks: ``S`` depends on ``y`` only through its ranks, so the correction should
    too.  The residuals of a *linear* detrend of ``y`` itself keep the curvature of any
    monotone but curved trend, which reads as autocorrelation close to 1 and inflates the
    variance until nothing is significant: with that estimate ``sqrt(1..50)`` (tau 1) got
    ``p = 0.017``, and noiseless geometric or logistic growth over 50 points was never
    detected at ``alpha = 0.01``.  The ranks of any noiseless monotone series are a
    straight line, so now all of these get ``p ~ 1e-18``; with AR(1) noise (``phi``
    0.5, SD a tenth of the rise) over 50 points, detection at ``alpha = 0.01`` went from
    76 % to 87-91 % for geometric and logistic growth, 90 to 91 % for ``sqrt``, 71 to
    78 % for ``log``, and 98.8 to 98.4 % for a straight line (500 series each).
    The rank estimate is a little noisier than the Pearson one, hence 1.5 standard
    errors instead of 1 (with 1, the false-alarm rate at ``phi = 0.8, n = 30`` was 9.5 %).

    Measured false-alarm rates at ``alpha = 0.05`` on stationary Gaussian AR(1) noise
    (1000-2000 series): 3.2-3.6 % for ``phi`` in {0, 0.5, 0.8} at ``n = 500`` (versus
    ~24 % for :func:`trend_test` at ``phi = 0.5``), 2.5-2.7 % at ``n = 100``, 3-4.3 % at
    ``n = 50``, and 7 % for ``phi = 0.8`` at ``n = 30`` (8.8 % at ``n = 20``) -- very
    short, strongly autocorrelated series remain hard.  At ``alpha = 0.01``: at most
    1.4 % for ``n >= 50`` and 2.9 % at ``n = 30, phi = 0.8``.

    References:
        Hamed, K. H. & Rao, A. R. (1998). A modified Mann-Kendall trend test for
        autocorrelated data. Journal of Hydrology 204, 182-196.

    Args:
        y: One-dimensional series ordered in time (equally spaced).
        alpha: Two-sided significance level.
        slope: Whether to estimate the Theil-Sen slope (NaN when not: it is a third of
            the test's cost, and a caller that needs only the test can skip it).
        s: Kendall's ``S`` of ``y`` (:func:`kendall_s`), when the caller has it already
            (a caller that screened with :func:`upward_trend_possible`).

    Returns:
        A :class:`TrendResult` (``tau`` and ``slope`` are the same as in
        :func:`trend_test`; only the p-value differs).  Series shorter than 5 points
        are never significant.
    """
    y = _as_1d(y, "y")
    n = y.size
    if n < 5:  # the bias correction below divides by n - 4
        short = _null_trend(y) if n < 3 else trend_test(y, alpha=0.0)
        return short if slope else replace(short, slope=float("nan"))
    t = np.arange(n, dtype=float)
    estimate = theil_sen_slope(y) if slope else float("nan")
    ties = _tie_counts(y)
    n0 = n * (n - 1) // 2
    tied = int(np.sum(ties * (ties - 1) // 2))
    if tied == n0:  # constant series
        return _trend_result(float("nan"), 1.0, estimate, alpha)
    # Kendall's S and tau-b (time has no ties): tau_b = S / sqrt(n0 (n0 - tied)).
    s_value = float(_kendall_s(y) if s is None else s)
    tau = s_value / math.sqrt(float(n0) * float(n0 - tied))
    var_s = _s_variance(n, ties)

    r = _rank_lag1_autocorr(y, t)
    r = (n * r + 1.0) / (n - 4.0)
    r = float(np.clip(r + AR1_SE_INFLATION * np.sqrt(max(1.0 - r * r, 0.0) / n), 0.0, 0.99))
    k = np.arange(1, n - 2, dtype=float)  # terms with k >= n-2 vanish
    weights = (n - k) * (n - k - 1) * (n - k - 2)
    factor = 1.0 + 2.0 / (n * (n - 1) * (n - 2)) * float(np.sum(weights * r**k))

    z = (s_value - np.sign(s_value)) / math.sqrt(var_s * factor)
    return _trend_result(tau, _two_sided_p(z), estimate, alpha)


def upward_trend_possible(y: ArrayLike, alpha: float, s: int | None = None) -> bool:
    """False when :func:`mann_kendall_ar1` surely finds no upward trend in ``y`` at ``alpha``.

    A screen, in O(n) beyond Kendall's ``S``: the corrected test divides the same
    continuity-corrected ``S - 1`` by a variance inflated by a factor of at least 1, so its
    p-value is never below the uncorrected one computed here. True means "run the
    corrected test"; it skips the autocorrelation estimate and both Theil-Sen slopes.
    ``s``: Kendall's ``S`` of ``y`` when the caller has it (to pass on to the full test).
    """
    v = _as_1d(y, "y")
    n = v.size
    if n < 5:  # mann_kendall_ar1 never rejects there
        return False
    s = _kendall_s(v) if s is None else s
    if s <= 0:
        return False
    var_s = _s_variance(n, _tie_counts(v))
    return var_s > 0 and _two_sided_p((s - 1) / math.sqrt(var_s)) < alpha


# --------------------------------------------------------------------------------------
# Proportions and resampling
# --------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    The inverted score test, in closed form (the numbers of
    ``scipy.stats.binomtest(...).proportion_ci(method="wilson")``, which tests check;
    written out because importing ``scipy.stats`` costs about 0.9 s of CPU, more than a
    whole shipped run's analysis), with the ends exact at 0 and 1 when no or every trial
    succeeded.  Unlike the Wald interval it has close to nominal coverage for small ``n``
    and proportions near 0 or 1.

    References:
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. JASA 22, 209-212.
        Brown, Cai & DasGupta (2001). Interval estimation for a binomial proportion.
        Statistical Science 16, 101-133.

    Args:
        successes: Number of successes, ``0 <= successes <= n``.
        n: Number of trials.  ``n == 0`` returns the uninformative ``(0.0, 1.0)``.
        confidence: Two-sided confidence level in (0, 1).

    Returns:
        ``(lower, upper)``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    trials = float(n)  # numpy integers would overflow in n * n
    p, z2 = successes / trials, z * z
    center = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    lower = 0.0 if successes == 0 else max(0.0, float(center - half))
    upper = 1.0 if successes == n else min(1.0, float(center + half))
    return (lower, upper)


def psi(reference: ArrayLike, sample: ArrayLike, bins: int = 10) -> float:
    """Population Stability Index of ``sample`` relative to ``reference``.

    Method: bin edges at the reference's quantiles ``1/bins, ..., (bins-1)/bins``
    (deciles by default), de-duplicated so discrete data with tied quantiles yields
    fewer, non-empty bins; bins are right-closed ``(e_{i-1}, e_i]`` with open outer
    ends, so every sample value is counted.  With reference and sample proportions
    ``r_i`` and ``s_i`` (each floored at :data:`PSI_EPS` = 1e-4 so that empty bins give
    a large but finite contribution),  ``PSI = sum_i (s_i - r_i) log(s_i / r_i)``.

    Conventional reading: ``< PSI_MODERATE`` (0.1) stable, ``0.1-0.25`` moderate shift,
    ``> PSI_MAJOR`` (0.25) major shift.  Note the sampling bias: for two samples from the
    same distribution ``E[PSI] ~ (bins - 1) (1/n_ref + 1/n_sample)``.

    References:
        Siddiqi, N. (2006). Credit Risk Scorecards. Wiley.
        Yurdakul, B. (2018). Statistical properties of population stability index.
        PhD thesis, Western Michigan University.

    Args:
        reference: Reference (training-time) sample.
        sample: Current sample.
        bins: Number of quantile bins (before de-duplication).

    Returns:
        The PSI (>= 0).
    """
    ref = _as_1d(reference, "reference")
    cur = _as_1d(sample, "sample")
    if ref.size == 0 or cur.size == 0:
        raise ValueError("reference and sample must be non-empty")
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    n_bins = edges.size + 1
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=n_bins) / ref.size
    s = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=n_bins) / cur.size
    r = np.maximum(r, PSI_EPS)
    s = np.maximum(s, PSI_EPS)
    return float(np.sum((s - r) * np.log(s / r)))


def _check_direction(direction: str) -> None:
    if direction not in ("down", "up"):
        raise ValueError(f"direction must be 'down' or 'up', got {direction!r}")


def _first_true(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def page_hinkley(
    x: ArrayLike, delta: float, threshold: float, direction: Direction = "down"
) -> int | None:
    """Page-Hinkley test for a shift in the mean.

    Method (direction ``"up"``; ``"down"`` applies it to ``-x``): with the running mean
    ``xbar_t = mean(x_0..x_t)``, ``m_T = sum_{t<=T} (x_t - xbar_t - delta)`` and
    ``M_T = min_{t<=T} m_t``; alarm at the first ``T`` with ``m_T - M_T > threshold``.
    Fully vectorized with ``cumsum`` and ``minimum.accumulate``.  ``delta`` is the
    tolerated magnitude (about half the shift to detect) and ``threshold`` trades
    detection delay against false alarms; both are in the units of ``x``.  E.g. for unit
    noise, ``delta=1, threshold=5`` detects a 2-SD shift after 3.4 steps on average and
    gave no false alarm over 600 null steps in 200 simulated series.

    References:
        Page, E. S. (1954). Continuous inspection schemes. Biometrika 41, 100-115.
        Gama, J. et al. (2014). A survey on concept drift adaptation. ACM CSUR 46(4).

    Args:
        x: Series to monitor.
        delta: Magnitude tolerance (>= 0).
        threshold: Alarm threshold ``lambda`` (> 0).
        direction: ``"down"`` detects a decrease of the mean, ``"up"`` an increase.

    Returns:
        Index of the first alarm, or ``None``.
    """
    _check_direction(direction)
    v = _as_1d(x, "x")
    if v.size == 0:
        return None
    if direction == "down":
        v = -v
    running_mean = np.cumsum(v) / np.arange(1, v.size + 1)
    m = np.cumsum(v - running_mean - delta)
    stat = m - np.minimum.accumulate(np.minimum(m, 0.0))
    return _first_true(stat > threshold)


@dataclass(frozen=True)
class DropResult:
    """Result of :func:`detect_drop`.

    Attributes:
        dropped: Whether the quality series is judged to have degraded.
        at: First index with ``series[i] < series[0] - max_drop``; if only the trend
            test fired, the Page-Hinkley alarm index (may be ``None``).
        drop: ``series[0] - min(series)`` (positive = worse than the start).
        trend: The AR(1)-corrected trend test (:func:`mann_kendall_ar1`).
        change_point: Page-Hinkley alarm index for a downward shift, or ``None``.
    """

    dropped: bool
    at: int | None
    drop: float
    trend: TrendResult
    change_point: int | None


def _robust_noise_sd(v: np.ndarray) -> float:
    """Noise SD from first differences (MAD / 0.6745 / sqrt 2); robust to level shifts."""
    if v.size < 3:
        return 0.0
    d = np.diff(v)
    return float(np.median(np.abs(d - np.median(d))) / 0.6745 / np.sqrt(2.0))


def detect_drop(series: ArrayLike, max_drop: float = 0.02, alpha: float = 0.01) -> DropResult:
    """Decide whether a quality series (e.g. AUC after each retrain) degraded.

    Decision rule: ``dropped`` if any ``series[i] < series[0] - max_drop`` **or** the
    AR(1)-corrected Mann-Kendall test (:func:`mann_kendall_ar1`) finds a significant
    downward trend at ``alpha``.  The change point is the Page-Hinkley alarm
    (:func:`page_hinkley`, direction ``"down"``) with ``delta = max_drop / 2`` and
    ``threshold = max(2 * max_drop, 5 * sigma)``, ``sigma`` being a robust noise SD
    estimated from first differences (median absolute deviation / 0.6745 / sqrt 2), so
    an abrupt drop of ``max_drop`` is flagged a few steps after it happens.

    Args:
        series: Quality metric over time (higher is better).
        max_drop: Largest tolerated drop below the first value (metric units).
        alpha: Significance level of the trend test.

    Returns:
        A :class:`DropResult`.
    """
    v = _as_1d(series, "series")
    if v.size == 0:
        raise ValueError("series must be non-empty")
    trend = mann_kendall_ar1(v, alpha=alpha)
    threshold = max(2.0 * max_drop, 5.0 * _robust_noise_sd(v))
    change_point = page_hinkley(v, delta=max_drop / 2.0, threshold=threshold, direction="down")
    breach = _first_true(v < v[0] - max_drop)
    dropped = breach is not None or trend.significant_down
    at = breach if breach is not None else (change_point if dropped else None)
    return DropResult(
        dropped=bool(dropped),
        at=at,
        drop=float(v[0] - v.min()),
        trend=trend,
        change_point=change_point,
    )


# --------------------------------------------------------------------------------------
# Early warning signals of critical transitions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlyWarningResult:
    """Result of :func:`early_warning`.

    Attributes:
        variance_tau: Kendall tau of the rolling variance against time.
        ac1_tau: Kendall tau of the rolling lag-1 autocorrelation against time.
        variance_p: Surrogate p-value of ``variance_tau`` (one-sided, upward).
        ac1_p: Surrogate p-value of ``ac1_tau`` (one-sided, upward).
        warns: ``variance_p <= alpha and ac1_p <= alpha``.
        series_variance: Rolling variance, length ``len(x)``; ``nan`` until the first
            full window (value at ``i`` uses the window ending at ``i``).
        series_ac1: Rolling lag-1 autocorrelation, aligned like ``series_variance``.
        first_warning_index: Time index at which the warning rule first held on the
            expanding indicator series (``None`` unless ``warns``).
    """

    variance_tau: float
    ac1_tau: float
    variance_p: float
    ac1_p: float
    warns: bool
    series_variance: np.ndarray
    series_ac1: np.ndarray
    first_warning_index: int | None


def _gaussian_smooth(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian kernel smooth along the last axis.

    Same result as ``scipy.ndimage.gaussian_filter1d(a, sigma, axis=-1, mode="reflect")``
    (kernel truncated at 4 sigma) but via FFT convolution, which is much faster for the
    wide kernels used in detrending and for many surrogate rows at once.
    """
    radius = int(4.0 * sigma + 0.5)
    if radius < 1:
        return a.copy()
    u = np.arange(-radius, radius + 1, dtype=float)
    kernel = np.exp(-0.5 * (u / sigma) ** 2)
    kernel /= kernel.sum()
    pad = [(0, 0)] * (a.ndim - 1) + [(radius, radius)]
    padded = np.pad(a, pad, mode="symmetric")
    shape = [1] * (a.ndim - 1) + [kernel.size]
    return signal.fftconvolve(padded, kernel.reshape(shape), mode="valid", axes=-1)


def _window_sums(a: np.ndarray, w: int) -> np.ndarray:
    """Sums over all length-``w`` windows along the last axis (cumulative-sum trick)."""
    c = np.cumsum(a, axis=-1)
    c = np.concatenate([np.zeros((*a.shape[:-1], 1)), c], axis=-1)
    return c[..., w:] - c[..., :-w]


def _rolling_var_ac1(r: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling variance and lag-1 autocorrelation for windows ending at ``w-1 .. n-1``.

    The autocorrelation is the Pearson correlation of the ``w-1`` pairs
    ``(r_{t-1}, r_t)`` inside the window.  Works on the last axis of any array.
    """
    r = r - r.mean(axis=-1, keepdims=True)
    s1 = _window_sums(r, w)
    s2 = _window_sums(r * r, w)
    var = (s2 - s1 * s1 / w) / (w - 1)

    a, b = r[..., :-1], r[..., 1:]
    m = w - 1
    sa, sb = _window_sums(a, m), _window_sums(b, m)
    saa, sbb, sab = _window_sums(a * a, m), _window_sums(b * b, m), _window_sums(a * b, m)
    cov = sab - sa * sb / m
    den = np.sqrt(np.maximum(saa - sa * sa / m, 0.0) * np.maximum(sbb - sb * sb / m, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        ac1 = np.where(den > 0, cov / den, 0.0)
    return var, ac1


def _running_kendall_tau(y: np.ndarray) -> np.ndarray:
    """Kendall tau (tau-a) against time of every prefix ``y[..., :c]``, ``c = 1..m``.

    ``colsum[j] = sum_{i<j} sign(y_j - y_i)``; its cumulative sum is Kendall's ``S`` of
    each prefix.  Pairwise signs are formed in chunks over the leading axis.
    """
    y2 = np.atleast_2d(y)
    n_series, m = y2.shape
    upper = np.triu(np.ones((m, m), dtype=bool), k=1)
    colsum = np.empty((n_series, m))
    chunk = max(1, 2_000_000 // (m * m))
    for start in range(0, n_series, chunk):
        blk = y2[start : start + chunk]
        later, earlier = blk[:, None, :], blk[:, :, None]  # [s, i, j] -> y_j vs y_i
        n_up = np.count_nonzero((later > earlier) & upper, axis=1)
        n_down = np.count_nonzero((later < earlier) & upper, axis=1)
        colsum[start : start + chunk] = n_up - n_down
    s = np.cumsum(colsum, axis=-1)
    c = np.arange(1, m + 1)
    pairs = np.maximum(c * (c - 1) / 2.0, 1.0)
    tau = s / pairs
    return tau.reshape(y.shape)


def _ar1_surrogates(resid: np.ndarray, n_surrogates: int, rng: np.random.Generator) -> np.ndarray:
    """Stationary Gaussian AR(1) series matching the residuals' lag-1 ACF and variance."""
    n = resid.size
    phi = float(np.clip(_lag1_autocorr(resid), -0.99, 0.99))
    sd = float(np.std(resid))
    e = rng.standard_normal((n_surrogates, n)) * sd * np.sqrt(1.0 - phi * phi)
    e[:, 0] = e[:, 0] / np.sqrt(1.0 - phi * phi)  # stationary start
    return signal.lfilter([1.0], [1.0, -phi], e, axis=1)


def _phase_surrogates(resid: np.ndarray, n_surrogates: int, rng: np.random.Generator) -> np.ndarray:
    """Fourier phase-randomized surrogates (same periodogram as the residuals)."""
    n = resid.size
    spec = np.fft.rfft(resid - resid.mean())
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(n_surrogates, spec.size))
    phases[:, 0] = 0.0
    if n % 2 == 0:
        phases[:, -1] = 0.0
    return np.fft.irfft(np.abs(spec) * np.exp(1j * phases), n=n, axis=1) + resid.mean()


def early_warning(
    x: ArrayLike,
    rng: np.random.Generator,
    window: float = 0.5,
    detrend_bandwidth: float = 0.1,
    n_surrogates: int = 200,
    alpha: float = 0.05,
    surrogate: Literal["ar1", "phase"] = "ar1",
    *,
    n_checkpoints: int = 20,
    max_tau_points: int = 100,
) -> EarlyWarningResult:
    """Generic early-warning signals of a critical transition (critical slowing down).

    Method (Dakos et al. 2012, "rolling window metrics"):

    1. Detrend: subtract a Gaussian kernel smooth of ``x`` (kernel SD
       ``detrend_bandwidth * len(x)``, default 10 %, truncated at 4 SD, reflecting
       boundaries; identical to ``scipy.ndimage.gaussian_filter1d`` but FFT-based).
    2. Rolling variance and rolling lag-1 autocorrelation of the residuals over windows
       of ``window * len(x)`` points (default 50 %), each value assigned to the window's
       last index; computed with cumulative sums.
    3. Kendall tau of each indicator against time.  For speed the indicator series is
       evaluated at ``max_tau_points`` evenly spaced windows (default 100; neighbouring
       windows overlap almost fully, so this barely changes tau).  The same grid is used
       for data and surrogates, so the test stays exact.
    4. Significance from ``n_surrogates`` surrogate series of the residuals
       (``"ar1"``: stationary AR(1) with the residuals' lag-1 autocorrelation and
       variance, simulated for all surrogates at once with ``scipy.signal.lfilter``;
       ``"phase"``: Fourier phase randomization), passed through the same detrending
       and indicators.  One-sided ``p = (1 + #{tau_sur >= tau_obs}) / (n_surrogates + 1)``.

    Decision rule: ``warns`` when **both** ``variance_p <= alpha`` and ``ac1_p <= alpha``.
    Requiring both indicators keeps the false-alarm rate well below ``alpha`` (measured
    0-0.5 % on 200 stationary AR(1) ``phi = 0.5`` series of length 1000, versus 1.5-2.5 %
    for AC1 alone and 3.5-4.5 % for variance alone) while an AR(1) whose coefficient
    rises linearly from 0.2 to 0.95 over 1000 steps is still flagged in 97.5-99 % of
    series (all measured with 99 surrogates).

    Lead time: the running Kendall tau of the *expanding* indicator series (prefixes of
    the indicator series, computed for all prefixes at once from the pairwise-sign
    matrix) is compared with the surrogates' running taus at ``n_checkpoints`` (20)
    evenly spaced prefix lengths starting at 10 % of the indicator series.  The rule at
    a checkpoint is the same as ``warns`` (both surrogate p-values <= alpha, i.e. both
    taus above the surrogates' (1 - alpha) quantile).  ``first_warning_index`` is the
    time index (end of the last window in the prefix) of the first checkpoint at which
    the rule holds, reported only if ``warns``; ``len(x) - 1 - first_warning_index`` is
    the lead time relative to the end of the record.

    References:
        Dakos, V. et al. (2012). Methods for detecting early warnings of critical
        transitions in time series illustrated using simulated ecological data.
        PLoS ONE 7(7): e41010.
        Theiler, J. et al. (1992). Testing for nonlinearity in time series: the method of
        surrogate data. Physica D 58, 77-94.

    Args:
        x: Equally spaced time series (at least 20 points).
        rng: Random generator for the surrogates.
        window: Rolling-window length as a fraction of ``len(x)``.
        detrend_bandwidth: Gaussian-kernel SD as a fraction of ``len(x)``; ``0`` skips
            detrending (only the mean is removed).
        n_surrogates: Number of surrogate series.
        alpha: One-sided significance level for each indicator.
        surrogate: ``"ar1"`` or ``"phase"``.
        n_checkpoints: Number of prefix lengths checked for ``first_warning_index``.
        max_tau_points: Maximum number of indicator values entering each Kendall tau.

    Returns:
        An :class:`EarlyWarningResult`.
    """
    v = _as_1d(x, "x")
    n = v.size
    if n < 20:
        raise ValueError(f"need at least 20 points, got {n}")
    if not 0.0 < window < 1.0:
        raise ValueError(f"window must be in (0, 1), got {window}")
    if surrogate not in ("ar1", "phase"):
        raise ValueError(f"surrogate must be 'ar1' or 'phase', got {surrogate!r}")
    if n_surrogates < 1:
        raise ValueError("n_surrogates must be >= 1")
    w = max(4, int(round(window * n)))
    if w >= n - 2:
        raise ValueError("window too long for the series")
    bw = detrend_bandwidth * n

    def detrend(a: np.ndarray) -> np.ndarray:
        if bw <= 0:
            return a - a.mean(axis=-1, keepdims=True)
        return a - _gaussian_smooth(a, bw)

    resid = detrend(v)
    make = _ar1_surrogates if surrogate == "ar1" else _phase_surrogates
    sur_resid = detrend(make(resid, n_surrogates, rng))

    var_obs, ac1_obs = _rolling_var_ac1(resid, w)
    var_sur, ac1_sur = _rolling_var_ac1(sur_resid, w)
    m_full = var_obs.size
    grid = np.unique(np.round(np.linspace(0, m_full - 1, min(m_full, max_tau_points))).astype(int))

    tau_var = _running_kendall_tau(var_obs[grid])
    tau_ac1 = _running_kendall_tau(ac1_obs[grid])
    tau_var_s = _running_kendall_tau(var_sur[:, grid])
    tau_ac1_s = _running_kendall_tau(ac1_sur[:, grid])

    m = grid.size
    c_min = max(3, int(np.ceil(0.1 * m)))
    checkpoints = np.unique(np.round(np.linspace(c_min, m, n_checkpoints)).astype(int)) - 1

    def pvals(obs: np.ndarray, sur: np.ndarray) -> np.ndarray:
        exceed = np.sum(sur[:, checkpoints] >= obs[checkpoints] - 1e-12, axis=0)
        return (1.0 + exceed) / (n_surrogates + 1.0)

    p_var = pvals(tau_var, tau_var_s)
    p_ac1 = pvals(tau_ac1, tau_ac1_s)
    rule = (p_var <= alpha) & (p_ac1 <= alpha)
    warns = bool(rule[-1])
    first = None
    if warns:
        first = int(w - 1 + grid[checkpoints[int(np.argmax(rule))]])

    full_var = np.full(n, np.nan)
    full_ac1 = np.full(n, np.nan)
    full_var[w - 1 :] = var_obs
    full_ac1[w - 1 :] = ac1_obs
    return EarlyWarningResult(
        variance_tau=float(tau_var[-1]),
        ac1_tau=float(tau_ac1[-1]),
        variance_p=float(p_var[-1]),
        ac1_p=float(p_ac1[-1]),
        warns=warns,
        series_variance=full_var,
        series_ac1=full_ac1,
        first_warning_index=first,
    )


# --------------------------------------------------------------------------------------
# Convergence of successive models
# --------------------------------------------------------------------------------------

#: Distances at or below this fraction of the largest distance count as zero.
CONVERGENCE_ZERO_RTOL: float = 1e-10
#: Minimum fraction of successive-step pairs with negative cosine for "oscillating".
OSCILLATION_FRACTION: float = 0.75


@dataclass(frozen=True)
class ConvergenceResult:
    """Result of :func:`convergence`.

    Attributes:
        status: ``"converging"``, ``"oscillating"``, ``"diverging"`` or ``"undetermined"``.
        rate: Geometric contraction factor ``exp(slope)`` of the Theil-Sen fit of
            ``log(distance)`` on the step index (``< 1`` shrinking, ``> 1`` growing).
        rate_low: Lower end of the 95 % confidence interval of ``rate`` (Sen 1968).
        rate_high: Upper end of that interval.
        n_used: Number of (non-zero) distances used in the fit.
        reached_zero: Whether the last distance is ``<= 1e-10 * max(distances)``.
        alternating_fraction: Fraction of successive step pairs with negative cosine
            (``None`` when ``steps`` was not given).
    """

    status: ConvergenceStatus
    rate: float
    rate_low: float
    rate_high: float
    n_used: int
    reached_zero: bool
    alternating_fraction: float | None


def convergence(distances: ArrayLike, steps: ArrayLike | None = None) -> ConvergenceResult:
    """Classify the convergence of successive models from their step sizes.

    Method: ``distances[t] = ||theta_{t+1} - theta_t||``.  Distances at or below
    ``CONVERGENCE_ZERO_RTOL * max(distances)`` (1e-10) count as zero and are excluded;
    on the rest, Theil-Sen regression of ``log(distance)`` on ``t`` gives the slope and
    its 95 % confidence interval (:func:`theil_sen`, scipy's ``theilslopes`` up to 1,000
    retrains and an O(n log n) selection beyond; the interval assumes independent
    residuals), and ``rate = exp(slope)`` is the geometric contraction
    factor (``distance_t ~ rate**t``).

    Decision rules, in order:

    * ``"converging"`` if the last distance is ~0 (``reached_zero``), or the whole
      confidence interval of the rate is below 1 (``rate_high < 1``).
    * ``"diverging"`` if the whole interval is above 1 (``rate_low > 1``).
    * otherwise the rate is indistinguishable from 1 (distances neither shrink nor
      grow): ``"oscillating"`` if ``steps`` (shape ``(T, p)``, the parameter differences)
      is given and at least ``OSCILLATION_FRACTION`` (75 %) of successive step pairs
      have negative cosine (the iterate keeps jumping back and forth), else
      ``"undetermined"``.
    * fewer than 3 non-zero distances (and not ``reached_zero``): ``"undetermined"``.

    References:
        Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's
        tau. JASA 63, 1379-1389.
        Perdomo, J. et al. (2020). Performative prediction. ICML (repeated risk
        minimization converges at a geometric rate when ``eps * beta / gamma < 1``).

    Args:
        distances: Non-negative step norms, one per retrain.
        steps: Optional parameter differences ``theta_{t+1} - theta_t``, shape
            ``(T, p)`` (or ``(T,)`` for a scalar parameter).

    Returns:
        A :class:`ConvergenceResult`.
    """
    d = _as_1d(distances, "distances")
    if np.any(d < 0):
        raise ValueError("distances must be non-negative")

    alt: float | None = None
    if steps is not None:
        s = np.asarray(steps, dtype=float)
        s = s.reshape(s.shape[0], -1)
        norms = np.linalg.norm(s, axis=1)
        valid = (norms[:-1] > 0) & (norms[1:] > 0)
        if np.any(valid):
            cos = np.sum(s[:-1] * s[1:], axis=1)[valid] / (norms[:-1] * norms[1:])[valid]
            alt = float(np.mean(cos < 0))
        else:
            alt = 0.0

    nan = float("nan")
    if d.size == 0 or d.max() == 0:
        zero = d.size > 0
        status: ConvergenceStatus = "converging" if zero else "undetermined"
        return ConvergenceResult(status, 0.0 if zero else nan, nan, nan, 0, zero, alt)

    tiny = d <= CONVERGENCE_ZERO_RTOL * d.max()
    reached_zero = bool(tiny[-1])
    t = np.flatnonzero(~tiny).astype(float)
    n_used = t.size
    if n_used >= 2:
        slope, lo, hi = theil_sen(np.log(d[~tiny]), t, confidence=0.95)
        rate, rate_low, rate_high = float(np.exp(slope)), float(np.exp(lo)), float(np.exp(hi))
    else:
        rate, rate_low, rate_high = (0.0 if reached_zero else nan), nan, nan

    if reached_zero or (n_used >= 3 and rate_high < 1.0):
        status = "converging"
    elif n_used < 3:
        status = "undetermined"
    elif rate_low > 1.0:
        status = "diverging"
    elif alt is not None and alt >= OSCILLATION_FRACTION:
        status = "oscillating"
    else:
        status = "undetermined"
    return ConvergenceResult(status, rate, rate_low, rate_high, n_used, reached_zero, alt)
