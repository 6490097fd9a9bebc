"""Performative prediction in the location family (Perdomo et al. 2020).

The deployed prediction theta shifts the distribution it predicts: outcomes are drawn from
N(mu + eps * theta, sigma^2). The agent minimizes squared loss over constant predictions
(it fits the mean) on the latest round's outcomes, so repeated retraining is the map

    theta_{t+1} = mean of n draws of N(mu + eps * theta_t, sigma^2)
                = mu + eps * theta_t + sigma / sqrt(n) * noise.

For |eps| < 1 it contracts to the performatively stable point theta* = mu / (1 - eps) at
the geometric rate |eps| (|theta_t - theta*| = |eps|^t |theta_0 - theta*| up to sampling
noise of standard deviation sigma / sqrt(n * (1 - eps^2))); for |eps| > 1 it moves away
from theta* by a factor |eps| per retrain. The distance between successive deployed
models shrinks or grows by the same factor, which is what a convergence analysis reads
from ``model_step``.

Open loop (the twin with the loop cut): outcomes are drawn from N(mu, sigma^2) whatever
the deployed prediction.

Reference: Perdomo, Zrnic, Mendler-Dünner, Hardt, "Performative Prediction", ICML 2020.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import register


@register("environment", "performative")
class PerformativeWorld(Environment):
    """Outcomes ~ N(mu + eps * theta, sigma^2), where theta is the deployed prediction.

    Each round (one time unit) the agent predicts theta for ``samples_per_round`` cases
    (features are a single zero column: the prediction is a constant) and then observes
    their outcomes. Retraining on the latest round only (a ``sliding`` window of
    ``samples_per_round`` rows, ``retrain: {every: 1}``) is repeated risk minimization.

    Args:
        mu: the outcome mean when the prediction has no effect.
        eps: strength of the performative effect (the Lipschitz constant of the
            distribution map); the loop converges for |eps| < 1 and diverges for |eps| > 1.
        sigma: outcome standard deviation.
        samples_per_round: outcomes observed per round.
        agent: the predicting agent's name (default: the scenario's only agent).
    """

    time_unit = "rounds"
    metrics = {
        "theta": "the deployed prediction (the model's only parameter)",
        "model_step": "|theta_t - theta_(t-1)| between successive deployed models, per retrain",
        "outcome_mean": "the true outcome mean given the deployed prediction, mu + eps * theta",
        "stable_point": "the performatively stable prediction mu / (1 - eps) (NaN for eps = 1)",
    }
    model_needs = "regressor"
    model_kinds = ("mean",)

    def __init__(
        self,
        mu: float = 1.0,
        eps: float = 0.5,
        sigma: Annotated[float, Field(gt=0)] = 1.0,
        samples_per_round: Annotated[int, Field(ge=1)] = 10_000,
        agent: str | None = None,
    ) -> None:
        self.mu = mu
        self.eps = eps
        self.sigma = sigma
        self.samples_per_round = samples_per_round
        self.agent = agent

    def start(self) -> None:
        self.predictor = self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        self._batch = Batch(np.zeros((self.samples_per_round, 1)))
        self._stable = self.mu / (1.0 - self.eps) if self.eps != 1 else float("nan")
        self._previous: float | None = None
        self._retrains = 0
        for metric in self.metrics:
            self.declare(metric)
        self.every(1.0, self.step)

    def step(self) -> None:
        """One round: predict, draw outcomes shifted by the prediction, let the agent see them."""
        theta = float(self.decide(self.predictor, self._batch).scores.mean())
        mean = self.mu if self.open_loop else self.mu + self.eps * theta
        outcomes = self.rng.normal(mean, self.sigma, self.samples_per_round)
        self.deliver(self.predictor, Observations(self._batch.features, outcomes))

        if self.predictor.version > self._retrains and self._previous is not None:
            self.record("model_step", abs(theta - self._previous))
        self._retrains = self.predictor.version
        self._previous = theta
        self.record("theta", theta)
        self.record("outcome_mean", mean)
        self.record("stable_point", self._stable)
