"""Least-squares regression by empirical or worst-group risk minimization."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field
from sklearn.base import BaseEstimator, RegressorMixin

from feedbacksim.registry import register


@register("model", "linear-erm")
class LinearERM(RegressorMixin, BaseEstimator):
    """Linear least squares (no intercept); the last feature column is the group label.

    ``objective="erm"`` minimizes the average squared loss over all rows (the group
    column is ignored): the majority's rule wins. ``objective="worst-group"`` minimizes
    the largest per-group average loss (group DRO): the group weights ``q`` are found by
    exponentiated-gradient ascent on ``min_theta sum_k q_k R_k(theta)``, each step a
    weighted least-squares solve on per-group sufficient statistics (``d x d`` per
    group, so a step costs nothing next to one pass over the rows). Equivalently: each
    sample is reweighted by its group's loss until no group is worse off than another
    can afford.

    Args:
        objective: ``erm`` or ``worst-group``.
        ridge: a tiny ridge term that keeps the solve defined with few rows.
        steps: exponentiated-gradient steps of the worst-group objective.
        step_size: their step size (on risks of order 1).
    """

    def __init__(
        self,
        objective: Literal["erm", "worst-group"] = "erm",
        ridge: Annotated[float, Field(ge=0)] = 1e-6,
        steps: Annotated[int, Field(ge=1)] = 200,
        step_size: Annotated[float, Field(gt=0)] = 2.0,
    ) -> None:
        self.objective = objective
        self.ridge = ridge
        self.steps = steps
        self.step_size = step_size

    def fit(self, X, y) -> LinearERM:
        """Fit the coefficients (``coef_``) and, for worst-group, the group weights (``group_weights_``)."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        x, groups = X[:, :-1], X[:, -1].astype(np.int64)
        d = x.shape[1]
        if self.objective == "erm":
            self.coef_ = np.linalg.solve(x.T @ x + self.ridge * np.eye(d), x.T @ y)
            return self
        labels, groups = np.unique(groups, return_inverse=True)
        n = np.bincount(groups).astype(float)
        onehot = np.eye(labels.shape[0])[groups]
        # Per-group averages: A_k = X_k'X_k / n_k, c_k = X_k'y_k / n_k, s_k = y_k'y_k / n_k.
        a = np.einsum("ig,ij,il->gjl", onehot, x, x) / n[:, None, None]
        c = (onehot.T @ (x * y[:, None])) / n[:, None]
        s = (onehot.T @ (y * y)) / n
        q = np.full(labels.shape[0], 1.0 / labels.shape[0])
        for _ in range(self.steps):
            theta = np.linalg.solve(np.tensordot(q, a, 1) + self.ridge * np.eye(d), q @ c)
            risks = np.einsum("j,gjl,l->g", theta, a, theta) - 2 * c @ theta + s
            q = q * np.exp(self.step_size * (risks - risks.max()))
            q /= q.sum()
        self.coef_ = np.linalg.solve(np.tensordot(q, a, 1) + self.ridge * np.eye(d), q @ c)
        self.group_weights_ = q
        return self

    def predict(self, X) -> np.ndarray:
        """``x . coef_`` (the group column is not used)."""
        return np.asarray(X, dtype=float)[:, :-1] @ self.coef_
