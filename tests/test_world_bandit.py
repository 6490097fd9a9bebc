"""The bandit world: greedy lock-in on the worse arm, and epsilon exploration that prevents it.

Claim (rates 0.6 and 0.5, Beta(1, 1) prior, 1,000 rounds): a greedy player ends preferring
the worse arm in about a third of replications; with epsilon = 0.1 in under 5%.

Reference values, from a plain numpy simulation of the same model with 20,000
replications: greedy 0.342 (SE 0.0034), epsilon 0.1 0.037 (SE 0.0013). With 1,000
replications the SE of the estimated fraction is 0.015 (greedy) and 0.006 (epsilon): the
bounds 0.25 and 0.40 are 6 and 3.9 SE from 0.342, and 0.05 is 2.2 SE above 0.037 (the
seeds are fixed, so the test is deterministic; the SEs say how much room a seed has).
Measured with these seeds: greedy 0.341, epsilon 0.037.

The player's preference after 1,000 rewards is read from the 1,001st decision (horizon
1001): ``estimate`` at time t is the posterior mean the t-th decision acted on.
"""

from __future__ import annotations

import numpy as np
import pytest

import feedbacksim
from feedbacksim.cli import main
from feedbacksim.core.cases import Batch
from feedbacksim.core.policies import TopKPolicy
from feedbacksim.models.beta_bernoulli import BetaBernoulliModel

REPLICATIONS = 1000


def worse_preferred(path, seed: int) -> float:
    scenario = feedbacksim.load(path).with_overrides({"horizon": 1001, "analyzers": []})
    estimate = scenario.run(replications=REPLICATIONS, seed=seed).final("estimate")
    return float(np.mean(estimate[:, 1] > estimate[:, 0]))


@pytest.mark.slow
def test_greedy_prefers_worse_arm_in_about_a_third(bandit_path):
    assert 0.25 <= worse_preferred(bandit_path, seed=1) <= 0.40


@pytest.mark.slow
def test_epsilon_exploration_rarely_prefers_worse_arm(bandit_mitigated_path):
    assert worse_preferred(bandit_mitigated_path, seed=2) < 0.05


def test_posterior_mean_is_beta_bernoulli():
    model = BetaBernoulliModel(prior_successes=1, prior_failures=1)
    arms = np.array([[0.0], [0.0], [1.0], [0.0]])
    model.fit(arms, np.array([1.0, 0.0, 1.0, 1.0]))
    # Arm 0: 2 successes in 3 pulls -> 3/5; arm 1: 1 in 1 -> 2/3; arm 2 unseen -> 1/2.
    assert np.allclose(model.predict(np.array([[0.0], [1.0], [2.0]])), [0.6, 2 / 3, 0.5])
    model.partial_fit(np.array([[1.0]]), np.array([0.0]))
    assert model.predict(np.array([[1.0]]))[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="rewards 0 or 1"):
        model.partial_fit(np.array([[0.0]]), np.array([2.0]))


def test_greedy_breaks_ties_at_random():
    # Equal posterior means: top-k with k=1 picks each arm about half the time.
    rng = np.random.default_rng(0)
    batch = Batch(np.arange(2.0).reshape(2, 1), capacity=1)
    picks = [
        TopKPolicy(k=1).decide(np.array([0.5, 0.5]), batch, rng).actions[1] for _ in range(2000)
    ]
    assert abs(np.mean(picks) - 0.5) < 0.04  # SE 0.011: 3.6 SE


def test_world_metrics_and_selective_observation(bandit_path):
    trace = feedbacksim.load(bandit_path).with_overrides({"horizon": 300}).run(1, seed=3).trace(0)
    share = trace["best_arm_share"].values[:, 0]
    regret = trace["regret"].values[:, 0]
    assert share.shape == (300,) and ((share >= 0) & (share <= 1)).all()
    # Each round adds 0 (best arm) or the gap 0.1 to the regret, and the two agree.
    assert np.allclose(np.diff(regret) * (np.diff(regret) > 0), np.diff(regret))
    assert regret[-1] == pytest.approx(0.1 * 300 * (1 - share[-1]))


def test_open_loop_sees_every_arm(bandit_path):
    scenario = feedbacksim.load(bandit_path).with_overrides({"horizon": 500})
    simulation = scenario.build(np.random.SeedSequence(4))
    simulation.environment.open_loop = True
    estimate = simulation.run()["estimate"].values[-1]
    # Full information: both estimates converge (500 rewards each, SD 0.022 at most).
    assert np.allclose(estimate, [0.6, 0.5], atol=0.09)


@pytest.mark.slow
def test_runaway_fires_on_greedy_and_not_on_mitigated(bandit_path, bandit_mitigated_path, tmp_path):
    # 60 replications: greedy ~34% runaway (Wilson lower bound ~23% > 10%: exit 1),
    # epsilon 0.1 ~6% (lower bound ~2% < 10%: exit 0).
    assert (
        main(["run", str(bandit_path), "--replications", "60", "--out", str(tmp_path / "g")]) == 1
    )
    assert (
        main(
            [
                "run",
                str(bandit_mitigated_path),
                "--replications",
                "60",
                "--out",
                str(tmp_path / "m"),
            ]
        )
        == 0
    )
