"""The incident-rate model: each region's expected incidents per patrolled day."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.registry import register

NonNegative = Annotated[float, Field(ge=0)]


@register("model", "incident-rate")
class IncidentRateModel(Regressor):
    """Estimates each region's daily incident rate from the days it was observed.

    Features are one column holding the region index; labels are the incidents observed
    in that region on one day. The estimate is a weighted mean of the observed days,
    starting from ``prior_rates`` worth ``prior_days`` days. With ``halflife`` an
    observation's weight halves every ``halflife`` later observations of its region, so
    the estimate follows a rate that changes (D'Amour et al.'s dynamic rates); without
    it every observed day counts the same. Regions that are never observed keep their
    last estimate: that is the blind spot a greedy allocation creates.

    The estimate is of *discovered* incidents per observed day, which is what the
    dispatcher can see: when patrols are capped (``discoveries_per_patrol``) it is
    censored at the patrols sent, as a deployed system's would be. For D'Amour et al.'s
    setting (rates that move with the allocation, capped discoveries) ml-fairness-gym's
    estimator is ``censored-poisson``: docs/worlds.md says when each fits.
    """

    def __init__(
        self,
        prior_rates: list[NonNegative] | None = None,
        prior_days: Annotated[float, Field(gt=0)] = 1.0,
        halflife: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        self.prior_rates = prior_rates
        self.prior_days = prior_days
        self.halflife = halflife

    @classmethod
    def check_params(cls, params: dict) -> None:
        if params.get("prior_rates") is None:
            raise ValueError("prior_rates is required (one non-negative rate per region)")

    def __sklearn_is_fitted__(self) -> bool:
        return True  # the prior rates are a usable model before any observation

    def _state(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "_weights"):
            prior = np.asarray(self.prior_rates, dtype=float)
            self._weights = np.full(prior.shape[0], float(self.prior_days))
            self._totals = prior * self.prior_days
        return self._totals, self._weights

    @property
    def rates_(self) -> np.ndarray:
        """Current estimate of each region's rate."""
        totals, weights = self._state()
        return totals / weights

    def fit(self, X: np.ndarray, y: np.ndarray) -> IncidentRateModel:
        """Estimate from the prior and ``(X, y)`` only."""
        for name in ("_weights", "_totals"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X, y)

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> IncidentRateModel:
        """Add observed days ``(X, y)`` to the estimate (rows in time order)."""
        totals, weights = self._state()
        regions = np.asarray(X)[:, 0].astype(np.int64)
        y = np.asarray(y, dtype=float)
        k = totals.shape[0]
        if regions.size and (regions.min() < 0 or regions.max() >= k):
            raise ValueError(f"region index outside 0..{k - 1}")
        counts = np.bincount(regions, minlength=k)
        if self.halflife is None:
            totals += np.bincount(regions, y, k)
            weights += counts
            return self
        # The j-th of c new rows of a region is followed by c-1-j newer ones: weight keep**(c-1-j).
        keep = 0.5 ** (1.0 / self.halflife)
        order = np.argsort(regions, kind="stable")
        sorted_regions = regions[order]
        first = np.searchsorted(sorted_regions, sorted_regions, side="left")
        rank = np.arange(regions.size) - first
        age = counts[sorted_regions] - 1 - rank
        w = keep**age
        decay = keep**counts
        totals *= decay
        weights *= decay
        totals += np.bincount(sorted_regions, w * y[order], k)
        weights += np.bincount(sorted_regions, w, k)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The estimated rate of each row's region."""
        return self.rates_[np.asarray(X)[:, 0].astype(np.int64)]
