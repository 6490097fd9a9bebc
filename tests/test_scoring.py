"""Scoring validates input once per deployment and gives the very scores predict_proba gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, SGDClassifier

from feedbacksim.core.agent import Scorer, model_scores
from feedbacksim.models import IncidentCountModel


def _data(seed: int, n: int = 400, d: int = 2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x @ np.arange(1, d + 1) + rng.normal(size=n) > 0).astype(float)
    return x, y


@pytest.mark.parametrize("solver", ["liblinear", "lbfgs", "newton-cholesky"])
def test_direct_path_is_bit_identical_to_predict_proba(solver):
    x, y = _data(1)
    model = LogisticRegression(solver=solver).fit(x, y)
    scorer = Scorer(model)
    first = scorer(x[:5])
    assert scorer._direct is True  # the first batch validated the direct computation
    for rows in (slice(0, 1), slice(5, 400), slice(7, 8)):
        assert np.array_equal(scorer(x[rows]), model.predict_proba(x[rows])[:, 1])
    assert np.array_equal(first, model_scores(model, x[:5]))


def test_other_inputs_and_models_go_through_scikit_learn():
    x, y = _data(2)
    model = LogisticRegression().fit(x, y)
    scorer = Scorer(model)
    scorer(x[:3])
    frame = pd.DataFrame(x[:4])
    assert np.array_equal(scorer(frame), model.predict_proba(frame)[:, 1])
    bad = x[:2].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scorer(bad)  # the check the direct path skips is still made when it matters
    with pytest.raises(ValueError, match="features"):
        scorer(x[:2, :1])  # a wrong width falls back to scikit-learn, which says why
    sgd = SGDClassifier(loss="log_loss", random_state=0).fit(x, y)
    other = Scorer(sgd)
    assert np.array_equal(other(x[:3]), sgd.predict_proba(x[:3])[:, 1])
    assert other._direct is False
    counts = Scorer(IncidentCountModel(prior_counts=[1.0, 3.0]))
    assert counts(np.array([[0.0], [1.0]])).tolist() == [1.0, 3.0]
    assert counts._direct is False
