"""The replication axis for the pricing and data feedback worlds: bit-identical to serial."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_batched import _assert_identical

import feedbacksim
from feedbacksim.core.seeding import replication_sequences
from feedbacksim.run.batched import batchable, kernel
from feedbacksim.run.runner import replicate_batch
from feedbacksim.worlds.data_feedback_batch import pairwise_sums

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _load(name: str, horizon: float) -> feedbacksim.Scenario:
    return feedbacksim.load(SCENARIOS / name).with_overrides({"horizon": horizon})


def _events(scenario: feedbacksim.Scenario, replications: int, seed: int) -> list[list]:
    seeds = replication_sequences(seed, replications)
    data, source = scenario.to_dict(), str(scenario.source)
    batch = replicate_batch(data, source, 0, list(range(replications)), seeds)
    return [json.loads(str(b[2]["__events__"])) for b in batch]


# -- pricing -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pricing.yaml", "pricing_mitigated.yaml"])
def test_shipped_pricing_batched_equals_serial(name):
    scenario = _load(name, 30)  # past the ceiling (cycle 14) in the unmitigated war
    assert batchable(scenario)
    assert kernel(scenario.spec).__name__ == "feedbacksim.worlds.pricing_batch"
    _assert_identical(scenario, 3, 5)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_pricing_swapped_sellers_caps_and_other_schedules_equal_serial():
    variant = _load("pricing.yaml", 3200.5).with_overrides(
        {
            # B prices first; both prices overflow to inf before the horizon.
            "environment.params.seller_a": "seller_b",
            "environment.params.seller_b": "seller_a",
            "environment.params.price_ceiling": 50.0,
            "agents.seller_a.retrain.every": 2.5,
            "agents.seller_a.retrain.min_samples": 3,
            "agents.seller_b.retrain.mode": "incremental",  # no rows: no event at all
        }
    )
    assert batchable(variant)
    _assert_identical(variant, 2, 1)
    events = _events(variant, 1, 1)[0]
    assert {e[2] for e in events} == {"seller_a"} and events[0][0] == 3.0


def test_pricing_prices_that_fall_to_zero_equal_serial():
    variant = _load("pricing.yaml", 2000).with_overrides(
        {"agents.seller_a.model.params": {"factor": 0.5, "max_price": 30.0}}
    )
    assert batchable(variant)
    _assert_identical(variant, 2, 4)


@pytest.mark.parametrize(
    "override",
    [
        {"environment.params.seller_b": "seller_a"},  # one agent pricing against itself
        {"agents.seller_a.policy": {"kind": "threshold"}},
        {"stop_when": "max_price > 500"},
    ],
)
def test_pricing_other_configurations_run_serially(override):
    scenario = _load("pricing.yaml", 20)
    assert batchable(scenario)
    assert not batchable(scenario.with_overrides(override))


# -- data feedback -------------------------------------------------------------------


def test_pairwise_sums_are_numpy_sums_row_by_row():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((40, 5000)) * 10 ** rng.uniform(-3, 3, (40, 5000))
    counts = np.concatenate([np.arange(20), rng.integers(20, 5000, 20)])
    expected = [np.sum(values[i, :n]) for i, n in enumerate(counts)]
    assert pairwise_sums(values, counts).tolist() == expected


@pytest.mark.parametrize("name", ["data_feedback.yaml", "data_feedback_mitigated.yaml"])
def test_shipped_data_feedback_batched_equals_serial(name):
    scenario = _load(name, 15)
    assert batchable(scenario)
    assert kernel(scenario.spec).__name__ == "feedbacksim.worlds.data_feedback_batch"
    _assert_identical(scenario, 4, 5)


@pytest.mark.parametrize("labelling", ["argmax", "sample"])
def test_data_feedback_unfitted_start_and_skipped_refits_equal_serial(labelling):
    variant = _load("data_feedback.yaml", 12.5).with_overrides(
        {
            "environment.params": {
                "positive_rate": 0.97, "separation": 2.5, "human_labels": 2,
                "model_labels": 9, "labelling": labelling, "eval_size": 300,
            },
            "agents.model.model.params": {"var_smoothing": 1e-4},
            "agents.model.pretrain.samples": 0,
            "agents.model.unfitted_score": 0.7,
            "agents.model.retrain": {"every": 1.5, "min_samples": 30, "mode": "refit"},
            "agents.model.policy.epsilon": 0.1,
        }
    )  # fmt: skip
    assert batchable(variant)
    _assert_identical(variant, 8, 2)
    details = {e[3].split(" (")[0] for log in _events(variant, 8, 2) for e in log}
    # too few rows at first, then refits (and, labelling by argmax, one class at first)
    assert {"too few rows: 22 < min_samples 30", "rows=66"} <= details
    assert ("one class in training labels" in details) == (labelling == "argmax")


@pytest.mark.parametrize(
    "override",
    [
        {"agents.model.retrain.mode": "auto"},  # partial_fit on every row
        {"agents.model.data": {"window": "sliding", "size": 500}},
        {"agents.model.model.params": {"priors": [0.3, 0.7]}},
        {"agents.model.retrain.after_rows": 50},
    ],
)
def test_data_feedback_other_configurations_run_serially(override):
    scenario = _load("data_feedback.yaml", 10)
    assert batchable(scenario)
    assert not batchable(scenario.with_overrides(override))
