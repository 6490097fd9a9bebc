"""Ground-truth quality of a model's scores against true labels.

Used by :meth:`feedbacksim.core.environment.Environment.evaluate_model` on a fresh sample of
the true population, never on what an agent observed (which the loop has biased).
"""

from __future__ import annotations

import numpy as np

#: The quality metrics, name -> description; ``true_<name>`` is the recorded metric.
QUALITY_METRICS: dict[str, str] = {
    "auc": "area under the ROC curve (binary labels)",
    "accuracy": "share of correct decisions at score 0.5 (binary labels)",
    "log_loss": "mean negative log-likelihood, scores clipped to [1e-15, 1 - 1e-15] (binary labels)",
    "brier": "mean squared error of the scores (binary labels)",
    "ece": "expected calibration error over 10 equal-width score bins (binary labels)",
    "rmse": "root mean squared error of the predictions (any labels)",
}
#: Metrics for which a lower value is better.
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece", "rmse"})
ECE_BINS = 10
EPS = 1e-15


# The metrics are computed here rather than with sklearn.metrics, which gives the same
# numbers (tests/test_quality.py checks it) but validates its input on every call: about
# 5 ms against 0.01-0.2 ms here, paid at every deployment and by every gate decision, and
# it raises on NaN scores where a gate must simply reject the challenger.


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks ``1..n`` of ``values``, ties given their mean rank (``scipy.stats.rankdata``'s
    default, which tests check): called per window by the trend tests, where scipy's input
    checks cost more than the ranking."""
    n = values.shape[0]
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    first = np.empty(n, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], n)
    ranks = np.empty(n)
    ranks[order] = (0.5 * (starts + 1 + ends))[np.cumsum(first) - 1]
    return ranks


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) identity, ties counted half; NaN with one class
    or non-finite scores."""
    positive = labels > 0.5
    n_pos = int(positive.sum())
    n_neg = labels.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0 or not np.isfinite(scores).all():
        return float("nan")
    ranks = average_ranks(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def weighted_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """ROC AUC with row weights (ties counted half); NaN when a class has no weight.

    The probability that a positive drawn by weight scores above a negative drawn by weight.
    """
    positive = labels > 0.5
    w_pos, w_neg = weights * positive, weights * ~positive
    total_pos, total_neg = w_pos.sum(), w_neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return float("nan")
    _, level = np.unique(scores, return_inverse=True)
    pos_at = np.bincount(level, w_pos)
    neg_at = np.bincount(level, w_neg)
    below = np.cumsum(neg_at) - neg_at
    return float((pos_at * (below + 0.5 * neg_at)).sum() / (total_pos * total_neg))


def log_loss(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean binary cross-entropy, scores clipped to [EPS, 1 - EPS]; NaN for non-finite scores."""
    if not np.isfinite(scores).all():
        return float("nan")
    clipped = np.clip(scores, EPS, 1.0 - EPS)
    return float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log1p(-clipped)))


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray) -> float:
    """ECE: bin-size-weighted mean |mean label - mean score| over 10 equal-width bins.

    Reference: Naeini, Cooper & Hauskrecht (2015), "Obtaining well calibrated
    probabilities using Bayesian binning", AAAI.
    """
    bins = np.minimum((scores * ECE_BINS).astype(np.int64), ECE_BINS - 1)
    gap = np.bincount(bins, labels - scores, minlength=ECE_BINS)
    return float(np.abs(gap).sum() / labels.shape[0])


def model_quality(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Every quality metric that applies: the binary ones when labels are 0/1 and scores in [0, 1].

    Metrics that do not apply are NaN (e.g. AUC of a count model, or with one class).
    """
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    out = dict.fromkeys(QUALITY_METRICS, float("nan"))
    if y.shape[0] == 0 or not np.isfinite(s).all():
        return out
    out["rmse"] = float(np.sqrt(np.mean((s - y) ** 2)))
    binary = np.isin(y, (0.0, 1.0)).all() and s.min() >= 0.0 and s.max() <= 1.0
    if binary:
        out["auc"] = auc(y, s)
        out["accuracy"] = float(np.mean((s >= 0.5) == (y > 0.5)))
        out["log_loss"] = log_loss(y, s)
        out["brier"] = float(np.mean((s - y) ** 2))
        out["ece"] = expected_calibration_error(y, s)
    return out
