"""The mean estimator: the minimizer of squared loss over constant predictions."""

from __future__ import annotations

import numpy as np

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.registry import register


@register("model", "mean")
class MeanModel(Regressor):
    """Predicts the mean of the training labels for every case (squared-loss risk minimizer).

    Before its first fit it predicts ``initial``, the deployed prediction the loop starts
    from (theta_0 of the performative location family).
    """

    def __init__(self, initial: float = 0.0) -> None:
        self.initial = initial

    def __sklearn_is_fitted__(self) -> bool:
        return True  # ``initial`` is a usable prediction before any data

    def fit(self, X: np.ndarray, y: np.ndarray) -> MeanModel:
        """``mean_`` = the mean of ``y``."""
        y = np.asarray(y, dtype=float)
        if y.size == 0:
            raise ValueError("cannot fit a mean to zero rows")
        self.mean_ = float(y.mean())
        return self

    @property
    def theta(self) -> float:
        """The deployed prediction: the fitted mean, or ``initial`` before any fit."""
        return getattr(self, "mean_", float(self.initial))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``theta`` for every row."""
        return np.full(np.asarray(X).shape[0], self.theta)
