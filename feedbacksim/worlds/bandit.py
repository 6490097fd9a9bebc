"""A Bernoulli multi-armed bandit: selective labels in their simplest form.

K arms pay 1 with fixed success rates. Each round the agent pulls the arm(s) its policy
picks and observes the reward of those arms only. A greedy agent (pull the arm with the
highest posterior mean) stops pulling an arm as soon as its estimate falls below another
arm's, so a good arm that had a few unlucky early pulls is never tried again: with rates
(0.6, 0.5) and a Beta(1, 1) prior about a third of greedy agents end up preferring the
worse arm after 1,000 rounds. Epsilon exploration keeps every arm's estimate converging.

Every round draws a reward for *every* arm (the counterfactual ones are never shown to
the agent), so the reward stream of an arm does not depend on the agent's choices: two
policies run with the same seed face the same rewards.

Open loop (the twin with the loop cut): the agent observes the rewards of every arm each
round (full information), whatever it pulled.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import register

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


@register("environment", "bandit")
class BanditWorld(Environment):
    """K Bernoulli arms; the agent observes only the rewards of the arms it pulls.

    Args:
        success_rates: probability that a pull of each arm pays 1.
        agent: the player's name (default: the scenario's only agent).

    Each round is one time unit. The agent decides on a batch of K cases, one per arm, whose
    only feature is the arm index; the batch's capacity is one pull (a ``top-k`` policy
    pulls its k highest-scoring arms).
    """

    time_unit = "rounds"
    metrics = {
        "estimate": "the agent's score of each arm in the round (its estimate of the success rate)",
        "best_arm_share": "share of all pulls so far that went to the arm with the highest rate",
        "regret": "cumulative expected regret: sum over pulls of (best rate - pulled arm's rate)",
    }
    metric_scales = {"best_arm_share": 1.0}  # a share
    model_needs = "regressor"
    model_kinds = ("beta-bernoulli",)

    def __init__(
        self,
        success_rates: Annotated[list[Probability], Field(min_length=2)],
        agent: str | None = None,
    ) -> None:
        self.success_rates = success_rates
        self.agent = agent

    def start(self) -> None:
        self.rates = np.asarray(self.success_rates, dtype=float)
        k = self.rates.shape[0]
        self.player = self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        self._batch = Batch(np.arange(k, dtype=float).reshape(k, 1), capacity=1)
        self._best = int(np.argmax(self.rates))
        self._gap = self.rates.max() - self.rates
        self._pulls = 0
        self._best_pulls = 0
        self._regret = 0.0
        self.declare("estimate", groups=range(k))
        self.declare("best_arm_share")
        self.declare("regret")
        self.every(1.0, self.step)

    def step(self) -> None:
        """One round: the agent pulls, every arm draws a reward, the agent sees its own."""
        decision = self.player.decide(self._batch)
        pulled = decision.actions > 0
        rewards = (self.rng.random(self.rates.shape[0]) < self.rates).astype(float)
        features = self._batch.features
        if self.open_loop:
            obs = Observations(features, rewards)
        else:
            obs = Observations(
                features[pulled], rewards[pulled], propensity=decision.propensity[pulled]
            )
        self.deliver(self.player, obs)

        actions = decision.actions
        # Integer counts: the Python sum of the list is exact, and cheaper than a numpy call.
        count = sum(actions.tolist()) if actions.dtype.kind in "iub" else int(actions.sum())
        self._pulls += int(count)
        self._best_pulls += int(actions[self._best])
        self._regret += float(self._gap @ decision.actions)
        self.record("estimate", decision.scores)
        self.record("best_arm_share", self._best_pulls / self._pulls if self._pulls else 0.0)
        self.record("regret", self._regret)
