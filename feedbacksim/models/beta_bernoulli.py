"""The Beta-Bernoulli model of a bandit: per-arm posterior mean of the success rate."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.registry import register

PositiveCount = Annotated[float, Field(gt=0)]


@register("model", "beta-bernoulli")
class BetaBernoulliModel(Regressor):
    """Posterior mean of each arm's success rate under a Beta(a, b) prior; predicts it per arm.

    Features are one column holding the arm index; labels are 0/1 rewards. After s
    successes in n pulls the posterior is Beta(a + s, b + n - s) and its mean,
    ``(a + s) / (a + b + n)``, is the score of every row of that arm. An arm never pulled
    scores the prior mean ``a / (a + b)``. A greedy policy on these scores is the classic
    "exploit the current estimate" bandit, which only ever learns about the arm it pulls.
    It is a regressor (``predict``, no ``predict_proba``) because its output is an
    estimate of a rate, not a class probability of the row.
    """

    def __init__(self, prior_successes: PositiveCount = 1.0, prior_failures: PositiveCount = 1.0):
        self.prior_successes = prior_successes
        self.prior_failures = prior_failures

    def __sklearn_is_fitted__(self) -> bool:
        return True  # the prior is a usable model before any observation

    def _grow(self, size: int) -> None:
        """Make room for arms ``0..size-1`` (counts start at zero)."""
        if not hasattr(self, "successes_"):
            self.successes_ = np.zeros(0)
            self.pulls_ = np.zeros(0)
        old = self.successes_.shape[0]
        if size > old:
            self.successes_ = np.concatenate([self.successes_, np.zeros(size - old)])
            self.pulls_ = np.concatenate([self.pulls_, np.zeros(size - old)])

    def fit(self, X: np.ndarray, y: np.ndarray) -> BetaBernoulliModel:
        """Posterior from the prior and the rewards ``y`` of arms ``X[:, 0]``."""
        self.successes_ = np.zeros(0)
        self.pulls_ = np.zeros(0)
        return self.partial_fit(X, y)

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> BetaBernoulliModel:
        """Add the rewards ``y`` of arms ``X[:, 0]`` to the counts."""
        arms = np.asarray(X)[:, 0].astype(np.intp)
        y = np.asarray(y, dtype=float)
        if arms.shape[0] == 0:
            return self
        if arms.shape[0] <= 64:  # a short batch: Python beats five numpy calls
            listed = arms.tolist()
            low, high = min(listed), max(listed)
            bad = any(v != 0.0 and v != 1.0 for v in y.tolist())
        else:
            low, high = arms.min(), arms.max()
            bad = ((y != 0.0) & (y != 1.0)).any()
        if low < 0 or bad:
            raise ValueError("arm indices must be non-negative and rewards 0 or 1")
        self._grow(int(high) + 1)
        size = self.successes_.shape[0]
        self.successes_ += np.bincount(arms, y, size)
        self.pulls_ += np.bincount(arms, minlength=size)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Posterior mean success rate of each row's arm (the prior mean for unseen arms)."""
        arms = np.asarray(X)[:, 0].astype(np.intp)
        n = arms.shape[0]
        self._grow((max(arms.tolist()) if n <= 64 else int(arms.max())) + 1 if n else 0)
        a, b = self.prior_successes, self.prior_failures
        return (a + self.successes_[arms]) / (a + b + self.pulls_[arms])
