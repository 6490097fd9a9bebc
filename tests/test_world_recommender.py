"""Recommender homogenization (Chaney et al. 2018) on the shipped scenario, plus unit checks.

The claim test runs 20 replications per recommender of a 100-user world (100 steps, 100
items plus 5 a step) with fixed seeds. Measured with these seeds before the assertions
were fixed, the final homogenization increase over the ideal recommender (mean +- standard
error over 20 replications) is popularity +0.510 +- 0.003, content filtering
-0.112 +- 0.007, random -0.202 +- 0.002. The ordering is asserted with a gap of at least 6
standard errors of the difference (measured: 80 and 12). Random slates do not sit at the
ideal's level in this world: they spread similar users over different items, so random is
*below* the ideal by about 0.2; the test pins it to [-0.25, -0.15] (over 20 standard
errors either side).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import feedbacksim
from feedbacksim.models.recommenders import ContentFilteringRecommender, PopularityRecommender
from feedbacksim.worlds.recommender import top_k_items

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "recommender.yaml"
SMALL = {
    "environment.params.n_users": 100,
    "environment.params.n_items": 100,
    "environment.params.new_items_per_step": 5,
}


def final_increase(path, model: dict, replications: int = 20) -> np.ndarray:
    scenario = feedbacksim.load(path).with_overrides({**SMALL, "agents.recommender.model": model})
    return scenario.run(replications=replications, seed=5).final("homogenization_increase")[:, 0]


def sem(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / np.sqrt(x.shape[0]))


@pytest.mark.slow
def test_popularity_homogenizes_more_than_content_more_than_random():
    popularity = final_increase(SCENARIO, {"kind": "popularity"})
    content = final_increase(SCENARIO, {"kind": "content-filtering"})
    random = final_increase(SCENARIO, {"kind": "random-recommender"})
    for high, low in [(popularity, content), (content, random)]:
        gap = high.mean() - low.mean()
        assert gap > 6 * np.hypot(sem(high), sem(low)), (high.mean(), low.mean())
    assert popularity.mean() > 0.3
    assert -0.25 < random.mean() < -0.15


def test_top_k_items_matches_a_full_sort():
    rng = np.random.default_rng(0)
    for n_items in (10, 17, 1000, 1003):
        scores = rng.random((n_items, 30))
        expected = np.argsort(-scores.T, axis=1, kind="stable")[:, :10]
        assert np.array_equal(top_k_items(scores, 10), expected)


def test_models_never_recommend_consumed_items_and_fit_profiles():
    # Catalog: 3 items with one-hot attributes; user 0 consumed items 0 and 1.
    catalog = np.array([[-1, i, *np.eye(3)[i]] for i in range(3)], dtype=float)
    interactions = np.array([[0, 0, 1, 0, 0], [0, 1, 0, 1, 0], [1, 0, 1, 0, 0]], dtype=float)
    X = np.vstack([catalog, interactions])
    y = np.r_[np.zeros(3), np.ones(3)]
    pairs = np.array([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]], dtype=float)
    popularity = PopularityRecommender().fit(X, y, rng=np.random.default_rng(1)).predict(pairs)
    assert np.isneginf(popularity[[0, 1, 3]]).all()
    assert popularity[4] > popularity[5]  # item 1 (one interaction) beats item 2 (none)
    content = ContentFilteringRecommender(alpha=0.1).fit(X, y).predict(pairs)
    assert np.isneginf(content[[0, 1, 3]]).all()
    # User 1 consumed item 0 only: its profile favours attribute 0, not 1 or 2.
    assert content[4] == pytest.approx(content[5])
    # The full-grid fast path and the pair gather agree.
    grid = np.array([[u, i] for i in range(3) for u in range(2)], dtype=float)
    fast = ContentFilteringRecommender(alpha=0.1).fit(X, y).predict(grid)
    assert np.array_equal(fast, content[[0, 3, 1, 4, 2, 5]])


def test_world_records_and_is_deterministic():
    scenario = feedbacksim.load(SCENARIO).with_overrides(
        {**SMALL, "horizon": 20, "environment.params.exploration_steps": 5}
    )
    sim = scenario.build(3)
    first = sim.run()
    second = scenario.build(3).run()
    for metric in ("homogenization", "ideal_homogenization", "homogenization_increase"):
        assert np.array_equal(first[metric].values, second[metric].values)
    values = first["homogenization"].values[:, 0]
    ideal = first["ideal_homogenization"].values[:, 0]
    # Both arms share the exploration slates, so they are identical until the recommender acts.
    assert np.array_equal(values[:5], ideal[:5])
    assert ((values >= 0) & (values <= 1)).all()
    assert first["utility"].values.shape == (20, 1)
    # The incrementally kept homogenization equals a recount from the consumed sets.
    world = sim.environment
    for arm, metric in ((world.arm, "homogenization"), (world.ideal_arm, "ideal_homogenization")):
        mine = arm.consumed
        theirs = mine[:, world.partner]
        jaccard = (mine & theirs).sum(axis=0) / (mine | theirs).sum(axis=0)
        assert first[metric].final[0] == pytest.approx(jaccard.mean(), abs=1e-12)
