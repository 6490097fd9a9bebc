"""Recommender homogenization (Chaney, Stewart & Engelhardt 2018).

Users and items have latent attributes drawn from Dirichlet distributions; the true
utility of item i for user u is ``theta_u . beta_i``. Each step every user is shown a
slate of ``slate_size`` items and consumes the one with the highest known utility weighted
by the attention its rank gets, ``utility * rank^-attention_exponent``; nobody consumes an
item twice. ``new_items_per_step`` items are published each step. For the first
``exploration_steps`` steps slates are random; afterwards the deployed recommender,
retrained on every interaction so far, makes them.

Homogenization is the mean, over users, of the Jaccard similarity between the set of
items a user consumed and the set consumed by the user most similar to them in true
preferences (cosine of ``theta``). The world runs a shadow copy of the same users and
items under the *ideal* recommender (slates ranked by true utility) with the same
exploration slates, and records the recommender's homogenization minus the ideal's:
the homogenization the recommender's feedback loop adds.

The recommender agent sees a batch of every (user, published item) pair, item-major
(case ``i * n_users + u`` is user u and item i), with features ``(user, item)`` and groups
= user. Its observations are interaction rows ``(user, item, attributes...)`` with label 1
and, when items are published, catalog rows ``(-1, item, attributes...)`` with label 0.

Open loop: slates stay random for the whole run (the recommender never acts).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Decision, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.policies import Policy, Probability
from feedbacksim.core.registry import register

PositiveInt = Annotated[int, Field(ge=1)]
Concentration = Annotated[float, Field(gt=0)]


BLOCK = 16  # items per block in the two-stage top-k


def top_k_items(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` highest-scoring items of each user, best first, from ``(items, users)`` scores.

    Two stages instead of one ``argpartition`` over every item: the top k items of a user
    lie in the k blocks (of ``BLOCK`` consecutive items) with the highest block maxima, so
    a block-max reduction (contiguous in this item-major layout) and two small partitions
    give the exact answer at a fraction of the cost. Returns ``(users, k)`` item indices.
    """
    n_items, n_users = scores.shape
    k = min(k, n_items)
    full = n_items // BLOCK
    block_max = np.empty((-(-n_items // BLOCK), n_users))
    block_max[:full] = scores[: full * BLOCK].reshape(full, BLOCK, n_users).max(axis=1)
    if n_items % BLOCK:
        block_max[full] = scores[full * BLOCK :].max(axis=0)
    kb = min(k, block_max.shape[0])
    blocks = np.argpartition(-block_max.T, kb - 1, axis=1)[:, :kb]
    candidates = (blocks[:, :, None] * BLOCK + np.arange(BLOCK)).reshape(n_users, -1)
    # Candidates past the last item (in the short last block) are clipped and scored -inf.
    past = candidates >= n_items
    candidates = np.minimum(candidates, n_items - 1)
    values = scores[candidates, np.arange(n_users)[:, None]]
    values[past] = -np.inf
    top = np.argpartition(-values, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(values, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(np.take_along_axis(candidates, top, axis=1), order, axis=1)


@register("policy", "slate")
class SlatePolicy(Policy):
    """Shows each group (user) the ``k`` cases (items) it scores highest, in rank order.

    The batch must be a full grid laid out group-fastest: case ``j`` belongs to group
    ``j % n_groups``, with ``batch.groups`` holding those group indices. ``actions`` are
    the rank of each case in its group's slate (1 = top) and 0 for cases not shown.
    With ``epsilon`` each slot shows, with that probability, a uniformly drawn case of the
    group instead; ``propensity`` is the first-order probability of being shown.
    """

    def __init__(self, k: PositiveInt = 10, epsilon: Probability = 0.0) -> None:
        self.k = k
        self.epsilon = epsilon

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        groups = batch.groups
        if groups is None or groups.shape[0] == 0:
            raise ValueError("the slate policy needs a batch with groups (one per user)")
        n = scores.shape[0]
        n_groups = int(groups[-1]) + 1
        if n % n_groups or not np.array_equal(groups[:n_groups], np.arange(n_groups)):
            raise ValueError("the slate policy needs a full (case, group) grid, group-fastest")
        n_cases = n // n_groups
        k = min(self.k, n_cases)
        slate = top_k_items(scores.reshape(n_cases, n_groups), k)
        if self.epsilon > 0:
            explore = rng.random(slate.shape) < self.epsilon
            slate = np.where(explore, rng.integers(0, n_cases, size=slate.shape), slate)
        actions = np.zeros(n, dtype=np.int64)
        ranks = np.broadcast_to(np.arange(k, 0, -1), slate.shape)
        # Lower ranks are written last, so a case drawn twice keeps its best rank.
        flat = (slate[:, ::-1] * n_groups + np.arange(n_groups)[:, None]).ravel()
        actions[flat] = ranks.ravel()
        shown = (actions > 0).astype(float)
        propensity = (1.0 - self.epsilon) * shown + self.epsilon * k / n_cases
        return Decision(scores, actions, propensity)


class Arm:
    """One arm's consumption state: consumed items and each user's overlap with their partner.

    Homogenization is kept up to date in O(users) a step instead of recounting the
    ``items x users`` matrix: when user v adds item n_v and their partner p adds n_p, the
    overlap ``|C_v & C_p|`` grows by ``[n_v in C_p after the step] + [n_p in C_v before it]``
    (both new items are new to their own consumer, so nothing is counted twice).
    """

    def __init__(self, n_items: int, partner: np.ndarray) -> None:
        n_users = partner.shape[0]
        self.consumed = np.zeros((n_items, n_users), dtype=bool)
        self.partner = partner
        self.count = np.zeros(n_users)
        self.overlap = np.zeros(n_users)
        self._users = np.arange(n_users)

    def consume(self, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Record each user's pick (``-1``: none); returns the ``(users, items)`` consumed."""
        has = chosen >= 0
        users, items = self._users[has], chosen[has]
        self.consumed[items, users] = True
        partner = self.partner
        mine = np.maximum(chosen, 0)
        theirs = chosen[partner]
        self.overlap += has & self.consumed[mine, partner]
        self.overlap += (
            (theirs >= 0) & (theirs != chosen) & self.consumed[np.maximum(theirs, 0), self._users]
        )
        self.count += has
        return users, items

    def homogenization(self) -> float:
        """Mean Jaccard similarity of each user's consumed set with their partner's."""
        union = self.count + self.count[self.partner] - self.overlap
        jaccard = np.divide(self.overlap, union, out=np.zeros_like(union), where=union > 0)
        return float(jaccard.mean())


@register("environment", "recommender")
class RecommenderWorld(Environment):
    """Users consume recommended items; the recommender retrains on what they consumed.

    Args:
        n_users: number of users.
        n_items: items published before the first step.
        new_items_per_step: items published at each later step.
        n_attributes: dimension of the latent attributes.
        user_concentration: Dirichlet parameter (per attribute) of user preferences;
            smaller means more specialized users.
        item_concentration: Dirichlet parameter (per attribute) of item attributes.
        slate_size: items shown to each user each step.
        attention_exponent: attention to rank r is ``r^-attention_exponent``.
        exploration_steps: steps of random slates before the recommender acts.
        agent: the recommender's name (default: the scenario's only agent).
    """

    time_unit = "steps"
    metrics = {
        "homogenization": "mean Jaccard similarity of consumed items between preference-nearest users",
        "ideal_homogenization": "the same under the ideal recommender (shadow copy, same users and items)",
        "homogenization_increase": "homogenization minus ideal_homogenization",
        "excess_homogenization": "homogenization_increase floored at 0 (only more homogeneous is bad)",
        "utility": "mean true utility of the items consumed this step",
        "ideal_utility": "the same under the ideal recommender",
    }
    model_needs = "regressor"
    model_kinds = ("popularity", "content-filtering", "random-recommender")

    def __init__(
        self,
        n_users: Annotated[int, Field(ge=2)] = 1000,
        n_items: PositiveInt = 1000,
        new_items_per_step: Annotated[int, Field(ge=0)] = 10,
        n_attributes: Annotated[int, Field(ge=2)] = 20,
        user_concentration: Concentration = 0.5,
        item_concentration: Concentration = 0.1,
        slate_size: PositiveInt = 10,
        attention_exponent: Annotated[float, Field(ge=0)] = 0.8,
        exploration_steps: Annotated[int, Field(ge=0)] = 10,
        agent: str | None = None,
    ) -> None:
        self.n_users = n_users
        self.n_items = n_items
        self.new_items_per_step = new_items_per_step
        self.n_attributes = n_attributes
        self.user_concentration = user_concentration
        self.item_concentration = item_concentration
        self.slate_size = slate_size
        self.attention_exponent = attention_exponent
        self.exploration_steps = exploration_steps
        self.agent = agent

    @classmethod
    def check_params(cls, params: dict) -> None:
        if params.get("slate_size", 10) > params.get("n_items", 1000):
            raise ValueError("slate_size must not exceed n_items")

    @classmethod
    def check_agent(cls, params: dict, agent: Any) -> dict[str, str]:
        """A slate policy's ``k`` must fit the world's slate (checked at load)."""
        if agent.policy is None or agent.policy.kind != "slate":
            return {}
        k = agent.policy.params().get("k", 10)
        slate = params.get("slate_size", 10)
        if isinstance(k, int) and k > slate:
            return {"policy.k": f"is {k} but environment.params.slate_size is {slate}"}
        return {}

    def start(self) -> None:
        rng = self.rng
        steps = int(np.ceil(self.sim.horizon))
        n_users, k = self.n_users, self.n_attributes
        self.max_items = self.n_items + self.new_items_per_step * max(0, steps - 1)
        # Every item of the run is drawn up front so that both arms see the same ones.
        preferences = rng.dirichlet(np.full(k, self.user_concentration), size=n_users)
        self.attributes = rng.dirichlet(np.full(k, self.item_concentration), size=self.max_items)
        # State is item-major (items x users), the layout of the recommender's batch.
        self.utility = self.attributes @ preferences.T
        unit = preferences / np.linalg.norm(preferences, axis=1, keepdims=True)
        similarity = unit @ unit.T
        np.fill_diagonal(similarity, -np.inf)
        self.partner = np.argmax(similarity, axis=1)
        self.arm = Arm(self.max_items, self.partner)
        self.ideal_arm = Arm(self.max_items, self.partner)
        self.attention = np.arange(1, self.slate_size + 1, dtype=float) ** -self.attention_exponent
        self.recommender = (
            self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        )
        grid = np.empty((self.max_items * n_users, 2))
        grid[:, 0] = np.tile(np.arange(n_users), self.max_items)
        grid[:, 1] = np.repeat(np.arange(self.max_items), n_users)
        self._grid = grid
        self.published = 0
        self._users = np.arange(n_users)
        for metric in self.metrics:
            self.declare(metric)
        self.every(1.0, self.step)

    def _publish(self, count: int) -> None:
        """Publish ``count`` more items and show the recommender their catalog rows."""
        new = np.arange(self.published, self.published + count)
        self.published += count
        if count:
            rows = np.column_stack([np.full(count, -1.0), new, self.attributes[new]])
            self.deliver(self.recommender, Observations(rows, np.zeros(count)))

    def _choose(self, slate: np.ndarray, consumed: np.ndarray) -> np.ndarray:
        """Each user's pick from their ``(users, k)`` slate (``-1``: empty slot, or none left)."""
        users = self._users[:, None]
        items = np.maximum(slate, 0)
        valid = (slate >= 0) & ~consumed[items, users]
        value = np.where(valid, self.utility[items, users], -np.inf)
        value *= self.attention[: slate.shape[1]]
        pick = np.argmax(value, axis=1)
        chosen = slate[self._users, pick]
        return np.where(valid[self._users, pick], chosen, -1)

    def _masked(self, scores: np.ndarray, consumed: np.ndarray) -> np.ndarray:
        """``scores`` of the published items with consumed ones at ``-inf`` (a new array)."""
        return np.where(consumed[: self.published], -np.inf, scores)

    def _recommended_slates(self) -> np.ndarray:
        n_users, n_items = self.n_users, self.published
        features = self._grid[: n_items * n_users]
        decision = self.recommender.decide(
            Batch(features, groups=features[:, 0], capacity=self.slate_size)
        )
        shown = np.flatnonzero(decision.actions)
        slate = np.full((n_users, self.slate_size), -1, dtype=np.intp)
        slate[shown % n_users, decision.actions[shown] - 1] = shown // n_users
        return slate

    def step(self) -> None:
        """One step: publish items, show slates in both arms, let users consume, record."""
        first = self.published == 0
        self._publish(self.n_items if first else self.new_items_per_step)
        if self.now < self.exploration_steps or self.open_loop:
            # Common random numbers: both arms are shown the same random slates (their
            # histories are identical until the recommender first acts).
            random = self._masked(
                self.rng.random((self.published, self.n_users)), self.arm.consumed
            )
            slate = ideal_slate = top_k_items(random, self.slate_size)
        else:
            slate = self._recommended_slates()
            ideal = self._masked(self.utility[: self.published], self.ideal_arm.consumed)
            ideal_slate = top_k_items(ideal, self.slate_size)
        users, items = self.arm.consume(self._choose(slate, self.arm.consumed))
        rows = np.column_stack([users, items, self.attributes[items]])
        self.deliver(self.recommender, Observations(rows, np.ones(users.shape[0])))
        ideal_users, ideal_items = self.ideal_arm.consume(
            self._choose(ideal_slate, self.ideal_arm.consumed)
        )

        homogenization = self.arm.homogenization()
        ideal_homogenization = self.ideal_arm.homogenization()
        self.record("homogenization", homogenization)
        self.record("ideal_homogenization", ideal_homogenization)
        self.record("homogenization_increase", homogenization - ideal_homogenization)
        self.record("excess_homogenization", max(0.0, homogenization - ideal_homogenization))
        self.record("utility", _mean(self.utility[items, users]))
        self.record("ideal_utility", _mean(self.utility[ideal_items, ideal_users]))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0
