"""A small plugin world for tests: applicants with two features, a classifier agent, selective labels.

Listed under ``plugins: [toy_world]`` (with ``tests/`` on the path) it registers the
``toy`` environment and the ``toy-constant`` model.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field
from sklearn.base import BaseEstimator, ClassifierMixin

from feedbacksim import Batch, Environment, Observations, register


@register("environment", "toy")
class ToyWorld(Environment):
    """Each day ``batch_size`` applicants; the label is 1 with probability sigmoid(x0 + x1).

    Only accepted applicants produce labels. ``constant_label`` (0 or 1) replaces every
    label, to make one-class training sets on purpose.
    """

    metrics = {
        "acceptance_rate": "share of the day's applicants accepted",
        "positive_rate": "true label mean",
    }

    def __init__(
        self,
        batch_size: Annotated[int, Field(ge=1)] = 20,
        constant_label: int | None = None,
        nan_features: bool = False,
    ) -> None:
        self.batch_size = batch_size
        self.constant_label = constant_label
        self.nan_features = nan_features

    def start(self) -> None:
        self.agent = next(iter(self.agents.values()))
        self.declare("acceptance_rate")
        self.declare("positive_rate")
        self.every(1.0, self.step)

    def population_sample(self, n, rng):
        x = rng.normal(size=(n, 2))
        y = (rng.random(n) < 1 / (1 + np.exp(-(x[:, 0] + x[:, 1])))).astype(float)
        if self.constant_label is not None:
            y[:] = self.constant_label
        return x, y, None

    def step(self) -> None:
        x, y, _ = self.population_sample(self.batch_size, self.rng)
        if self.nan_features:
            x[0, 0] = np.nan
        decision = self.agent.decide(Batch(x))
        accepted = decision.actions > 0
        self.deliver(self.agent, Observations(x[accepted], y[accepted]))
        self.record("acceptance_rate", accepted.mean())
        self.record("positive_rate", y.mean())


@register("model", "toy-constant")
class ConstantModel(ClassifierMixin, BaseEstimator):
    """Predicts the same probability for everyone."""

    def __init__(self, probability: float = 0.5) -> None:
        self.probability = probability

    def fit(self, X, y):
        self.classes_ = np.array([0.0, 1.0])
        return self

    def predict_proba(self, X):
        p = np.full(len(X), self.probability)
        return np.column_stack([1 - p, p])


@register("model", "toy-failing")
class FailingModel(ClassifierMixin, BaseEstimator):
    """An estimator whose fit always raises, as a broken model in production would."""

    def fit(self, X, y):
        raise RuntimeError("solver diverged")

    def predict_proba(self, X):
        raise AssertionError("never fitted, never asked")
