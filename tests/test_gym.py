"""Scenarios as gymnasium environments: the env checker, spaces, rewards, and reproduction of a run."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

gymnasium = pytest.importorskip("gymnasium")
check_env = pytest.importorskip("gymnasium.utils.env_checker").check_env

import feedbacksim  # noqa: E402
import feedbacksim.gym as fgym  # noqa: E402
from feedbacksim.errors import ScenarioError  # noqa: E402

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
WORLDS = {
    # file: (horizon, observation shape, action space)
    "bandit.yaml": (60, (2, 1), gymnasium.spaces.Discrete(2)),
    "predictive_policing.yaml": (60, (2, 1), gymnasium.spaces.Discrete(2)),
    "lending.yaml": (90, (200, 1), gymnasium.spaces.MultiBinary(200)),
}


def _episode(env, seed, choose):
    """Run one episode; ``choose(info, env)`` gives each action. Returns the rewards."""
    _, info = env.reset(seed=seed)
    rewards = []
    while True:
        _, reward, terminated, truncated, info = env.step(choose(info, env))
        rewards.append(reward)
        if terminated or truncated:
            return rewards, info


def _policy(info, env):
    return info["policy_action"]


@pytest.mark.parametrize("name", sorted(WORLDS))
def test_passes_the_env_checker_with_spaces_from_the_batch(name):
    horizon, shape, action_space = WORLDS[name]
    env = fgym.make(SCENARIOS / name, overrides={"horizon": horizon})
    assert env.observation_space.shape == shape
    assert env.action_space == action_space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unbounded Box: the features have no declared range
        check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("name", sorted(WORLDS))
def test_the_scenarios_own_policy_reproduces_a_run(name):
    horizon, _, _ = WORLDS[name]
    scenario = feedbacksim.load(SCENARIOS / name).with_overrides({"horizon": horizon})
    env = fgym.FeedbackEnv(scenario)
    rewards, info = _episode(env, 13, _policy)
    assert info["time"] == horizon - 1 or info["time"] == horizon
    run = scenario.run(replications=1, seed=13).trace(0)
    # The run's trace also holds what its analyzers measured (training-set health): compare
    # the world's own metrics and the agents' events.
    world = set(env._sim.environment.metrics)
    expected = run.to_frame()
    expected = expected[expected["metric"].isin(world)].reset_index(drop=True)
    got = env.trace().to_frame()
    assert set(got["metric"]) <= world
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
    pd.testing.assert_frame_equal(env.trace().events_frame(), run.events_frame())
    # Each step is one decision of the controlled agent: one per time unit in these worlds.
    assert len(rewards) == horizon
    env.close()


def test_bandit_reward_is_minus_the_regret_of_each_pull():
    """Rates 0.6 and 0.5: pulling arm 1 always loses 0.1 per round, arm 0 nothing."""
    env = fgym.make(SCENARIOS / "bandit.yaml", overrides={"horizon": 30})
    worse, info = _episode(env, 1, lambda info, env: 1)
    assert worse == pytest.approx([-0.1] * 30)
    assert info["metrics"]["best_arm_share"] == pytest.approx(0.0)
    best, info = _episode(env, 1, lambda info, env: 0)
    assert best == pytest.approx([0.0] * 30)
    assert info["metrics"]["best_arm_share"] == pytest.approx(1.0)


def test_policing_info_holds_ground_truth_and_the_loop_follows_the_actions():
    env = fgym.make(SCENARIOS / "predictive_policing.yaml", overrides={"horizon": 200})
    rewards, info = _episode(env, 2, lambda info, env: 1)  # always patrol region 1
    truth = info["metrics"]["true_incident_share"]
    assert truth == pytest.approx([0.6, 0.4])
    # Only region 1 is patrolled, so only its incidents (rate 0.4) are discovered: the
    # reward is the day's discoveries, 0.4 a day on average; 200 days give a mean within
    # 3 standard errors (sqrt(0.24 / 200) = 0.035) of 0.4.
    assert abs(np.mean(rewards) - 0.4) < 3 * 0.035
    assert sum(info["metrics"]["patrols"]) == 1


def test_lending_caller_approvals_change_what_the_lender_learns():
    """Approving everyone gives the lender labels of every applicant: its training default
    rate in the band then tracks the applicants' (the selective-label bias disappears)."""
    env = fgym.make(SCENARIOS / "lending.yaml", overrides={"horizon": 120})
    _, everyone = _episode(env, 5, lambda info, env: np.ones(200, dtype=np.int8))
    _, own = _episode(env, 5, _policy)
    gap_all = (
        everyone["metrics"]["population_band_default_rate"]
        - everyone["metrics"]["training_band_default_rate"]
    )
    gap_own = (
        own["metrics"]["population_band_default_rate"]
        - own["metrics"]["training_band_default_rate"]
    )
    assert everyone["metrics"]["approval_rate"] == pytest.approx([1.0, 1.0])
    assert np.abs(gap_all).max() < np.abs(gap_own).max()


def test_reset_abandons_a_running_episode_and_step_after_the_end_is_refused():
    env = fgym.make(SCENARIOS / "bandit.yaml", overrides={"horizon": 5})
    env.reset(seed=0)
    env.step(0)
    first, _ = env.reset(seed=0)  # the first episode's thread is ended, not leaked
    _episode(env, 0, _policy)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.close()


def test_a_scenario_without_a_reward_is_refused():
    scenario = feedbacksim.load(SCENARIOS / "performative.yaml")
    with pytest.raises(ScenarioError, match="reward"):
        fgym.FeedbackEnv(scenario)
