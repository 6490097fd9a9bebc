"""Least-squares regression by empirical or worst-group risk minimization."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.registry import register


@register("model", "linear-erm")
class LinearERM(Regressor):
    """Linear least squares (no intercept); the last feature column is the group label.

    ``objective="erm"`` minimizes the average squared loss over all rows (the group
    column is ignored): the majority's rule wins. ``objective="worst-group"`` minimizes
    the largest per-group average loss (group DRO), which is least squares with each
    group's samples reweighted until the groups' losses are equal (or one group's rule
    is best for both). The weights ``q`` are found, for two groups, by a refined grid
    search where the two risks cross; for more, by exponentiated-gradient ascent on
    ``min_theta sum_k q_k R_k(theta)`` (averaged iterates). Each evaluation is a
    weighted least-squares solve on per-group sufficient statistics (``d x d`` per
    group), so it costs nothing next to one pass over the rows.

    Args:
        objective: ``erm`` or ``worst-group``.
        ridge: a tiny ridge term that keeps the solve defined with few rows.
        steps: exponentiated-gradient steps of the worst-group objective.
        step_size: their step size (the weights move by exp(step_size * risk gap)).
    """

    def __init__(
        self,
        objective: Literal["erm", "worst-group"] = "erm",
        ridge: Annotated[float, Field(ge=0)] = 1e-6,
        steps: Annotated[int, Field(ge=1)] = 200,
        step_size: Annotated[float, Field(gt=0)] = 5.0,
    ) -> None:
        self.objective = objective
        self.ridge = ridge
        self.steps = steps
        self.step_size = step_size

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearERM:
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
        # Per-group averages: A_k = X_k'X_k / n_k, c_k = X_k'y_k / n_k, s_k = y_k'y_k / n_k.
        a = np.stack([x[groups == g].T @ x[groups == g] for g in range(labels.shape[0])])
        a /= n[:, None, None]
        c = np.stack([x[groups == g].T @ y[groups == g] for g in range(labels.shape[0])])
        c /= n[:, None]
        s = np.bincount(groups, y * y) / n
        ridge = self.ridge * np.eye(d)
        q = _two_group_weights(a, c, s, ridge) if labels.shape[0] == 2 else None
        if q is None:
            q = self._exponentiated_gradient(a, c, s, ridge)
        self.coef_ = np.linalg.solve(np.tensordot(q, a, 1) + ridge, q @ c)
        self.group_weights_ = q
        return self

    def _exponentiated_gradient(
        self, a: np.ndarray, c: np.ndarray, s: np.ndarray, ridge: np.ndarray
    ) -> np.ndarray:
        q = np.full(a.shape[0], 1.0 / a.shape[0])
        q_sum = np.zeros_like(q)
        for _ in range(self.steps):
            theta = np.linalg.solve(np.tensordot(q, a, 1) + ridge, q @ c)
            risks = (a @ theta) @ theta - 2 * c @ theta + s
            q = q * np.exp(self.step_size * (risks - risks.max()))
            q /= q.sum()
            q_sum += q
        # The iterates oscillate around the saddle point; their average converges to it.
        return q_sum / self.steps

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``x . coef_`` (the group column is not used)."""
        return np.asarray(X, dtype=float)[:, :-1] @ self.coef_


def _two_group_weights(
    a: np.ndarray,
    c: np.ndarray,
    s: np.ndarray,
    ridge: np.ndarray,
    points: int = 65,
    rounds: int = 4,
) -> np.ndarray:
    """Weights (beta, 1 - beta) minimizing the larger of two groups' risks.

    The worst-group risk of theta(beta), the weighted least-squares fit, is minimized
    where the two risks cross (or at an end of [0, 1]); a grid of ``points`` betas is
    solved in one batched call and refined around its best point ``rounds`` times, which
    pins beta to about (2 / points)^rounds.
    """
    lo, hi = 0.0, 1.0
    for _ in range(rounds):
        beta = np.linspace(lo, hi, points)
        q = np.column_stack([beta, 1.0 - beta])
        theta = np.linalg.solve(np.tensordot(q, a, 1) + ridge, (q @ c)[..., None])[..., 0]
        risks = np.einsum("bj,gjl,bl->bg", theta, a, theta) - 2 * theta @ c.T + s
        best = int(np.argmin(risks.max(axis=1)))
        step = (hi - lo) / (points - 1)
        lo, hi = max(0.0, beta[best] - step), min(1.0, beta[best] + step)
    return q[best]
