"""Lending with selective and delayed labels (Liu et al. 2018, "Delayed Impact of Fair Machine Learning").

A population of ``population_size`` people in G groups holds credit scores in
``score_range`` (initially a normal distribution per group, clipped to the range). A
person with score x repays a loan with probability

    p(x) = 1 / (1 + exp(-(x - repay_midpoint) / repay_scale)),

the same function in every group. Each day ``applicants_per_day`` people, drawn uniformly
from the population, apply; the lender's model scores them and its policy approves some.
An approved loan is repaid or defaults after ``label_delay`` days: the person's score then
moves by ``+repay_gain`` or ``-default_loss`` (clipped to the range), and the lender sees
the outcome. Rejected applicants produce no label (selective labels), so the lender's
training data holds only people it chose to lend to.

Liu et al.'s one-step *outcome curve* of a group is the expected change of its mean score
when its top-scoring fraction beta is approved:

    delta_mu(beta) = E[ (p(x) * gain(x) - (1 - p(x)) * loss(x)) * 1{x >= q(1 - beta)} ],

with gain/loss clipped at the range and q the group's score quantile. It rises while the
approved have p(x) above ``loss / (gain + loss)`` (2/3 for 75 and 150), then falls, and
turns negative (active harm) at high selection rates. :meth:`LendingWorld.outcome_curve`
computes it on a grid of rates.

Open loop (the twin with the loop cut): every applicant's outcome is observed, approved or
not; scores still change only for approved applicants.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from feedbacksim.core.agent import AgentView
from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.lazy_import import lazy_function
from feedbacksim.core.quality import auc as roc_auc
from feedbacksim.core.registry import register

expit = lazy_function("scipy.special", "expit")
ndtri = lazy_function("scipy.special", "ndtri")

Positive = Annotated[float, Field(gt=0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
QUANTILES = 20_000  # points of the quantile grid the expectations are computed on
# Rates that keep their last value while their denominator is zero.
RATES = (
    "approval_rate",
    "default_rate",
    "training_default_rate",
    "training_band_default_rate",
    "population_band_default_rate",
)


@register("environment", "lending")
class LendingWorld(Environment):
    """Two (or more) groups apply for loans daily; only approved loans produce (delayed) labels.

    Args:
        group_shares: share of the population in each group.
        score_means: mean of each group's initial score distribution (before clipping).
        score_sds: standard deviation of each group's initial score distribution.
        score_range: lowest and highest possible score.
        repay_midpoint: score at which the repayment probability is 0.5.
        repay_scale: score distance over which the log-odds of repayment grow by 1.
        repay_gain: score gained by repaying a loan.
        default_loss: score lost by defaulting.
        population_size: people in the population.
        applicants_per_day: applications per day (people drawn uniformly, with replacement).
        label_delay: days from approval to the outcome (label and score change).
        noise_features: extra features the lender sees that carry no information.
        band: the score band in which the training set's default rate is compared with the
            applicants' (``training_band_default_rate``, ``population_band_default_rate``).
        auc_sample: size of the fresh population sample the deployed model's true AUC is
            measured on after each deployment.
        agent: the lender's name (default: the scenario's only agent).

    Features seen by the lender: ``(score - 575) / 100`` followed by ``noise_features``
    standard normal columns; groups are given with the batch. Label 1 means repaid.
    """

    # Every metric is finite at every tick. A rate whose denominator is zero (no applicant
    # or no approved applicant of the group that day, no label observed yet during the
    # first ``label_delay`` days, no applicant in the band yet) keeps the group's last
    # value; before the group's first value it is 0, a placeholder, not an estimate.
    metrics = {
        "approval_rate": "share of the day's applicants of the group who were approved (carried forward over days without applicants of the group; 0 before the first)",
        "mean_score": "mean credit score of the group's population",
        "score_change": "mean score of the group now minus at the start",
        "default_rate": "share of the day's approved applicants of the group who will default (carried forward over days without approvals of the group; 0 before the first)",
        "training_default_rate": "default rate of the labels the lender has observed so far (since deployment, pretraining rows excluded; 0 until its first label of the group)",
        "training_band_default_rate": "the same, among observed labels of applicants whose score was in band (0 until the first)",
        "population_default_rate": "true default probability averaged over the group's population",
        "population_band_default_rate": "true default probability averaged over all applicants so far whose score was in band (0 until the first)",
        "group_auc": "AUC of the deployed model on a fresh population sample of the group (after each deployment; carried forward when the sample holds one class of the group, 0.5 before the first)",
    }
    metric_units = {
        "approval_rate": "share of applicants",
        "mean_score": "credit score points",
        "score_change": "credit score points",
        "default_rate": "share of approved",
        "training_default_rate": "share of observed labels",
        "training_band_default_rate": "share of observed labels",
        "population_default_rate": "probability",
        "population_band_default_rate": "probability",
        "group_auc": "AUC",
    }
    model_needs = "classifier"

    def __init__(
        self,
        group_shares: Annotated[list[Positive], Field(min_length=1)] = [0.8, 0.2],  # noqa: B006
        score_means: Annotated[list[float], Field(min_length=1)] = [700.0, 540.0],  # noqa: B006
        score_sds: Annotated[list[Positive], Field(min_length=1)] = [80.0, 80.0],  # noqa: B006
        score_range: Annotated[list[float], Field(min_length=2, max_length=2)] = [300.0, 850.0],  # noqa: B006
        repay_midpoint: float = 600.0,
        repay_scale: Positive = 50.0,
        repay_gain: Annotated[float, Field(ge=0)] = 75.0,
        default_loss: Annotated[float, Field(ge=0)] = 150.0,
        population_size: Annotated[int, Field(ge=10)] = 10_000,
        applicants_per_day: Annotated[int, Field(ge=1)] = 200,
        label_delay: Annotated[float, Field(ge=0)] = 30.0,
        noise_features: Annotated[int, Field(ge=0)] = 0,
        band: Annotated[list[float], Field(min_length=2, max_length=2)] = [620.0, 720.0],  # noqa: B006
        auc_sample: Annotated[int, Field(ge=10)] = 4000,
        agent: str | None = None,
    ) -> None:
        self.group_shares = group_shares
        self.score_means = score_means
        self.score_sds = score_sds
        self.score_range = score_range
        self.repay_midpoint = repay_midpoint
        self.repay_scale = repay_scale
        self.repay_gain = repay_gain
        self.default_loss = default_loss
        self.population_size = population_size
        self.applicants_per_day = applicants_per_day
        self.label_delay = label_delay
        self.noise_features = noise_features
        self.band = band
        self.auc_sample = auc_sample
        self.agent = agent

    @classmethod
    def array_cells(cls, params: dict[str, Any]) -> dict[str, int]:
        """The population's scores, and each day's and each quality sample's features."""
        width = 1 + params.get("noise_features", 0)
        return {
            "population_size": params.get("population_size", 0),
            "applicants_per_day * (1 + noise_features)": params.get("applicants_per_day", 0)
            * width,
            "auc_sample * (1 + noise_features)": params.get("auc_sample", 0) * width,
        }

    @classmethod
    def check_params(cls, params: dict) -> None:
        g = len(params["group_shares"])
        if not len(params["score_means"]) == len(params["score_sds"]) == g:
            raise ValueError("group_shares, score_means and score_sds need one value per group")
        low, high = params["score_range"]
        if not low < high:
            raise ValueError("score_range must be [low, high] with low < high")
        if not params["band"][0] < params["band"][1]:
            raise ValueError("band must be [low, high] with low < high")
        shares = np.asarray(params["group_shares"], dtype=float)
        smallest = np.floor(shares / shares.sum() * params["population_size"]).min()
        if not smallest >= 1:
            raise ValueError(
                "every group needs at least one person: raise population_size or the "
                "smallest of group_shares (a group's size is its share of population_size, "
                "rounded down)"
            )

    # -- the world's model (no simulation needed) --------------------------------------
    def repay_probability(self, scores: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """p(x): probability that a person with score x repays (the same in every group here)."""
        return expit((np.asarray(scores, dtype=float) - self.repay_midpoint) / self.repay_scale)

    def score_step(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score change on repayment and on default (negative) at each score, clipped to the range."""
        low, high = self.score_range
        return np.minimum(self.repay_gain, high - scores), -np.minimum(
            self.default_loss, scores - low
        )

    def initial_quantiles(self, group: int, n: int = QUANTILES) -> np.ndarray:
        """``n`` equally spaced quantiles of a group's initial score distribution, highest first."""
        u = 1.0 - (np.arange(n) + 0.5) / n
        x = self.score_means[group] + self.score_sds[group] * ndtri(u)
        return np.clip(x, self.score_range[0], self.score_range[1])

    def outcome_curve(self, selection_rates: np.ndarray, group: int) -> np.ndarray:
        """Expected one-step change of a group's mean score when its top ``selection_rates`` are approved.

        Computed on the group's initial score distribution (Liu et al.'s Delta mu(beta)),
        vectorized over the rates.
        """
        x = self.initial_quantiles(group)
        p = self.repay_probability(x, np.full(x.shape[0], group))
        up, down = self.score_step(x)
        expected = np.concatenate([[0.0], np.cumsum(p * up + (1.0 - p) * down)]) / x.shape[0]
        k = np.rint(np.asarray(selection_rates, dtype=float) * x.shape[0]).astype(np.int64)
        return expected[k]

    def selection_rate_at(self, cutoff: float, group: int) -> float:
        """Share of a group's initial population with a score at or above ``cutoff``."""
        return float(np.mean(self.initial_quantiles(group) >= cutoff))

    def band_default_rates(self, cutoff: float, epsilon: float, group: int) -> tuple[float, float]:
        """Expected default rates in ``band``: of all applicants, and of the labels a lender observes.

        The lender approves scores at or above ``cutoff`` and, with probability ``epsilon``,
        those below it; only approved applicants are labelled. Computed on the group's
        initial score distribution.
        """
        x = self.initial_quantiles(group)
        x = x[(x >= self.band[0]) & (x <= self.band[1])]
        default = 1.0 - self.repay_probability(x, np.full(x.shape[0], group))
        observed = np.where(x >= cutoff, 1.0, epsilon)
        return float(default.mean()), float((default * observed).sum() / observed.sum())

    # -- simulation ---------------------------------------------------------------------
    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` people drawn from the current population with freshly drawn repayments."""
        who = rng.integers(0, self.population_size, n)
        scores = self.scores[who]
        groups = self.groups[who]
        repaid = (rng.random(n) < self.repay_probability(scores, groups)).astype(float)
        return self._features(scores, groups, rng), repaid, groups

    def _features(
        self, scores: np.ndarray, groups: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """What the lender sees of each applicant: the scaled score, then noise columns."""
        x = ((scores - 575.0) / 100.0).reshape(-1, 1)
        if self.noise_features:
            x = np.hstack([x, rng.standard_normal((scores.shape[0], self.noise_features))])
        return x

    def start(self) -> None:
        self.lender = self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        rng = self.rng
        shares = np.asarray(self.group_shares, dtype=float)
        self.n_groups = shares.shape[0]
        counts = np.floor(shares / shares.sum() * self.population_size).astype(np.int64)
        counts[0] += self.population_size - counts.sum()
        self.groups = np.repeat(np.arange(self.n_groups), counts)
        self.scores = self.initial_scores(rng)
        self._group_sizes = counts.astype(float)
        # Per-group sums of scores and of default probabilities, updated as scores move, so
        # that the daily population metrics cost O(groups), not O(population).
        self._score_sum = np.bincount(self.groups, self.scores, self.n_groups)
        self._default_sum = np.bincount(
            self.groups, 1.0 - self.repay_probability(self.scores, self.groups), self.n_groups
        )
        self._initial_mean = self._score_sum / self._group_sizes
        g = self.n_groups
        # Cumulative counters: observed labels and defaults (all, in band); applicants in
        # band and their summed default probability.
        self._observed = np.zeros((4, g))
        self._band_applicants = np.zeros((2, g))
        # The last defined value of each rate, recorded where today's denominator is zero.
        self._last = {m: np.zeros(g) for m in RATES}
        self._last["group_auc"] = np.full(g, 0.5)
        # A stream of its own for measurement samples, so that measuring never shifts the
        # world's draws (a gated and an ungated run see the same applicants).
        self._measure_rng = self.stream("measure")
        for metric in self.metrics:
            self.declare(metric, groups=range(g))
        self.every(1.0, self.step)

    def initial_scores(self, rng: np.random.Generator) -> np.ndarray:
        """Each person's initial score (``self.groups`` is set): the group's clipped normal."""
        means = np.asarray(self.score_means, dtype=float)[self.groups]
        sds = np.asarray(self.score_sds, dtype=float)[self.groups]
        return np.clip(rng.normal(means, sds), self.score_range[0], self.score_range[1])

    def applicants(self, rng: np.random.Generator) -> np.ndarray:
        """Today's applicants: ``applicants_per_day`` people drawn uniformly, with replacement."""
        return rng.integers(0, self.population_size, self.applicants_per_day)

    def _record_rate(self, metric: str, numerator: np.ndarray, denominator: np.ndarray) -> None:
        """Record ``numerator / denominator`` per group; a zero denominator keeps the last value."""
        last = self._last[metric]
        defined = denominator > 0
        last[defined] = numerator[defined] / denominator[defined]
        self.record(metric, last)

    def _per_group(self, metric: str, values: np.ndarray, groups: np.ndarray) -> None:
        """Record the mean of ``values`` per group (the last value for a group with no rows)."""
        counts = np.bincount(groups, minlength=self.n_groups)
        self._record_rate(metric, np.bincount(groups, values, self.n_groups), counts)

    def step(self) -> None:
        """One day: applicants arrive, the lender decides, outcomes are drawn and scheduled."""
        rng = self.rng
        who = self.applicants(rng)
        scores = self.scores[who]
        groups = self.groups[who]
        p = self.repay_probability(scores, groups)
        repaid = rng.random(who.shape[0]) < p
        features = self._features(scores, groups, rng)
        decision = self.lender.decide(Batch(features, groups))
        approved = decision.actions > 0

        in_band = (scores >= self.band[0]) & (scores <= self.band[1])
        self._band_applicants += [
            np.bincount(groups[in_band], minlength=self.n_groups),
            np.bincount(groups[in_band], 1.0 - p[in_band], self.n_groups),
        ]
        seen = np.ones_like(approved) if self.open_loop else approved
        obs = Observations(
            features[seen],
            repaid[seen].astype(float),
            groups[seen],
            propensity=np.ones(int(seen.sum())) if self.open_loop else decision.propensity[seen],
        )
        self.deliver(self.lender, obs, delay=self.label_delay)
        settle = (who[approved], repaid[approved], groups[seen], repaid[seen], in_band[seen])
        if self.label_delay > 0:
            self.timeout(self.label_delay).callbacks.append(lambda _event: self._settle(*settle))
        else:
            self._settle(*settle)

        self._per_group("approval_rate", approved.astype(float), groups)
        self._per_group("default_rate", ~repaid[approved] * 1.0, groups[approved])
        mean = self._score_sum / self._group_sizes
        self.record("mean_score", mean)
        self.record("score_change", mean - self._initial_mean)
        observed, defaults, band_observed, band_defaults = self._observed
        self._record_rate("training_default_rate", defaults, observed)
        self._record_rate("training_band_default_rate", band_defaults, band_observed)
        self._record_rate(
            "population_band_default_rate", self._band_applicants[1], self._band_applicants[0]
        )
        self.record("population_default_rate", self._default_sum / self._group_sizes)

    def _settle(
        self,
        borrowers: np.ndarray,
        borrower_repaid: np.ndarray,
        label_groups: np.ndarray,
        labels: np.ndarray,
        label_in_band: np.ndarray,
    ) -> None:
        """Loans mature: borrowers' scores move, the lender's observed-label counters grow."""
        g = self.n_groups
        people = np.unique(borrowers)
        before = self.scores[people]
        up, down = self.score_step(self.scores[borrowers])
        np.add.at(self.scores, borrowers, np.where(borrower_repaid, up, down))
        after = np.clip(self.scores[people], self.score_range[0], self.score_range[1])
        self.scores[people] = after
        owners = self.groups[people]
        self._score_sum += np.bincount(owners, after - before, g)
        self._default_sum += np.bincount(
            owners,
            self.repay_probability(before, owners) - self.repay_probability(after, owners),
            g,
        )
        default = ~labels
        self._observed += [
            np.bincount(label_groups, minlength=g),
            np.bincount(label_groups, default, g),
            np.bincount(label_groups[label_in_band], minlength=g),
            np.bincount(label_groups[label_in_band], default[label_in_band], g),
        ]

    def on_deploy(self, agent: AgentView) -> None:
        """Measure the newly deployed model's true AUC per group on a fresh population sample."""
        if agent.name != self.lender.name:
            return
        features, repaid, groups = self.population_sample(self.auc_sample, self._measure_rng)
        scores = agent.score(features)
        auc = self._last["group_auc"]
        for g in range(self.n_groups):
            mine = groups == g
            if np.unique(repaid[mine]).shape[0] == 2:
                auc[g] = roc_auc(repaid[mine], scores[mine])
        self.record("group_auc", auc)
