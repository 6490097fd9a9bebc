"""Per-group threshold policies of a lender: max-util, demographic parity, equal opportunity.

Each policy approves a case when its score (the model's repayment probability) reaches the
threshold of the case's group (``batch.groups``, integer labels 0..G-1). The thresholds
are those of Liu et al. (2018), "Delayed Impact of Fair Machine Learning", computed from
the agent's *own* view of the world: the scores its deployed model gives to the most
recent applicants it has seen (a pool of ``pool_size`` applicants), with the scores taken
as repayment probabilities. A repaid loan earns ``profit``, a default costs ``loss``.

* ``max-util``: approve when the expected utility ``profit * s - loss * (1 - s)`` is
  positive, i.e. ``s >= loss / (profit + loss)``; the same threshold in every group.
* ``demographic-parity``: the same selection rate in every group, chosen to maximize the
  expected utility over the pool.
* ``equal-opportunity``: the same true-positive rate (share of the group's expected
  repayers who are approved) in every group, chosen to maximize the expected utility.

Thresholds are recomputed whenever the agent deploys a new model (``on_deploy``), so they
stay fixed between retrains, as a lender's cut-offs do. ``epsilon`` approves each case
below its threshold with that probability (random approvals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.agent import model_scores
from feedbacksim.core.cases import Batch, Decision
from feedbacksim.core.policies import Policy, Probability
from feedbacksim.core.registry import register

if TYPE_CHECKING:
    from feedbacksim.core.agent import Agent

Positive = Annotated[float, Field(gt=0)]
GRID = 201  # candidate selection rates (or true-positive rates) 0, 0.005, ..., 1


class GroupThresholdPolicy(Policy):
    """Base of the per-group threshold policies: the pool, the thresholds, the decision.

    Args:
        profit: utility of a repaid loan.
        loss: utility lost on a default.
        epsilon: probability of approving a case below its group's threshold.
        pool_size: how many of the most recent applicants the thresholds are computed on.
    """

    def __init__(
        self,
        profit: Positive = 1.0,
        loss: Positive = 4.0,
        epsilon: Probability = 0.0,
        pool_size: Annotated[int, Field(ge=10)] = 5000,
    ) -> None:
        self.profit = profit
        self.loss = loss
        self.epsilon = epsilon
        self.pool_size = pool_size
        self.thresholds: np.ndarray | None = None
        self._pool_features: np.ndarray | None = None
        self._pool_groups = np.zeros(0, dtype=np.int64)
        self._pool_next = 0
        self._pool_count = 0

    # -- thresholds --------------------------------------------------------------------
    def compute_thresholds(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """One threshold per group (``inf``: approve nobody) from scores and group labels."""
        raise NotImplementedError

    def _groups_sorted(self, scores: np.ndarray, groups: np.ndarray) -> list[np.ndarray]:
        """Each group's scores sorted from highest to lowest."""
        count = int(groups.max()) + 1 if groups.size else 0
        return [np.sort(scores[groups == g])[::-1] for g in range(count)]

    def _best_thresholds(
        self, sorted_scores: list[np.ndarray], taken: list[np.ndarray]
    ) -> np.ndarray:
        """Thresholds of the grid point with the highest total utility.

        ``taken[g][i]`` is how many of group g's top scores are approved at grid point i;
        the utility of approving the top k of a group is a cumulative sum over its scores.
        """
        total = np.zeros(GRID)
        for s, k in zip(sorted_scores, taken, strict=True):
            utility = np.concatenate([[0.0], np.cumsum(self.profit * s - self.loss * (1.0 - s))])
            total += utility[k]
        best = int(np.argmax(total))
        return np.array(
            [
                s[k[best] - 1] if k[best] > 0 else np.inf
                for s, k in zip(sorted_scores, taken, strict=True)
            ]
        )

    def on_deploy(self, agent: Agent) -> None:
        """Recompute the thresholds with the newly deployed model's scores of the pool."""
        if self._pool_count == 0 or self._pool_features is None:
            self.thresholds = None  # computed on the first batch instead
            return
        n = self._pool_count
        scores = model_scores(agent.deployed, self._pool_features[:n])
        self.thresholds = self.compute_thresholds(scores, self._pool_groups[:n])

    def _remember(self, batch: Batch) -> None:
        """Put the batch's applicants into the pool (a ring buffer of the most recent ones)."""
        m = len(batch)
        if m == 0:
            return
        if self._pool_features is None or self._pool_groups is None:
            self._pool_features = np.empty((self.pool_size, batch.features.shape[1]))
            self._pool_groups = np.zeros(self.pool_size, dtype=np.int64)
        if batch.groups is None:
            raise ValueError(f"the {self.kind} policy needs group labels in the batch")
        keep = min(m, self.pool_size)
        slots = (self._pool_next + np.arange(keep)) % self.pool_size
        self._pool_features[slots] = batch.features[m - keep :]
        self._pool_groups[slots] = batch.groups[m - keep :]
        self._pool_next = int((self._pool_next + keep) % self.pool_size)
        self._pool_count = min(self.pool_size, self._pool_count + keep)

    # -- decision ----------------------------------------------------------------------
    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        if batch.groups is None:
            raise ValueError(f"the {self.kind} policy needs group labels in the batch")
        groups = np.asarray(batch.groups, dtype=np.int64)
        self._remember(Batch(batch.features, groups))
        if self.thresholds is None or groups.max() >= self.thresholds.shape[0]:
            self.thresholds = self.compute_thresholds(scores, groups)
        above = scores >= self.thresholds[groups]
        propensity = np.where(above, 1.0, self.epsilon)
        actions = above
        if self.epsilon > 0:
            actions = above | (rng.random(scores.shape[0]) < self.epsilon)
        return Decision(scores, actions.astype(np.int8), propensity)


@register("policy", "max-util")
class MaxUtilPolicy(GroupThresholdPolicy):
    """Approve when the expected utility is positive: ``score >= loss / (profit + loss)`` in every group."""

    def compute_thresholds(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        count = int(groups.max()) + 1 if groups.size else 1
        return np.full(count, self.loss / (self.profit + self.loss))


@register("policy", "demographic-parity")
class DemographicParityPolicy(GroupThresholdPolicy):
    """The same selection rate in every group, the one with the highest expected utility."""

    def compute_thresholds(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        sorted_scores = self._groups_sorted(scores, groups)
        rates = np.linspace(0.0, 1.0, GRID)
        taken = [np.rint(rates * s.shape[0]).astype(np.int64) for s in sorted_scores]
        return self._best_thresholds(sorted_scores, taken)


@register("policy", "equal-opportunity")
class EqualOpportunityPolicy(GroupThresholdPolicy):
    """The same true-positive rate in every group, the one with the highest expected utility.

    A group's true-positive rate when its top k are approved is estimated from the scores:
    the expected repayers among the top k over the group's expected repayers.
    """

    def compute_thresholds(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        sorted_scores = self._groups_sorted(scores, groups)
        rates = np.linspace(0.0, 1.0, GRID)
        taken = []
        for s in sorted_scores:
            tpr = np.cumsum(s) / s.sum() if s.size and s.sum() > 0 else np.ones(s.shape[0])
            # Fewest top cases whose true-positive rate reaches each grid rate.
            k = np.searchsorted(tpr, rates - 1e-12) + 1
            taken.append(np.where(rates > 0, np.minimum(k, s.shape[0]), 0))
        return self._best_thresholds(sorted_scores, taken)
