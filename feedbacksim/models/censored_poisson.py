"""The censored-Poisson model: each region's rate fitted on a window of days, counts capped by the patrols.

ml-fairness-gym's attention-allocation agents (``MLEGreedyAgent``,
``MLEProbabilityMatchingAgent``; D'Amour et al., "Fairness is not static", FAT* 2020)
estimate each location's Poisson incident rate by maximum likelihood over the last
``window`` steps, refitting every ``interval`` steps once ``burn_steps`` have passed. A
count equal to the attention sent is a lower bound (the units could find no more), so
its likelihood is the Poisson tail ``P(C >= count)``; a smaller count is exact,
``P(C = count)``. A location that got no attention in the window has no information
and an estimate of 0 (their fit starts from, and stays at, the window's mean count,
which is 0), so a greedy allocator abandons it while its rate climbs.

This model reproduces that estimator on the ``policing`` world with
``allocation_features: true``, whose observations carry the region, the day's
discovery cap (-1: uncapped) and the day. The refit schedule is the agent's
(``retrain: {every: 10}``), the warm-up the model's: a fit before ``warmup_days`` of
data keeps the prior rates (0 by default, as in ml-fairness-gym).

When to use it rather than ``incident-rate`` (see docs/worlds.md): when rates change in
response to the allocation and discoveries are capped by the patrols, i.e. D'Amour et
al.'s setting. ``incident-rate`` (a cumulative mean of discovered incidents per observed
day) suits fixed rates, where the older observations stay informative.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.registry import register

optimize = lazy_module("scipy.optimize")
special = lazy_module("scipy.special")

NonNegative = Annotated[float, Field(ge=0)]


def censored_poisson_mle(counts: np.ndarray, caps: np.ndarray, max_rate: float) -> float:
    """Maximum-likelihood Poisson rate of ``counts``, each a lower bound where it reaches its cap.

    ``caps`` < 0 means uncapped; rows with cap 0 carry no information and are ignored.
    The log-likelihood is concave in the rate (the Poisson pmf and the Poisson tail, a
    gamma CDF in the rate, are log-concave), so a bounded scalar search finds its maximum;
    counts that are all lower bounds have no finite maximum and give ``max_rate``.
    """
    informative = caps != 0
    counts, caps = counts[informative], caps[informative]
    if counts.size == 0:
        return 0.0
    censored = (caps > 0) & (counts >= caps)
    exact = counts[~censored]
    if not censored.any():
        return float(min(exact.mean(), max_rate))
    if exact.size == 0:
        return float(max_rate)
    # scipy.stats.poisson's logpmf and logsf, element for element (the same ufuncs), without
    # the distribution object's argument handling, most of a fit's time.
    log_factorial = special.gammaln(exact + 1)
    below = np.floor(counts[censored] - 1)

    def negative_log_likelihood(rate: float) -> float:
        logpmf = special.xlogy(exact, rate) - log_factorial - rate
        with np.errstate(divide="ignore"):
            logsf = np.log(special.pdtrc(below, rate))
        return -(logpmf.sum() + logsf.sum())

    result = optimize.minimize_scalar(
        negative_log_likelihood, bounds=(1e-9, max_rate), method="bounded", options={"xatol": 1e-6}
    )
    return float(result.x)


@register("model", "censored-poisson")
class CensoredPoissonModel(Regressor):
    """Each region's Poisson rate by censoring-aware maximum likelihood over the last ``window_days`` days.

    Features: region index, the day's discovery cap (-1: uncapped), the day (the
    ``policing`` world with ``allocation_features: true``). Labels: the incidents
    discovered in the region that day.

    Args:
        prior_rates: the estimate before the warm-up ends (default 0 in every region; the
            number of regions is read from it, or from the data when it is not given).
        regions: number of regions when ``prior_rates`` is not given.
        window_days: the fit uses the rows of the last ``window_days`` days (ml-fairness-gym:
            100).
        warmup_days: a fit on fewer days of data keeps the prior (ml-fairness-gym: 25).
        max_rate: the estimate when every count in the window reached its cap (the
            likelihood then grows without bound).
    """

    def __init__(
        self,
        prior_rates: list[NonNegative] | None = None,
        regions: Annotated[int, Field(ge=1)] | None = None,
        window_days: Annotated[float, Field(gt=0)] = 100.0,
        warmup_days: Annotated[float, Field(ge=0)] = 25.0,
        max_rate: Annotated[float, Field(gt=0)] = 50.0,
    ) -> None:
        self.prior_rates = prior_rates
        self.regions = regions
        self.window_days = window_days
        self.warmup_days = warmup_days
        self.max_rate = max_rate

    @classmethod
    def check_params(cls, params: dict) -> None:
        if params.get("prior_rates") is None and params.get("regions") is None:
            raise ValueError("give prior_rates (one per region) or regions")

    def __sklearn_is_fitted__(self) -> bool:
        return True  # the prior is a usable model before any observation

    def _prior(self) -> np.ndarray:
        if self.prior_rates is not None:
            return np.asarray(self.prior_rates, dtype=float)
        return np.zeros(int(self.regions or 0))

    @property
    def rates_(self) -> np.ndarray:
        """Current estimate of each region's rate."""
        return self._rates if hasattr(self, "_rates") else self._prior()

    def fit(self, X: np.ndarray, y: np.ndarray) -> CensoredPoissonModel:
        """Estimate every region's rate from the window's rows (the prior during the warm-up)."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2 or X.shape[1] < 3:
            raise ValueError(
                "censored-poisson needs features (region, discovery cap, day): use the "
                "policing world with allocation_features: true"
            )
        rates = self._prior().copy()
        if y.size == 0 or X[:, 2].max() + 1 < self.warmup_days:
            self._rates = rates
            return self
        regions = X[:, 0].astype(np.int64)
        if regions.min() < 0 or regions.max() >= rates.shape[0]:
            raise ValueError(f"region index outside 0..{rates.shape[0] - 1}")
        recent = X[:, 2] > X[:, 2].max() - self.window_days
        for r in range(rates.shape[0]):
            mine = recent & (regions == r)
            rates[r] = censored_poisson_mle(y[mine], X[mine, 1], self.max_rate)
        self._rates = rates
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The estimated rate of each row's region."""
        return self.rates_[np.asarray(X)[:, 0].astype(np.int64)]
