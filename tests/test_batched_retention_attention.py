"""The replication axis for the retention and attention worlds: bit-identical to serial."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_batched import _assert_identical

import feedbacksim
from feedbacksim.run.batched import batchable, kernel

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _load(name: str, horizon: float) -> feedbacksim.Scenario:
    return feedbacksim.load(SCENARIOS / name).with_overrides({"horizon": horizon})


@pytest.mark.parametrize("name", ["retention.yaml", "retention_mitigated.yaml"])
def test_shipped_retention_batched_equals_serial(name):
    scenario = _load(name, 40)
    assert batchable(scenario)
    assert kernel(scenario.spec).__name__ == "feedbacksim.worlds.retention_batch"
    _assert_identical(scenario, 4, 5)


def test_retention_three_groups_all_rows_no_pretraining_equals_serial():
    variant = _load("retention.yaml", 12.5).with_overrides(
        {
            "environment.params.coefficients": [[0.5, 0.3], [-0.1, -0.3], [0.2, -0.4]],
            "environment.params.new_users": [5, 8, 3],
            "environment.params.initial_users": [20, 10, 6],
            "environment.params.eval_size": 50,
            "agents.model.data.window": "all",
            "agents.model.data.size": None,
            "agents.model.pretrain.samples": 0,
            "agents.model.retrain.every": 2,
            "agents.model.retrain.min_samples": 40,  # the first refit waits for rows
        }
    )
    assert batchable(variant)
    _assert_identical(variant, 3, 9)
    worst = variant.with_overrides({"agents.model.model.params.objective": "worst-group"})
    assert batchable(worst)
    _assert_identical(worst, 3, 2)


@pytest.mark.parametrize(
    "override",
    [
        {"agents.model.data.window": "reservoir"},
        {"agents.model.retrain.after_rows": 100},
        {"agents.model.model.params.ridge": 0.0},
    ],
)
def test_retention_other_configurations_run_serially(override):
    scenario = _load("retention.yaml", 20)
    assert batchable(scenario)
    assert not batchable(scenario.with_overrides(override))


@pytest.mark.parametrize("name", ["attention_dynamic.yaml", "attention_dynamic_mitigated.yaml"])
def test_shipped_attention_batched_equals_serial(name):
    scenario = _load(name, 80)  # past the warm-up: several refits on the window
    assert batchable(scenario)
    assert kernel(scenario.spec).__name__ == "feedbacksim.worlds.attention_batch"
    _assert_identical(scenario, 3, 4)


@pytest.mark.parametrize("policy", ["greedy", "proportional"])
def test_attention_bernoulli_short_window_equals_serial(policy):
    variant = _load("attention_dynamic.yaml", 45.5).with_overrides(
        {
            "environment.params.incident_rates": [0.9, 0.5, 0.3],
            "environment.params.discovery": "bernoulli",
            "environment.params.patrols_per_day": 2,
            "environment.params.discoveries_per_patrol": 2,
            "environment.params.dynamic_rate": 0.02,
            "agents.dispatcher.model.params": {
                "regions": 3, "window_days": 7.5, "warmup_days": 5, "max_rate": 3.0
            },
            "agents.dispatcher.policy": {
                "kind": policy, "epsilon": 0.3, "exploration": "allocation"
            },
            "agents.dispatcher.retrain.every": 3,
            "agents.dispatcher.retrain.min_samples": 20,  # the first refits wait for rows
        }
    )  # fmt: skip
    assert batchable(variant)
    _assert_identical(variant, 3, 6)


@pytest.mark.parametrize(
    "override",
    [
        {"agents.dispatcher.policy.exploration": "unit"},
        {"environment.params.reporting_rate": 0.2},
        {"agents.dispatcher.data": {"window": "sliding", "size": 50}},
    ],
)
def test_attention_other_configurations_run_serially(override):
    scenario = _load("attention_dynamic.yaml", 20)
    assert batchable(scenario)
    assert not batchable(scenario.with_overrides(override))
