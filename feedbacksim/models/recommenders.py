"""Recommender models for the recommender world: popularity, content filtering, random.

Each is a scikit-learn-style estimator over (user, item) pairs, refit from the agent's
training data:

* rows with ``user >= 0`` and label 1 are interactions (the user consumed the item);
* rows with ``user == -1`` are catalog rows, one per published item, carrying its content
  attributes in columns ``2:`` (what a content-based recommender knows about an item).

``predict`` scores (user, item) pairs given as the first two feature columns. Items the
user has already consumed score ``-inf``: a recommender does not recommend them again.
Scores are computed as one dense ``items x users`` matrix and gathered at the requested
pairs, so a full users x items batch costs a few vectorized operations, not a loop.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field
from threadpoolctl import ThreadpoolController

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.registry import register

# The products here are small (attributes have ~20 dimensions): a multi-threaded BLAS only
# adds synchronization, and on a busy machine it multiplied the CPU time by four.
_THREADPOOLS = ThreadpoolController()


def pair_indices(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The user and item index columns of ``X`` as integer arrays."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"expected (user, item, ...) feature columns, got shape {X.shape}")
    return X[:, 0].astype(np.intp), X[:, 1].astype(np.intp)


def full_grid(X: np.ndarray) -> tuple[int, int] | None:
    """``(n_items, n_users)`` when ``X`` is every (user, item) pair in item-major order, else None.

    That is the recommender world's batch; for it the score matrix is returned as it is,
    without gathering pairs. The check compares every row (cheap next to a gather).
    """
    if X.ndim != 2 or X.shape[1] < 2:
        return None
    n_users, n_items = int(X[-1, 0]) + 1, int(X[-1, 1]) + 1
    if n_users < 1 or n_items < 1 or X.shape[0] != n_users * n_items:
        return None
    pairs = X[:, :2].reshape(n_items, n_users, 2)
    if not (
        np.array_equal(pairs[:, :, 0], np.broadcast_to(np.arange(n_users), (n_items, n_users)))
        and np.array_equal(
            pairs[:, :, 1], np.broadcast_to(np.arange(n_items)[:, None], (n_items, n_users))
        )
    ):
        return None
    return n_items, n_users


class InteractionRecommender(Regressor):
    """Base class: remembers interactions and the catalog; subclasses score items for users.

    ``uses_propensity`` makes the agent pass its random generator to ``fit``; models use
    it only to break ties (popularity) or to draw random scores (random), so their
    randomness comes from the agent's own stream.
    """

    uses_propensity = True

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        propensity: np.ndarray | None = None,
        min_propensity: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> InteractionRecommender:
        """Learn from interaction and catalog rows (see the module docstring)."""
        users, items = pair_indices(X)
        y = np.asarray(y, dtype=float)
        if items.size and items.min() < 0:
            raise ValueError("item indices must be non-negative")
        interacted = (users >= 0) & (y > 0)
        self.interactions_ = (users[interacted], items[interacted])
        self.n_items_ = int(items.max()) + 1 if items.size else 0
        self.rng_ = rng if rng is not None else np.random.default_rng(0)
        catalog = users < 0
        self._learn(np.asarray(X, dtype=float), catalog)
        return self

    def _learn(self, X: np.ndarray, catalog: np.ndarray) -> None:
        """Model-specific fitting (``X`` rows, ``catalog`` marks catalog rows)."""

    def item_user_scores(self, n_items: int, n_users: int) -> np.ndarray:
        """A fresh ``(n_items, n_users)`` score matrix (before masking consumed items)."""
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Scores of the (user, item) pairs in ``X``; ``-inf`` for items the user consumed."""
        X = np.asarray(X)
        if X.shape[0] == 0:
            return np.empty(0)
        grid = full_grid(X)
        if grid is None:
            users, items = pair_indices(X)
            n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
        else:
            n_items, n_users = grid
        scores = self.item_user_scores(n_items, n_users)
        seen_users, seen_items = self.interactions_
        keep = (seen_users < n_users) & (seen_items < n_items)
        scores[seen_items[keep], seen_users[keep]] = -np.inf
        if grid is not None:
            return scores.ravel()
        return scores.ravel()[items * n_users + users]


@register("model", "popularity")
class PopularityRecommender(InteractionRecommender):
    """Recommends the items with the most interactions so far, to everyone.

    Ties (every new item has zero interactions) are broken by a random jitter below one
    interaction, drawn per item at each refit.
    """

    def _learn(self, X: np.ndarray, catalog: np.ndarray) -> None:
        counts = np.bincount(self.interactions_[1], minlength=self.n_items_).astype(float)
        self.popularity_ = counts + 0.5 * self.rng_.random(counts.shape[0])

    def item_user_scores(self, n_items: int, n_users: int) -> np.ndarray:
        popularity = np.zeros(n_items)
        m = min(n_items, self.popularity_.shape[0])
        popularity[:m] = self.popularity_[:m]
        return np.repeat(popularity[:, None], n_users, axis=1)


@register("model", "content-filtering")
class ContentFilteringRecommender(InteractionRecommender):
    """Scores items by a per-user ridge regression of interactions on item attributes.

    Item attributes come from the catalog rows. User u's profile ``w_u`` minimizes
    ``||y_u - A w_u||^2 + alpha ||w_u||^2`` where ``y_u`` is the 0/1 interaction vector of
    u over the catalog and ``A`` the catalog's attribute matrix. All users share ``A``, so
    every profile comes from one solve: ``W = Y A (A^T A + alpha I)^-1``. The score of
    item i for user u is ``a_i . w_u``.

    Args:
        alpha: ridge penalty.
    """

    def __init__(self, alpha: Annotated[float, Field(gt=0)] = 1.0) -> None:
        self.alpha = alpha

    def _learn(self, X: np.ndarray, catalog: np.ndarray) -> None:
        d = X.shape[1] - 2
        if d < 1:
            raise ValueError("content filtering needs item attribute columns after (user, item)")
        attributes = np.zeros((self.n_items_, d))
        attributes[X[catalog, 1].astype(np.intp)] = X[catalog, 2:]
        users, items = self.interactions_
        n_users = int(users.max()) + 1 if users.size else 0
        interactions = np.zeros((n_users, self.n_items_))
        interactions[users, items] = 1.0
        with _THREADPOOLS.limit(limits=1, user_api="blas"):
            gram = attributes.T @ attributes + self.alpha * np.eye(d)
            self.profiles_ = np.linalg.solve(gram, (interactions @ attributes).T).T
        self.attributes_ = attributes

    def item_user_scores(self, n_items: int, n_users: int) -> np.ndarray:
        attributes = np.zeros((n_items, self.attributes_.shape[1]))
        m = min(n_items, self.attributes_.shape[0])
        attributes[:m] = self.attributes_[:m]
        profiles = np.zeros((n_users, attributes.shape[1]))
        k = min(n_users, self.profiles_.shape[0])
        profiles[:k] = self.profiles_[:k]
        with _THREADPOOLS.limit(limits=1, user_api="blas"):
            return attributes @ profiles.T


@register("model", "random-recommender")
class RandomRecommender(InteractionRecommender):
    """Scores every (user, item) pair uniformly at random, afresh at each prediction."""

    def item_user_scores(self, n_items: int, n_users: int) -> np.ndarray:
        return self.rng_.random((n_items, n_users))
