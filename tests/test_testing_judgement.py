"""Property-test helpers: an inconclusive result fails with its own message; draws stay valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import feedbacksim
from feedbacksim.scenario import Scenario
from feedbacksim.testing import (
    CouldNotJudge,
    assert_fail_fraction_below,
    assert_no_failure,
    assert_verdict,
    ci_settings,
    scenario_params,
)

ROOT = Path(__file__).resolve().parents[1]


def toy(model: dict, horizon: int = 10, analyzers: list | None = None) -> Scenario:
    return Scenario.from_dict(
        {
            "name": "toy",
            "horizon": horizon,
            "seed": 2,
            "plugins": ["toy_world"],
            "environment": {"kind": "toy"},
            "agents": [
                {
                    "name": "scorer",
                    "model": model,
                    "policy": {"kind": "threshold", "threshold": 0.5},
                    "retrain": {"every": 2},
                }
            ],
            "analyzers": analyzers
            or [{"kind": "invariant", "condition": "max(acceptance_rate) <= 1"}],
        }
    )


@pytest.fixture(scope="module")
def never_trained():
    return toy({"kind": "toy-failing"}).run(replications=2)


@pytest.mark.parametrize(
    "check",
    [
        lambda r: assert_no_failure(r),
        lambda r: assert_no_failure(r, "invariant"),
        lambda r: assert_verdict(r, "pass"),
        lambda r: assert_verdict(r, "fail"),
        lambda r: assert_fail_fraction_below(r, "invariant", 0.5),
    ],
    ids=["no_failure", "no_failure_named", "verdict_pass", "verdict_fail", "fraction_below"],
)
def test_a_never_trained_model_cannot_pass_a_property_test(never_trained, check):
    with pytest.raises(CouldNotJudge) as info:
        check(never_trained)
    message = str(info.value)
    assert message.startswith(
        "toy: could not judge: no model was ever deployed by agent scorer in 2/2 replications"
    )
    assert "fit raised RuntimeError: solver diverged" in message
    assert "feedbacksim run" in message or "no reproduction command" in message


def test_unjudged_replications_fail_assert_no_failure():
    """A 10-day run is shorter than the runaway test's 20 points: no replication is judged."""
    runaway = {"kind": "runaway", "metric": "acceptance_rate", "reference": 0.5, "tolerance": 0.4}
    results = toy(
        {"kind": "toy-constant", "params": {"probability": 0.7}}, analyzers=[runaway]
    ).run(replications=2)
    with pytest.raises(
        CouldNotJudge, match=r"could not judge: runaway could not judge 2/2 replications"
    ):
        assert_no_failure(results, "runaway")
    # At 30 days every replication is judged, and the constant acceptance does not run away.
    judged = toy(
        {"kind": "toy-constant", "params": {"probability": 0.7}}, horizon=30, analyzers=[runaway]
    ).run(replications=2)
    assert_no_failure(judged, "runaway")
    assert_verdict(judged, "pass")


LENDING = ROOT / "scenarios" / "lending.yaml"


@ci_settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_scenario_params_draw_only_combinations_the_world_accepts(data):
    """Lending: a group's size is floor(share * population_size), and each needs a person.

    With group shares 0.95 / 0.05 a population below 20 leaves group 1 empty, which the
    world's ``check_params`` refuses; drawn over 10 to 40 only 20 to 40 may come out.
    """
    base = feedbacksim.load(LENDING)
    space = {
        "environment.params.group_shares": [[0.95, 0.05]],
        "environment.params.population_size": (10, 40),
    }
    params = data.draw(scenario_params(base, space))
    size = params["environment.params.population_size"]
    assert 20 <= size <= 40
    base.with_overrides(params)  # accepted, as every draw must be
