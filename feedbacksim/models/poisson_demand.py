"""Per-product Poisson demand forecaster, naive or censoring-aware.

Rows are product-days with features ``[product index, seasonal factor f, sold out (0/1)]``
and the label ``sales = min(demand, stock)``. Demand of product p on a day with seasonal
factor f is modelled as Poisson(level_p * f): the seasonal profile is known (calendar
effects), each product's level is learned.

* ``censoring: ignore`` treats sales as demand: level_p = sum(sales) / sum(f), the Poisson
  maximum-likelihood estimate with exposure f. On a sold-out day the sale is only a lower
  bound of demand, so this estimate is biased low.
* ``censoring: mle`` treats sold-out days as lower bounds: the likelihood of such a day is
  P(D >= sales) instead of P(D = sales) (a Tobit-style censored Poisson likelihood). It is
  concave in the level (the Poisson survival function is log-concave in its mean), so the
  estimate is the root of the score, found for all products at once by bisection on
  log(level).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.registry import register

special = lazy_module("scipy.special")

# Bisection range of the censored MLE (levels in units per day at seasonal factor 1).
MIN_LEVEL, MAX_LEVEL = 1e-6, 1e6
BISECTION_STEPS = 30  # a log-range of at most 27.6 halved 30 times: relative error < 3e-8


def sold_out_score(
    level: np.ndarray, product: np.ndarray, exposure: np.ndarray, sales: np.ndarray, n: int
) -> np.ndarray:
    """Per product, the sum over sold-out days of d/d(log level) of log P(D >= sales).

    With m = level * exposure and k = ceil(sales), a day on which demand was at least k
    contributes ``m * P(D = k - 1) / P(D >= k)`` = E[D | D >= k] - m; a sell-out at zero
    stock (k = 0) carries no information and contributes 0.
    """
    m = level[product] * exposure
    k = np.ceil(sales)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        pmf = np.exp((k - 1) * np.log(m) - m - special.gammaln(np.maximum(k, 1)))
        hazard = pmf / special.pdtrc(k - 1, m)
    # Where both underflow (a mean far below the censoring point) the hazard is ~ k / m.
    hazard = np.where(np.isfinite(hazard), hazard, k / m)
    return np.bincount(product, np.where(k > 0, m * hazard, 0.0), minlength=n)


@register("model", "poisson-demand")
class PoissonDemandModel(Regressor):
    """Forecasts each product's daily demand mean, level_p * seasonal factor, from sales.

    Args:
        censoring: ``ignore`` (sales are demand) or ``mle`` (sold-out days are lower bounds).
    """

    def __init__(self, censoring: Literal["ignore", "mle"] = "ignore") -> None:
        self.censoring = censoring

    def fit(self, X: np.ndarray, y: np.ndarray) -> PoissonDemandModel:
        """Estimate ``levels_`` (one per product index seen, 0..max index)."""
        X = np.asarray(X, dtype=float)
        sales = np.asarray(y, dtype=float)
        if X.ndim != 2 or X.shape[1] != 3:
            raise ValueError("features must be [product, seasonal factor, sold out]")
        if (sales < 0).any() or (X[:, 1] <= 0).any():
            raise ValueError("sales must be >= 0 and seasonal factors > 0")
        product = X[:, 0].astype(np.int64)
        exposure, sold_out = X[:, 1], X[:, 2] > 0
        n = int(product.max()) + 1
        total_exposure = np.bincount(product, exposure, minlength=n)
        if self.censoring == "ignore" or not sold_out.any():
            levels = np.bincount(product, sales, minlength=n) / np.maximum(total_exposure, 1e-300)
        else:
            levels = self._censored_mle(product, exposure, sales, sold_out, n)
        self.levels_ = np.where(total_exposure > 0, levels, 0.0)
        return self

    @staticmethod
    def _censored_mle(
        product: np.ndarray, exposure: np.ndarray, sales: np.ndarray, sold_out: np.ndarray, n: int
    ) -> np.ndarray:
        """Root of the censored score, per product, by bisection on log(level).

        The score of a level L is ``sum(observed sales) - L * sum(observed exposure)`` (days
        with demand observed, in closed form) plus :func:`sold_out_score`. A sold-out day
        contributes E[D | D >= k] - m >= k - m, more than if its sale were taken as demand,
        so the naive estimate is a lower bound of the root.
        """
        seen = ~sold_out
        seen_sales = np.bincount(product[seen], sales[seen], minlength=n)
        seen_exposure = np.bincount(product[seen], exposure[seen], minlength=n)
        total_exposure = np.bincount(product, exposure, minlength=n)
        naive = np.bincount(product, sales, minlength=n) / np.maximum(total_exposure, 1e-300)
        lo = np.log(np.clip(naive, MIN_LEVEL, MAX_LEVEL))
        hi = np.full(n, np.log(MAX_LEVEL))
        p, f, y = product[sold_out], exposure[sold_out], sales[sold_out]
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            level = np.exp(mid)
            score = seen_sales - level * seen_exposure + sold_out_score(level, p, f, y, n)
            lo = np.where(score > 0, mid, lo)
            hi = np.where(score > 0, hi, mid)
        return np.exp(0.5 * (lo + hi))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Forecast demand mean of each row: level of its product times its seasonal factor."""
        X = np.asarray(X, dtype=float)
        return self.levels_[X[:, 0].astype(np.int64)] * X[:, 1]
