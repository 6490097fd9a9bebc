"""A one-dimensional Gaussian generative model: fitted mean and unbiased variance."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.registry import register


@register("model", "gaussian")
class GaussianModel(Regressor):
    """Fits N(mean, variance) to the labels (mean and *unbiased* variance, ddof=1) and samples from it.

    Before its first fit it is N(``initial_mean``, ``initial_variance``), e.g. the true data
    distribution that generation 0 was drawn from. ``predict`` gives the mean; a world that
    uses the model generatively calls :meth:`sample`.
    """

    def __init__(
        self, initial_mean: float = 0.0, initial_variance: Annotated[float, Field(gt=0)] = 1.0
    ) -> None:
        self.initial_mean = initial_mean
        self.initial_variance = initial_variance

    def __sklearn_is_fitted__(self) -> bool:
        return True  # the initial distribution is a usable model

    def __sklearn_clone__(self) -> GaussianModel:
        # Refitted once per generation: skip scikit-learn's signature introspection.
        return GaussianModel(self.initial_mean, self.initial_variance)

    def fit(self, X: np.ndarray, y: np.ndarray) -> GaussianModel:
        """Mean and unbiased variance of ``y`` (at least two rows)."""
        y = np.asarray(y, dtype=float)
        if y.size < 2:
            raise ValueError(f"an unbiased variance needs at least 2 rows, got {y.size}")
        # Plain sums: numpy's mean/var wrappers cost more than the arithmetic on 20 rows.
        mean = y.sum() / y.size
        self.mean_ = float(mean)
        self.variance_ = float(np.square(y - mean).sum() / (y.size - 1))
        return self

    @property
    def params_(self) -> tuple[float, float]:
        """``(mean, variance)`` of the current distribution (the initial one before a fit)."""
        return (
            getattr(self, "mean_", float(self.initial_mean)),
            getattr(self, "variance_", float(self.initial_variance)),
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The mean for every row."""
        return np.full(np.asarray(X).shape[0], self.params_[0])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws from the fitted distribution."""
        mean, variance = self.params_
        return rng.normal(mean, np.sqrt(variance), n)
