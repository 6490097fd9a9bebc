"""The replication axis of the refitting worlds: model collapse, performative, demand.

Replication i of a batched run is bit-identical to the serial one (traces and findings),
for the shipped scenarios, for settings away from them, and through a skipped retrain.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_batched import _assert_identical, assert_runner_batches_as_serial

import feedbacksim
from feedbacksim.core.seeding import replication_sequences
from feedbacksim.run.batched import batchable
from feedbacksim.run.runner import replicate_batch

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _load(name: str, overrides: dict) -> feedbacksim.Scenario:
    scenario = feedbacksim.load(SCENARIOS / name).with_overrides(overrides)
    assert batchable(scenario)
    return scenario


def _event_kinds(scenario: feedbacksim.Scenario, replications: int, seed: int) -> set[str]:
    seeds = replication_sequences(seed, replications)
    data, source = scenario.to_dict(), str(scenario.source)
    batch = replicate_batch(data, source, 0, list(range(replications)), seeds)
    return {e[1] for b in batch for e in json.loads(str(b[2]["__events__"]))}


# -- model collapse ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model_collapse.yaml", "model_collapse_mitigated.yaml"])
def test_shipped_model_collapse_batched_equals_serial(name):
    _assert_identical(_load(name, {"horizon": 60}), 5, 3)


def test_model_collapse_with_fresh_data_all_rows_and_a_slower_retrain_equals_serial():
    variant = _load(
        "model_collapse.yaml",
        {
            "horizon": 40.5,
            "environment.params.samples": 7,
            "environment.params.fresh_fraction": 0.5,
            "environment.params.true_mean": 3.0,
            "environment.params.true_sd": 0.2,
            "agents.generator.retrain.every": 3,
            "agents.generator.data.window": "all",
        },
    )
    _assert_identical(variant, 4, 5)


def test_model_collapse_whose_variance_overflows_skips_retrains_as_serially():
    # sqrt(1e308) * z squared overflows: an infinite variance, then infinite samples.
    variant = _load(
        "model_collapse.yaml",
        {"horizon": 20, "agents.generator.model.params.initial_variance": 1e308},
    )
    with np.errstate(over="ignore", invalid="ignore"):
        assert "retrain_skipped" in _event_kinds(variant, 3, 5)
        _assert_identical(variant, 3, 5)


@pytest.mark.parametrize(
    "override",
    [
        {"agents.generator.data.window": "reservoir"},
        {"agents.generator.retrain.mode": "incremental", "agents.generator.data.window": "all"},
        {"agents.generator.data.size": 1},  # a fit on one row raises
        {"agents.generator.retrain.every": 0.5},
    ],
)
def test_other_model_collapse_settings_run_serially(override):
    base = feedbacksim.load(SCENARIOS / "model_collapse.yaml")
    assert batchable(base)
    assert not batchable(base.with_overrides(override))


def test_runner_takes_the_batched_path_for_model_collapse(monkeypatch):
    scenario = feedbacksim.load(SCENARIOS / "model_collapse.yaml").with_overrides({"horizon": 30})
    assert_runner_batches_as_serial(scenario, 6, 2, monkeypatch)


# -- performative --------------------------------------------------------------------


def test_shipped_performative_batched_equals_serial():
    _assert_identical(_load("performative.yaml", {"horizon": 12}), 3, 11)


def test_performative_with_a_longer_window_and_exploration_equals_serial():
    variant = _load(
        "performative.yaml",
        {
            "horizon": 15,
            "environment.params.eps": -0.7,
            "environment.params.sigma": 3.0,
            "environment.params.samples_per_round": 333,
            "agents.predictor.data.size": 1000,  # three rounds: the rows are kept
            "agents.predictor.retrain.every": 2,
            "agents.predictor.policy.epsilon": 0.2,
        },
    )
    _assert_identical(variant, 4, 5)


def test_performative_with_a_short_window_equals_serial():
    short = {"environment.params.samples_per_round": 100, "agents.predictor.data.size": 30}
    variant = _load("performative.yaml", {"horizon": 9, **short})
    _assert_identical(variant, 3, 1)


def test_performative_that_overflows_skips_retrains_and_model_steps_as_serially():
    variant = _load(
        "performative.yaml",
        {
            "horizon": 12,
            "environment.params.eps": 1e100,
            "environment.params.samples_per_round": 50,
        },
    )
    with np.errstate(over="ignore", invalid="ignore"):
        assert "retrain_skipped" in _event_kinds(variant, 3, 5)
        _assert_identical(variant, 3, 5)


@pytest.mark.parametrize(
    "override",
    [
        {"agents.predictor.data.window": "reservoir"},
        {"agents.predictor.retrain.every": 1.5},
        {"agents.predictor.retrain.min_samples": 200_000},  # the first retrains wait
    ],
)
def test_other_performative_settings_run_serially(override):
    base = feedbacksim.load(SCENARIOS / "performative.yaml")
    assert batchable(base)
    assert not batchable(base.with_overrides(override))


# -- demand --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demand.yaml", "demand_mitigated.yaml"])
def test_shipped_demand_batched_equals_serial(name):
    _assert_identical(_load(name, {"horizon": 60}), 4, 17)


def test_demand_at_a_service_level_on_all_rows_equals_serial():
    variant = _load(
        "demand_mitigated.yaml",
        {
            "horizon": 45,
            "environment.params.products": 5,
            "environment.params.season_period": 10.0,
            "agents.retailer.policy.service_level": 0.9,
            "agents.retailer.retrain.every": 3,
            "agents.retailer.data.window": "all",
            "agents.retailer.pretrain.samples": 12,  # not a whole number of days
        },
    )
    _assert_identical(variant, 3, 7)


def test_demand_without_pretraining_equals_serial():
    variant = _load(
        "demand.yaml",
        {"horizon": 30, "agents.retailer.pretrain.samples": 0, "agents.retailer.retrain.every": 4},
    )
    _assert_identical(variant, 3, 7)


@pytest.mark.parametrize(
    "override",
    [
        {"agents.retailer.data.size": 10},  # fewer rows than products
        {"agents.retailer.pretrain.samples": 10},  # a product never seen: the serial run fails
        {"agents.retailer.data.window": "reservoir"},
        {"agents.retailer.retrain.after_rows": 100},
        {"agents.retailer.pretrain.samples": 0, "horizon": 7},  # no model before the end
    ],
)
def test_other_demand_settings_run_serially(override):
    base = feedbacksim.load(SCENARIOS / "demand.yaml")
    assert batchable(base)
    assert not batchable(base.with_overrides(override))


def test_the_demand_kernel_bisects_as_the_model_does():
    from feedbacksim.models import poisson_demand
    from feedbacksim.worlds import demand_batch

    assert (demand_batch.MIN_LEVEL, demand_batch.MAX_LEVEL, demand_batch.BISECTION_STEPS) == (
        poisson_demand.MIN_LEVEL,
        poisson_demand.MAX_LEVEL,
        poisson_demand.BISECTION_STEPS,
    )


def test_an_agent_with_monitors_runs_serially():
    base = feedbacksim.load(SCENARIOS / "performative.yaml")
    monitor = {"name": "drift", "kind": "prediction_drift", "statistic": "ks", "threshold": 0.3}
    assert not batchable(base.with_overrides({"agents.predictor.monitors": [monitor]}))
