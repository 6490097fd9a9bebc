"""A retrain that cannot happen is recorded as an event with its reason; the run completes."""

from __future__ import annotations

import numpy as np
import pytest

from feedbacksim.errors import ScenarioError
from feedbacksim.scenario import Scenario


def toy(**env_params):
    return {
        "name": "toy",
        "horizon": 10,
        "plugins": ["toy_world"],
        "environment": {"kind": "toy", "params": env_params},
        "agents": [
            {
                "name": "scorer",
                "model": {"kind": "sklearn.linear_model.LogisticRegression"},
                "policy": {"kind": "threshold", "threshold": 0.5},
                "retrain": {"every": 2, "min_samples": 5},
            }
        ],
    }


def test_one_class_training_set_is_skipped_and_recorded():
    trace = Scenario.from_dict(toy(constant_label=0)).build(seed=1).run()
    skipped = trace.events_of("retrain_skipped")
    assert skipped, "expected skipped retrains"
    assert all("one class" in e[3] for e in skipped)
    assert trace.events_of("retrain") == []
    # The run went to the horizon: one record per day.
    assert trace["acceptance_rate"].times.tolist() == list(np.arange(10.0))


def test_two_classes_retrain_and_deploy():
    trace = Scenario.from_dict(toy()).build(seed=1).run()
    assert len(trace.events_of("retrain")) >= 4
    assert all("too few rows" in e[3] for e in trace.events_of("retrain_skipped"))


def test_non_finite_features_are_skipped_with_reason():
    trace = Scenario.from_dict(toy(nan_features=True)).build(seed=1).run()
    reasons = {e[3] for e in trace.events_of("retrain_skipped")}
    assert any("non-finite" in r for r in reasons)


def test_estimator_that_raises_is_recorded():
    data = toy()
    data["agents"][0]["model"] = {"kind": "toy-failing"}
    trace = Scenario.from_dict(data).build(seed=1).run()
    reasons = [e[3] for e in trace.events_of("retrain_skipped")]
    assert reasons and all(r == "fit raised RuntimeError: solver diverged" for r in reasons)


def test_invalid_estimator_parameter_values_are_refused_at_load():
    data = toy()
    data["agents"][0]["model"] = {
        "kind": "sklearn.linear_model.LogisticRegression",
        "params": {"C": -1.0},
    }
    with pytest.raises(ScenarioError, match="agents.scorer.model.params.C: The 'C' parameter"):
        Scenario.from_dict(data)


def test_incremental_classifier_is_first_fitted_whole_then_updated():
    """SGDClassifier's first partial_fit needs every class; the agent fits it first, then updates."""
    data = toy()
    data["agents"][0]["model"] = {
        "kind": "sklearn.linear_model.SGDClassifier",
        "params": {"loss": "log_loss"},
    }
    data["agents"][0]["retrain"] = {"every": 1, "min_samples": 5}
    sim = Scenario.from_dict(data).build(seed=2)
    trace = sim.run()
    assert len(trace.events_of("retrain")) >= 5
    assert all("too few rows" in e[3] for e in trace.events_of("retrain_skipped"))
    # The template the scenario built is untouched: a second run is bit-identical.
    again = sim.run()
    assert again.events == trace.events
    assert (again["acceptance_rate"].values == trace["acceptance_rate"].values).all()
