"""The incident-count model of predictive policing: per-region counts of observed incidents."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.registry import register

PositiveCount = Annotated[float, Field(gt=0)]


@register("model", "incident-count")
class IncidentCountModel(Regressor):
    """Counts observed incidents per region, starting from prior counts; predicts the count.

    Features are one column holding the region index; labels are incident counts. With a
    proportional policy this is the generalized Pólya urn of Ensign et al. (2018).

    ``correction=True`` applies Ensign et al.'s fix, generalized to K regions: an
    observation from region i, which was observed with probability ``q_i`` given the day's
    decision, is kept with probability ``min_j q_j / q_i``. Each region's incidents then
    enter the counts at rate ``min_j q_j * rate_i``, proportional to its true rate whatever
    the current allocation, so the counts' shares converge to the true incident shares.
    (With two regions and one patrol this is ``p_other / max(p)``: the less-patrolled
    region's observations are always kept.) Rows observed regardless of the decision
    (reported incidents, propensity 1 = min propensity) are kept as they are.
    """

    uses_propensity = True

    def __init__(
        self, prior_counts: list[PositiveCount] | None = None, correction: bool = False
    ) -> None:
        self.prior_counts = prior_counts
        self.correction = correction

    @classmethod
    def check_params(cls, params: dict) -> None:
        if params.get("prior_counts") is None:
            raise ValueError("prior_counts is required (one positive count per region)")

    def __sklearn_is_fitted__(self) -> bool:
        return True  # the prior counts are a usable model before any observation

    @property
    def counts_(self) -> np.ndarray:
        if not hasattr(self, "_counts"):
            self._counts = np.asarray(self.prior_counts, dtype=float).copy()
        return self._counts

    def _accepted(
        self,
        y: np.ndarray,
        propensity: np.ndarray | None,
        min_propensity: np.ndarray | None,
        rng: np.random.Generator | None,
    ) -> np.ndarray:
        if not self.correction or propensity is None:
            return y
        if min_propensity is None or rng is None:
            raise ValueError("the correction needs min_propensity and a generator (rng)")
        keep = np.minimum(1.0, min_propensity / propensity)
        return rng.binomial(y.astype(np.int64), keep).astype(float)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        propensity: np.ndarray | None = None,
        min_propensity: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> IncidentCountModel:
        """Counts = prior + incidents accepted from ``(X, y)``."""
        self._counts = np.asarray(self.prior_counts, dtype=float).copy()
        return self.partial_fit(X, y, propensity, min_propensity, rng)

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        propensity: np.ndarray | None = None,
        min_propensity: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> IncidentCountModel:
        """Add incidents accepted from ``(X, y)`` to the counts."""
        regions = np.asarray(X)[:, 0].astype(np.int64)
        y = np.asarray(y, dtype=float)
        counts = self.counts_
        k = counts.shape[0]
        if regions.size <= 64:  # a short batch: Python's min/max beat two numpy reductions
            listed = regions.tolist()
            outside = bool(listed) and (min(listed) < 0 or max(listed) >= k)
        else:
            outside = regions.min() < 0 or regions.max() >= k
        if outside:
            raise ValueError(f"region index outside 0..{counts.shape[0] - 1}")
        counts += np.bincount(
            regions, self._accepted(y, propensity, min_propensity, rng), counts.shape[0]
        )
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The current count of each row's region."""
        return self.counts_[np.asarray(X)[:, 0].astype(np.int64)]
