"""Retention disparity under repeated loss minimization (Hashimoto et al. 2018).

Users of K groups arrive each round; a model is refit by empirical risk minimization on
the users it has served and its loss drives who comes back. Group k's expected number of
users follows

    lambda_k <- lambda_k * nu(R_k(theta)) + b_k,

where ``R_k(theta)`` is the group's true risk under the deployed model, ``nu(R) =
clip(1 - R, 0, 1)`` the share of users who return (a user with expected squared loss R
stays with probability 1 - R) and ``b_k`` the new users of each round (Hashimoto et al.,
"Fairness Without Demographics in Repeated Loss Minimization", ICML 2018). ERM serves the
majority best, the minority leaves, the next fit serves it even less: when the groups'
labelling rules conflict enough, the balanced state is unstable and the minority's share
falls to a small limit set by ``b`` and the noise (derivation in ``docs/worlds.md``).

Group k's labels are ``y = x . coefficients[k] + noise_sd * eps`` with ``x ~ N(0, I)``.
The agent sees the features and, as its last feature column, the group label (a model may
ignore it, as ERM does, or use it to reweight groups). The risk is measured on a fixed
held-out sample of ``eval_size`` users per group: ground truth, never shown to the agent.

Open loop: the arrivals ignore the risks and lambda stays at its initial value.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import register

Count = Annotated[float, Field(gt=0)]


@register("environment", "retention")
class RetentionWorld(Environment):
    """Groups of users whose return depends on the loss the deployed model gives them.

    Args:
        coefficients: each group's true linear labelling rule (one list per group, all of
            the same length d).
        noise_sd: standard deviation of the label noise (sigma; the risk floor is sigma^2).
        new_users: b_k, each group's new users per round.
        initial_users: lambda_k at the first round.
        eval_size: held-out users per group the true risk is measured on.
        agent: the model's agent name (default: the scenario's only agent).
    """

    time_unit = "rounds"
    metrics = {
        "population_share": "the group's share of expected users, lambda_k / sum(lambda)",
        "expected_users": "lambda_k, the group's expected users this round",
        "users": "users of the group who arrived this round (Poisson(lambda_k))",
        "risk": "the group's true mean squared loss under the deployed model",
        "worst_group_risk": "the largest risk over groups",
    }
    metric_scales = {"population_share": 1.0}  # a share
    model_needs = "scorer"
    model_kinds = ("linear-erm",)

    def __init__(
        self,
        coefficients: Annotated[list[list[float]], Field(min_length=2)],
        new_users: list[Annotated[float, Field(ge=0)]],
        initial_users: list[Count],
        noise_sd: Annotated[float, Field(ge=0)] = 0.1,
        eval_size: Annotated[int, Field(ge=10)] = 2000,
        agent: str | None = None,
    ) -> None:
        self.coefficients = coefficients
        self.new_users = new_users
        self.initial_users = initial_users
        self.noise_sd = noise_sd
        self.eval_size = eval_size
        self.agent = agent

    @classmethod
    def check_params(cls, params: dict) -> None:
        k = len(params["coefficients"])
        if len({len(c) for c in params["coefficients"]}) != 1 or not params["coefficients"][0]:
            raise ValueError("every group's coefficients must have the same, positive length")
        for name in ("new_users", "initial_users"):
            if len(params[name]) != k:
                raise ValueError(f"{name} needs one value per group ({k})")

    def start(self) -> None:
        self.rules = np.asarray(self.coefficients, dtype=float)
        self.users = np.asarray(self.initial_users, dtype=float)
        self.arrivals = np.asarray(self.new_users, dtype=float)
        self.model_agent = (
            self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        )
        groups = np.repeat(np.arange(self.rules.shape[0]), self.eval_size)
        x, y = self._draw(groups, self.rng)
        self._eval = Batch(np.column_stack([x, groups]), groups=groups)
        self._eval_y = y
        self._eval_groups = groups
        for metric in self.metrics:
            self.declare(metric, None if metric == "worst_group_risk" else range(len(self.users)))
        self.every(1.0, self.step)

    def _draw(self, groups: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal((groups.shape[0], self.rules.shape[1]))
        y = np.einsum("ij,ij->i", x, self.rules[groups]) + self.noise_sd * rng.standard_normal(
            groups.shape[0]
        )
        return x, y

    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Users in the initial shares, with the group label as the last feature column."""
        groups = rng.choice(len(self.initial_users), size=n, p=self._initial_share())
        x, y = self._draw(groups, rng)
        return np.column_stack([x, groups]), y, groups

    def _initial_share(self) -> np.ndarray:
        users = np.asarray(self.initial_users, dtype=float)
        return users / users.sum()

    def step(self) -> None:
        """One round: measure each group's risk, users return or leave, new users are served."""
        k = self.users.shape[0]
        scores = self.decide(self.model_agent, self._eval).scores
        loss = (scores - self._eval_y) ** 2
        risk = np.bincount(self._eval_groups, loss, k) / np.bincount(self._eval_groups, None, k)
        self.record("population_share", self.users / self.users.sum())
        self.record("expected_users", self.users)
        self.record("risk", risk)
        self.record("worst_group_risk", risk.max())

        arrived = self.rng.poisson(self.users)
        self.record("users", arrived)
        # Arrival order is random: a sliding training window must not favour one group.
        groups = self.rng.permutation(np.repeat(np.arange(k), arrived))
        x, y = self._draw(groups, self.rng)
        self.deliver(self.model_agent, Observations(np.column_stack([x, groups]), y, groups))
        if not self.open_loop:
            self.users = self.users * np.clip(1.0 - risk, 0.0, 1.0) + self.arrivals
