"""Ground-truth quality metrics: the same numbers as scikit-learn and scipy, NaN-safe."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, rankdata
from sklearn import metrics

from feedbacksim.core.quality import EPS, auc, average_ranks, log_loss, model_quality
from feedbacksim.run.measures import ks_statistic


@pytest.mark.parametrize("n", [0, 1, 2, 7, 500])
def test_average_ranks_equal_scipy_rankdata(n: int) -> None:
    rng = np.random.default_rng(n)
    for values in (rng.standard_normal(n), rng.integers(0, 3, n).astype(float), np.zeros(n)):
        assert np.array_equal(average_ranks(values), rankdata(values))


@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = (rng.random(400) < 0.3).astype(float)
    scores = np.round(rng.random(400), 2)  # ties, and exact 0 and 1 scores
    quality = model_quality(labels, scores)
    assert quality["auc"] == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
    clipped = np.clip(scores, EPS, 1 - EPS)
    expected_log_loss = metrics.log_loss(labels, clipped, labels=[0, 1])
    assert quality["log_loss"] == pytest.approx(expected_log_loss, rel=1e-12)
    assert quality["brier"] == pytest.approx(metrics.brier_score_loss(labels, scores), abs=1e-12)
    expected_accuracy = metrics.accuracy_score(labels > 0.5, scores >= 0.5)
    assert quality["accuracy"] == pytest.approx(expected_accuracy, abs=1e-12)


def test_non_finite_scores_give_nan_not_an_error() -> None:
    # A gate compares challenger and champion scores; a challenger that predicts NaN must
    # lose the comparison (NaN >= x is False), not crash the replication.
    labels = np.array([0.0, 1.0, 0.0, 1.0])
    scores = np.array([0.1, np.nan, 0.3, 0.9])
    assert np.isnan(auc(labels, scores))
    assert np.isnan(log_loss(labels, scores))
    assert all(np.isnan(v) for v in model_quality(labels, scores).values())


def test_one_class_auc_is_nan() -> None:
    assert np.isnan(auc(np.ones(5), np.linspace(0, 1, 5)))


@pytest.mark.parametrize("sizes", [(300, 200), (50, 5000), (1, 1)])
def test_ks_statistic_equals_scipy(sizes: tuple[int, int]) -> None:
    rng = np.random.default_rng(sizes[0])
    a, b = rng.normal(size=sizes[0]), rng.normal(0.3, size=sizes[1])
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    ties = np.round(a, 1), np.round(b, 1)
    assert ks_statistic(*ties) == pytest.approx(ks_2samp(*ties).statistic, abs=1e-12)
