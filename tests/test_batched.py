"""The replication axis: replication i of a batched run is bit-identical to the serial one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import feedbacksim
from feedbacksim.core.seeding import replication_sequences
from feedbacksim.run import runner
from feedbacksim.run.batched import batch_tasks, batchable
from feedbacksim.run.runner import replicate, replicate_batch

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "predictive_policing.yaml"


@pytest.fixture(scope="module")
def policing():
    return feedbacksim.load(SCENARIO)


def _assert_identical(scenario, replications: int, seed: int) -> None:
    seeds = replication_sequences(seed, replications)
    data, source = scenario.to_dict(), str(scenario.source)
    batch = replicate_batch(data, source, 0, list(range(replications)), seeds)
    assert [b[1] for b in batch] == list(range(replications))
    for index in range(replications):
        point, i, arrays, found = replicate(data, source, 0, index, seeds[index])
        assert (batch[index][0], batch[index][1]) == (point, i)
        assert batch[index][3] == found  # findings JSON, message and numbers
        assert arrays.keys() == batch[index][2].keys()
        for key, value in arrays.items():
            other = batch[index][2][key]
            assert value.dtype == other.dtype and value.shape == other.shape, key
            assert np.array_equal(value, other), key  # bit for bit


def test_shipped_policing_batched_equals_serial(policing):
    _assert_identical(policing.with_overrides({"horizon": 250}), 5, 7)


def test_three_regions_exploration_and_a_slower_retrain_equal_serial(policing):
    # The file's sweep block has two regions and is not run here: the base drops it.
    data = {k: v for k, v in policing.to_dict().items() if k != "sweep"}
    variant = (
        type(policing)
        .from_dict(data, policing.source)
        .with_overrides(
            {
                "horizon": 97.5,  # a fractional horizon: days 0..97
                "environment.params.incident_rates": [0.7, 0.2, 0.45],
                "agents.dispatcher.model.params.prior_counts": [2, 1, 0.5],
                "agents.dispatcher.policy.epsilon": 0.15,
                "agents.dispatcher.retrain.every": 3,
            }
        )
    )
    assert batchable(variant)
    _assert_identical(variant, 4, 11)


@pytest.mark.parametrize(
    "override",
    [
        {"environment.params.discovery": "poisson"},
        {"environment.params.reporting_rate": 0.1},
        {"environment.params.patrols_per_day": 2},
        {"agents.dispatcher.model.params.correction": True},
        {"agents.dispatcher.retrain.every": 1.5},
        {"stop_when": "max(patrol_share) > 0.95"},
    ],
)
def test_other_configurations_run_serially(policing, override):
    assert batchable(policing)
    assert not batchable(policing.with_overrides(override))


def assert_runner_batches_as_serial(scenario, replications: int, seed: int, monkeypatch) -> list:
    """``Scenario.run`` takes the batched path (every replication in a batch) and gives the
    serial path's findings, events and metrics; returns the batch sizes."""
    calls = []
    real = runner.replicate_batch

    def spy(*args):
        calls.append(len(args[3]))
        return real(*args)

    monkeypatch.setattr(runner, "replicate_batch", spy)
    batched = scenario.run(replications=replications, seed=seed, executor="serial")
    assert sum(calls) == replications
    monkeypatch.setattr(runner, "batchable", lambda scenario: False)
    serial = scenario.run(replications=replications, seed=seed, executor="serial")
    assert batched.findings == serial.findings
    for i in range(replications):
        assert batched.trace(i).events == serial.trace(i).events
        for metric, series in serial.trace(i).metrics.items():
            assert np.array_equal(batched.trace(i)[metric].values, series.values)
    return calls


def test_runner_takes_the_batched_path_and_gives_the_serial_results(policing, monkeypatch):
    scenario = policing.with_overrides({"horizon": 120})
    calls = assert_runner_batches_as_serial(scenario, 9, 3, monkeypatch)
    assert len(calls) >= 2  # split into batches


def test_batches_split_each_point_across_workers():
    seeds = replication_sequences(1, 10)
    todo = [(0, i) for i in range(10)] + [(1, 3), (1, 4)]
    tasks = list(batch_tasks([({}, None), ({}, None)], todo, seeds, workers=2))
    assert [(t[2], t[3]) for t in tasks] == [
        (0, [0, 1, 2]), (0, [3, 4, 5]), (0, [6, 7, 8]), (0, [9]), (1, [3]), (1, [4])
    ]  # fmt: skip
    assert tasks[0][4] == seeds[:3]


def test_a_batch_past_the_memory_budget_is_advanced_in_parts(policing, monkeypatch):
    from feedbacksim.run import batched
    from feedbacksim.worlds import policing_batch

    scenario = policing.with_overrides({"horizon": 60})
    per_replication = policing_batch.bytes_per_replication(scenario.spec)
    assert per_replication == 8 * 60 * (2 * (len(policing_batch.METRICS) + 1) + 1)
    sizes = []
    real = policing_batch.run_batch

    def spy(spec, seeds, indices):
        sizes.append(len(indices))
        return real(spec, seeds, indices)

    monkeypatch.setattr(batched, "MEMORY_BUDGET", 2 * per_replication)
    monkeypatch.setattr(policing_batch, "run_batch", spy)
    seeds = replication_sequences(5, 5)
    data, source = scenario.to_dict(), str(scenario.source)
    parts = replicate_batch(data, source, 0, list(range(5)), seeds)
    assert sizes == [2, 2, 1]
    monkeypatch.setattr(batched, "MEMORY_BUDGET", 10**9)
    whole = replicate_batch(data, source, 0, list(range(5)), seeds)
    assert sizes[-1] == 5
    for a, b in zip(parts, whole, strict=True):
        assert a[3] == b[3]
        assert all(np.array_equal(a[2][key], b[2][key]) for key in a[2])


BANDIT = SCENARIO.parent / "bandit.yaml"


def test_shipped_bandit_batched_equals_serial():
    _assert_identical(feedbacksim.load(BANDIT).with_overrides({"horizon": 300}), 6, 11)


def test_bandit_with_tied_arms_and_a_slower_retrain_equals_serial():
    variant = feedbacksim.load(BANDIT).with_overrides(
        {
            "horizon": 150.5,
            "environment.params.success_rates": [0.3, 0.5, 0.5],  # ties: the jitter decides
            "agents.player.model.params.prior_successes": 0.5,
            "agents.player.retrain.every": 2,
        }
    )
    assert batchable(variant)
    _assert_identical(variant, 5, 3)


@pytest.mark.parametrize(
    "override",
    [{"agents.player.policy.epsilon": 0.1}, {"agents.player.policy.k": 2}],
)
def test_bandit_exploration_and_top_two_run_serially(override):
    assert not batchable(feedbacksim.load(BANDIT).with_overrides(override))
