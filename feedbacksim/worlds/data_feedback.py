"""Data feedback loops: a model that labels part of its own next training set (Taori & Hashimoto 2023).

Each round the training set grows by ``human_labels`` (m) samples with true labels and
``model_labels`` (k) samples whose inputs come from the same distribution but whose labels
are the deployed model's: its argmax prediction (``labelling="argmax"``) or a draw from
its predicted probability (``labelling="sample"``). Taori & Hashimoto ("Data Feedback
Loops: Model-driven Amplification of Dataset Biases", ICML 2023) show that if a model
trained on any data set outputs labels at most delta more biased than that data set, the
bias after many rounds stays below ``(1 + k/m) * delta``; with m = 0 there is no bound
(recorded as the largest possible bias, ``1 - positive_rate`` when delta > 0), and a
calibrated, sampling labeller does not amplify at all.

The task: y ~ Bernoulli(positive_rate), x | y ~ N(+-separation/2, 1) in one dimension.
bias = the deployed model's predicted positive rate (argmax of its probability, measured
on a fixed held-out sample of ``eval_size`` inputs) minus ``positive_rate``. delta = the
bias of the Bayes classifier of the true task, computed in closed form: the limit of a
consistent model trained on human labels only. Both are ground truth, recorded as
``bias``, ``delta`` and ``bound``.

Open loop: the k model-labelled samples get true labels instead.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.registry import register

stats = lazy_module("scipy.stats")


def bayes_bias(positive_rate: float, separation: float) -> float:
    """Predicted positive rate of the Bayes classifier minus the true positive rate.

    With x | y ~ N(+-s/2, 1), the posterior log-odds are ``s x + log(p / (1 - p))``, so the
    Bayes classifier says 1 for ``x > t = -log(p / (1 - p)) / s``.
    """
    p, s = positive_rate, separation
    with np.errstate(over="ignore"):  # a vanishing separation: t = -+inf, all one class
        t = -np.log(p / (1.0 - p)) / s
    predicted = p * stats.norm.sf(t - s / 2) + (1.0 - p) * stats.norm.sf(t + s / 2)
    return float(predicted - p)


@register("environment", "data_feedback")
class DataFeedbackWorld(Environment):
    """A classifier retrained each round on human labels and on labels it produced itself.

    Args:
        positive_rate: the true share of positive labels (the task's label imbalance).
        separation: distance between the two classes' feature means (in SDs).
        human_labels: m, samples with true labels added per round.
        model_labels: k, samples labelled by the deployed model added per round.
        labelling: how the model labels: ``argmax`` or ``sample``.
        eval_size: held-out inputs the predicted positive rate is measured on.
        agent: the model's agent name (default: the scenario's only agent).
    """

    time_unit = "rounds"
    metrics = {
        "bias": "the model's predicted positive rate (argmax) minus the true positive rate",
        "label_bias": "the training set's positive share minus the true positive rate (0 while it is empty)",
        "delta": "the bias of the Bayes classifier (the human-labelled model's limit)",
        "bound": (
            "(1 + k/m) * delta, clipped to the possible biases [-positive_rate, "
            "1 - positive_rate]; with m = 0 (no bound) the end of that range on delta's side"
        ),
    }
    model_needs = "classifier"

    def __init__(
        self,
        positive_rate: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.7,
        separation: Annotated[float, Field(gt=0.0)] = 1.0,
        human_labels: Annotated[int, Field(ge=0)] = 100,
        model_labels: Annotated[int, Field(ge=0)] = 100,
        labelling: Literal["argmax", "sample"] = "argmax",
        eval_size: Annotated[int, Field(ge=100)] = 10_000,
        agent: str | None = None,
    ) -> None:
        self.positive_rate = positive_rate
        self.separation = separation
        self.human_labels = human_labels
        self.model_labels = model_labels
        self.labelling = labelling
        self.eval_size = eval_size
        self.agent = agent

    def start(self) -> None:
        self.model_agent = (
            self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        )
        self._eval = Batch(self.population_sample(self.eval_size, self.rng)[0])
        self.delta, self.bound = self.delta_and_bound()
        for metric in self.metrics:
            self.declare(metric)
        self.every(1.0, self.step)

    def delta_and_bound(self) -> tuple[float, float]:
        """The Bayes classifier's bias (delta) and the bound ``(1 + k/m) * delta`` as recorded."""
        delta = bayes_bias(self.positive_rate, self.separation)
        m, k = self.human_labels, self.model_labels
        # A predicted positive rate lies in [0, 1], so no bias leaves [-p, 1 - p]: a larger
        # bound says nothing more, and m = 0 (no bound at all) records the range's end.
        p = self.positive_rate
        # (delta = 0, a Bayes classifier that does not amplify, gives 0 for every m.)
        bound = (1.0 + k / m) * delta if m > 0 else np.sign(delta)
        return delta, float(np.clip(bound, -p, 1.0 - p))

    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``n`` inputs with their true labels."""
        y = (rng.random(n) < self.positive_rate).astype(float)
        x = rng.standard_normal(n) + self.separation * (y - 0.5)
        return x.reshape(n, 1), y, None

    def step(self) -> None:
        """One round: measure the bias, then add m human- and k model-labelled samples."""
        agent = self.model_agent
        predicted = self.decide(agent, self._eval).scores >= 0.5
        self.record("bias", predicted.mean() - self.positive_rate)
        labels = agent.training_labels()  # what the next refit trains on
        share = float(labels.mean()) if labels.shape[0] else self.positive_rate
        self.record("label_bias", share - self.positive_rate)
        self.record("delta", self.delta)
        self.record("bound", self.bound)

        if self.human_labels:
            x, y, _ = self.population_sample(self.human_labels, self.rng)
            self.deliver(agent, Observations(x, y))
        if self.model_labels:
            x, y, _ = self.population_sample(self.model_labels, self.rng)
            if not self.open_loop:
                p = self.decide(agent, Batch(x)).scores
                y = (p >= 0.5) if self.labelling == "argmax" else (self.rng.random(p.shape[0]) < p)
            self.deliver(agent, Observations(x, y.astype(float)))
