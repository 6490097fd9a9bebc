"""Decision policies: how an agent turns scores on a batch into actions.

Every policy is vectorized over the batch and reports the *propensity* of its actions, so
that observations caused by a decision can later be corrected for the selection it made.
``epsilon`` is the exploration knob shared by all policies.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Decision
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.registry import register

special = lazy_module("scipy.special")

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Policy:
    """Base class: ``decide(scores, batch, rng)`` returns a :class:`Decision`."""

    kind: ClassVar[str] = ""  # set by the registry

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        raise NotImplementedError


@register("policy", "threshold")
class ThresholdPolicy(Policy):
    """Accept a case when its score reaches ``threshold``; ``epsilon`` accepts the rest at random.

    With ``epsilon > 0`` each case below the threshold is still accepted with probability
    ``epsilon`` (random approvals, the classic exploration of selective-label systems).

    Args:
        threshold: lowest score that is accepted.
        epsilon: probability that a case below the threshold is accepted at random.
    """

    def __init__(self, threshold: float = 0.5, epsilon: Probability = 0.0) -> None:
        self.threshold = threshold
        self.epsilon = epsilon

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        above = scores >= self.threshold
        propensity = np.where(above, 1.0, self.epsilon)
        actions = above
        if self.epsilon > 0:
            actions = above | (rng.random(scores.shape[0]) < self.epsilon)
        return Decision(scores, actions.astype(np.int8), propensity)


def _allocation_probabilities(scores: np.ndarray, epsilon: float) -> np.ndarray:
    """Scores normalized to shares (uniform when they sum to zero), mixed with ``epsilon`` uniform.

    Negative scores (a regressor's predictions can be) count as zero: an allocation share
    cannot be negative.
    """
    n = scores.shape[0]
    if scores.min(initial=0.0) < 0:
        scores = np.maximum(scores, 0.0)
    total = scores.sum()
    p = scores / total if total > 0 else np.full(n, 1.0 / n)
    if epsilon > 0:
        p = (1.0 - epsilon) * p + epsilon / n
    return p


# Batches up to this size take pure-Python paths where numpy's per-call cost dominates.
_SMALL = 16


def _small_cdf(p: np.ndarray) -> list[float] | None:
    """``np.cumsum(p)`` as a list, for a short ``p`` of finite non-negative shares, else ``None``.

    ``cumsum`` adds in order, so the running Python sum is the same floats; with
    non-negative finite terms the CDF is sorted and ``bisect_right`` finds what
    ``searchsorted(side="right")`` finds.
    """
    cdf = []
    acc = 0.0
    for v in p.tolist():
        if not v >= 0.0:  # negative or NaN: leave it to numpy
            return None
        acc += v
        cdf.append(acc)
    return cdf if acc < math.inf else None


@register("policy", "proportional")
class ProportionalPolicy(Policy):
    """Allocate the batch's ``capacity`` units at random, each with probability proportional to score.

    ``propensity`` is the allocation probability of each case; ``epsilon`` mixes it with a
    uniform allocation: each unit is uniform with that probability (``exploration:
    unit``), or the whole day's allocation is (``allocation``, as ml-fairness-gym's
    agents explore).

    Args:
        epsilon: exploration share, the weight of the uniform allocation mixed in.
        exploration: ``unit`` (each unit explores on its own) or ``allocation`` (the
            whole day's allocation does).
    """

    def __init__(
        self, epsilon: Probability = 0.0, exploration: Literal["unit", "allocation"] = "unit"
    ) -> None:
        self.epsilon = epsilon
        self.exploration = exploration

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        p = _allocation_probabilities(scores, self.epsilon)
        units = 1 if batch.capacity is None else batch.capacity
        if self.exploration == "allocation" and self.epsilon > 0:
            n = p.shape[0]
            explore = rng.random() < self.epsilon
            beliefs = _allocation_probabilities(scores, 0.0)
            actions = rng.multinomial(units, np.full(n, 1.0 / n) if explore else beliefs)
            return Decision(scores, actions, p)
        if units == 1:
            # One unit: inverse-CDF draw, an order of magnitude cheaper than multinomial.
            n = p.shape[0]
            small = _small_cdf(p) if n <= _SMALL else None
            if small is None:
                cdf = np.cumsum(p)
                chosen = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
            else:
                chosen = bisect_right(small, rng.random() * small[-1])
            actions = np.zeros(n, dtype=np.int64)
            actions[min(chosen, n - 1)] = 1
        else:
            actions = rng.multinomial(units, p)
        return Decision(scores, actions, p)


@register("policy", "top-k")
class TopKPolicy(Policy):
    """Act on the ``k`` highest-scoring cases (ties broken at random); default k = capacity.

    With ``epsilon`` each of the k slots goes, with that probability, to a uniformly chosen
    case instead. ``propensity`` is the probability each case gets a slot (exact without
    exploration; the first-order mixture ``(1-eps)*top + eps*k/n`` with it).

    Args:
        k: number of cases acted on (default: the batch's capacity).
        epsilon: probability that a slot goes to a uniformly chosen case.
    """

    def __init__(
        self, k: Annotated[int, Field(ge=1)] | None = None, epsilon: Probability = 0.0
    ) -> None:
        self.k = k
        self.epsilon = epsilon

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        n = scores.shape[0]
        k = min(self.k or (1 if batch.capacity is None else batch.capacity), n)
        jitter = rng.random((n,))
        if n <= _SMALL and self.epsilon == 0 and scores.dtype.kind == "f":
            small = _small_top_k(scores, jitter, k)
            if small is not None:
                return Decision(scores, *small)
        order = np.lexsort((jitter, -scores))
        chosen = order[:k]
        if self.epsilon > 0:
            explore = rng.random(k) < self.epsilon
            chosen = np.where(explore, rng.integers(0, n, size=k), chosen)
        actions = np.bincount(chosen, minlength=n)
        top = np.zeros(n)
        top[order[:k]] = 1.0
        propensity = (1.0 - self.epsilon) * top + self.epsilon * k / n
        return Decision(scores, actions, propensity)


def _small_top_k(
    scores: np.ndarray, jitter: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Top-k ``(actions, propensity)`` without exploration, for a short batch of finite scores.

    Python's stable sort on ``(-score, jitter)`` is ``np.lexsort((jitter, -scores))``
    (ties in both keys keep index order); ``None`` when a score is not finite (numpy
    orders NaN its own way).
    """
    values = scores.tolist()
    if not all(map(math.isfinite, values)):
        return None
    noise = jitter.tolist()
    order = sorted(range(len(values)), key=lambda i: (-values[i], noise[i]))
    top = [0.0] * len(values)
    for i in order[:k]:
        top[i] = 1.0
    # epsilon = 0: actions are the top indicator, and propensity = 1.0 * top + 0.0 = top.
    return np.array(top, dtype=np.intp), np.array(top)


def _poisson_tails(means: np.ndarray, units: int) -> np.ndarray:
    """``tails[i, v] = P(Poisson(means[i]) >= v + 1)`` for v < units (``scipy.special.pdtrc``,
    the ufunc behind ``scipy.stats.poisson.sf``, without the distribution object's overhead)."""
    return special.pdtrc(np.arange(units)[None, :], means[:, None])


@register("policy", "greedy")
class GreedyAllocationPolicy(Policy):
    """Allocate ``capacity`` units one at a time where the next unit is expected to find the most.

    The allocation of D'Amour et al. (2020)'s greedy agent. Scores are expected incidents
    per case (Poisson means) and a unit discovers at most one incident, so the v-th unit
    sent to case i finds one with probability ``P(Poisson(score_i) >= v)``. Giving each
    unit in turn to the case with the largest such marginal is, because the marginals of
    a case decrease with v, the same as taking the ``capacity`` largest entries of the
    table of marginals: one vectorized selection, ties broken at random. A case can get
    several units, which ``top-k`` (at most one unit per case) cannot express.

    With ``epsilon`` each unit goes, with that probability, to a uniformly chosen case
    (``exploration: unit``), or the whole allocation is uniform (``allocation``: each
    unit to a uniform case, as ml-fairness-gym's agents explore on a fraction of steps).
    ``propensity`` is each case's expected share of the units.

    Args:
        epsilon: probability that a unit goes to a uniformly chosen case.
    """

    def __init__(
        self, epsilon: Probability = 0.0, exploration: Literal["unit", "allocation"] = "unit"
    ) -> None:
        self.epsilon = epsilon
        self.exploration = exploration

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        n = scores.shape[0]
        units = 1 if batch.capacity is None else batch.capacity
        marginal = _poisson_tails(np.maximum(scores, 0.0), units)
        order = np.lexsort((rng.random(marginal.size), -marginal.ravel()))[:units]
        chosen = order // units
        if self.epsilon > 0 and self.exploration == "allocation":
            if rng.random() < self.epsilon:
                chosen = rng.integers(0, n, size=units)
        elif self.epsilon > 0:
            explore = rng.random(units) < self.epsilon
            chosen = np.where(explore, rng.integers(0, n, size=units), chosen)
        actions = np.bincount(chosen, minlength=n)
        greedy_share = np.bincount(order // units, minlength=n) / units
        propensity = (1.0 - self.epsilon) * greedy_share + self.epsilon / n
        return Decision(scores, actions, propensity)
