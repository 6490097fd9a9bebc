"""Model collapse of a Gaussian trained on its own samples (Shumailov et al. 2024).

Generation 0 is the true distribution N(true_mean, true_sd^2). Each generation (one time
unit) the deployed model generates ``samples`` points, of which a fraction
``fresh_fraction`` (rounded to a whole number of points) is replaced by fresh draws from
the true distribution; the next generation is the Gaussian fitted to them (mean and
unbiased variance).

Without fresh data, with M samples per generation the fitted variance is multiplied each
generation by an independent chi^2_(M-1) / (M - 1) factor, whose log has mean
digamma((M-1)/2) - ln((M-1)/2) < 0 (Jensen). So log(fitted variance / true variance) after
n generations is a random walk with drift n * (digamma((M-1)/2) - ln((M-1)/2)): -5.36 for
M = 20 and n = 100, a variance ~200 times too small, although every single fit is
unbiased. Fresh data anchors the walk: each generation pulls the variance back towards
the truth, and the chain has a stationary distribution around it instead of collapsing.

Open loop: every sample comes from the true distribution.

Reference: Shumailov, Shumaylov, Zhao, Papernot, Anderson, Gal, "AI models collapse when
trained on recursively generated data", Nature 631 (2024).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import register

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


@register("environment", "model_collapse")
class ModelCollapseWorld(Environment):
    """Each generation is fitted to samples of the previous one (plus optional fresh data).

    The agent's model must be generative: a ``sample(n, rng)`` method and a ``params_``
    property ``(mean, variance)`` (the built-in ``gaussian`` model). Retrain it every
    generation on the latest generation only (``retrain: {every: 1}``, a ``sliding``
    window of ``samples`` rows).

    Args:
        samples: points generated per generation (M).
        fresh_fraction: share of each generation's points drawn from the true distribution.
        true_mean: mean of the true distribution.
        true_sd: standard deviation of the true distribution (at most 1e150, so that its
            square is a finite float).
        agent: the generative agent's name (default: the scenario's only agent).
    """

    time_unit = "generations"
    metrics = {
        "fitted_mean": "mean of the deployed generation's Gaussian",
        "fitted_variance": "variance of the deployed generation's Gaussian",
        "log_variance_ratio": (
            "ln(fitted variance / true variance); 0 when the variance is right (a variance that "
            "collapsed to 0 counts as the smallest normal float, 2.2e-308, to stay finite)"
        ),
    }
    model_needs = "regressor"
    model_kinds = ("gaussian",)

    def __init__(
        self,
        samples: Annotated[int, Field(ge=2)] = 20,
        fresh_fraction: Probability = 0.0,
        true_mean: float = 0.0,
        true_sd: Annotated[float, Field(gt=0, le=1e150)] = 1.0,
        agent: str | None = None,
    ) -> None:
        self.samples = samples
        self.fresh_fraction = fresh_fraction
        self.true_mean = true_mean
        self.true_sd = true_sd
        self.agent = agent

    def start(self) -> None:
        self.generator = self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        fresh = self.samples if self.open_loop else round(self.fresh_fraction * self.samples)
        self._fresh = int(fresh)
        self._batch = Batch(np.zeros((self.samples, 1)))
        for metric in self.metrics:
            self.declare(metric)
        self.every(1.0, self.step)

    def step(self) -> None:
        """One generation: refit if due, record the fit, generate the next training set."""
        model = self.generator.serving_model()
        if not hasattr(model, "sample"):
            raise ValueError(
                f"model_collapse needs a generative model with sample(n, rng), got "
                f"{type(model).__name__}"
            )
        mean, variance = model.params_
        synthetic = model.sample(self.samples - self._fresh, self.rng)
        fresh = self.rng.normal(self.true_mean, self.true_sd, self._fresh)
        self.deliver(
            self.generator, Observations(self._batch.features, np.concatenate([synthetic, fresh]))
        )
        self.record("fitted_mean", mean)
        self.record("fitted_variance", variance)
        # In logs, so that a tiny true_sd (whose square underflows) stays exact; a fitted
        # variance of exactly 0 (M identical points: collapsed) is floored to stay finite.
        floored = max(float(variance), np.finfo(float).tiny)
        self.record("log_variance_ratio", np.log(floored) - 2.0 * np.log(self.true_sd))
