"""A selective-labels lending world for tests: a threshold policy starves one group of training rows.

Listed under ``plugins: [selective_world]`` (with ``tests/`` on the path) it registers the
``selective-lending`` environment.

Each day ``batch_size`` applicants arrive; a share ``group_b_share`` belongs to group B.
The model sees ``[x, g, x * g]`` (score ``x ~ N(0, 1)``, group indicator ``g``), so a
logistic regression is correctly specified: repayment is ``sigmoid(2 x)`` in group A and
``sigmoid(-2.5 - x)`` in group B (B rarely repays, and its better risks are at *low* x).
Only accepted applicants produce a label. Pretrained on an unbiased sample, the first
model is right about both groups and, with a 0.5 threshold, accepts almost no one from B.
With a sliding training window the pretraining rows age out, B disappears from the
training data, B's coefficients lose their support and shrink towards zero under the
estimator's L2 penalty, and the model starts scoring B like A: its ground-truth AUC
falls. Exploration (``epsilon`` of the rejected accepted at random) keeps a stream of B's
labels and the model stays right. This is the selective-labels trap of Lakkaraju et al.
(2017) and Kilbertus et al. (2020).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim import Batch, Environment, Observations, register


@register("environment", "selective-lending")
class SelectiveLendingWorld(Environment):
    """Applicants from two groups; repayment is observed only for accepted applicants."""

    metrics = {
        "acceptance_rate": "share of the day's applicants accepted, per group",
        "repayment_rate": "true repayment rate of the day's applicants, per group",
    }

    def __init__(
        self,
        batch_size: Annotated[int, Field(ge=1)] = 200,
        group_b_share: Annotated[float, Field(gt=0, lt=1)] = 0.4,
    ) -> None:
        self.batch_size = batch_size
        self.group_b_share = group_b_share

    def start(self) -> None:
        self.agent = next(iter(self.agents.values()))
        for metric in self.metrics:
            self.declare(metric, groups=["A", "B"])
        self.every(1.0, self.step)

    def population_sample(self, n, rng):
        g = (rng.random(n) < self.group_b_share).astype(float)
        x = rng.normal(size=n)
        logit = np.where(g == 1.0, -2.5 - x, 2.0 * x)
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
        return np.column_stack([x, g, x * g]), y, g

    def step(self) -> None:
        features, labels, groups = self.population_sample(self.batch_size, self.rng)
        decision = self.agent.decide(Batch(features, groups))
        accepted = decision.actions > 0
        seen = np.ones_like(accepted) if self.open_loop else accepted
        self.deliver(
            self.agent,
            Observations(
                features[seen], labels[seen], groups[seen], propensity=decision.propensity[seen]
            ),
        )
        in_b = groups == 1.0
        self.record(
            "acceptance_rate", [accepted[~in_b].mean(), accepted[in_b].mean() if in_b.any() else 0]
        )
        self.record(
            "repayment_rate", [labels[~in_b].mean(), labels[in_b].mean() if in_b.any() else 0]
        )
