"""The property-testing toolkit: strategies within declared bounds, assertions that say how
to reproduce a failure, the CI profile, the pytest plugin and the CI examples."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import feedbacksim
from feedbacksim.cli.options import parse_overrides
from feedbacksim.testing import (
    FeedbackLoopFailure,
    assert_fail_fraction_below,
    assert_no_failure,
    assert_verdict,
    ci_settings,
    reproduce_command,
    scenario_params,
    scenarios,
)
from feedbacksim.testing.reproduce import format_value

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "ci"
POLICING = ROOT / "scenarios" / "predictive_policing.yaml"
CORRECTED = ROOT / "scenarios" / "predictive_policing_corrected.yaml"
RATES = "environment.params.incident_rates"


@pytest.fixture(scope="module")
def policing() -> feedbacksim.Scenario:
    return feedbacksim.load(POLICING)


# -- strategies ------------------------------------------------------------------------------
POLICING_SPACE = {
    "environment.params.reporting_rate": (0.0, 0.5),
    "environment.params.patrols_per_day": (1, 3),
    "agents.dispatcher.policy.epsilon": [0.0, 0.1],
    "horizon": (10, 50),
}


@ci_settings(max_examples=50)
@given(data=st.data())
def test_scenario_params_draw_within_ranges_and_types(data):
    params = data.draw(scenario_params(feedbacksim.load(POLICING), POLICING_SPACE))
    assert list(params) == list(POLICING_SPACE)
    assert 0.0 <= params["environment.params.reporting_rate"] <= 0.5
    assert isinstance(params["environment.params.patrols_per_day"], int)
    assert 1 <= params["environment.params.patrols_per_day"] <= 3
    assert params["agents.dispatcher.policy.epsilon"] in (0.0, 0.1)
    assert 10 <= params["horizon"] <= 50


@pytest.mark.parametrize(
    ("space", "words"),
    [
        ({"environment.params.reporting_rate": (0.0, 1.5)}, "declared bounds [0, 1]"),
        ({"environment.params.patrols_per_day": (0, 3)}, "declared bounds [1, inf)"),
        ({"environment.params.patrols_per_day": (1, 2.5)}, "integer range"),
        ({"agents.dispatcher.policy.epsilon": [0.1, 2.0]}, "2.0 ("),  # the value, then why
        ({"environment.params.discovery": (0, 1)}, "needs a numeric parameter"),
        ({"environment.params.discovery": ["bernoulli", "binomial"]}, "'binomial'"),
        ({"environment.params.incident_rate": (0, 1)}, "no declared parameter 'incident_rate'"),
        ({"agents.nobody.policy.epsilon": (0, 1)}, "no agent 'nobody'"),
        ({"horizon": (-5, 10)}, "declared bounds (0, 1e+09]"),
        ({"horizon": (10, 5)}, "low <= high"),
    ],
)
def test_ranges_and_choices_outside_the_declaration_are_refused(policing, space, words):
    with pytest.raises(ValueError) as info:
        scenario_params(policing, space)
    assert words in str(info.value)
    assert next(iter(space)) in str(info.value)


@ci_settings(max_examples=20)
@given(data=st.data())
def test_scenarios_strategy_draws_overridden_scenarios(data):
    base = feedbacksim.load(POLICING)
    scenario = data.draw(scenarios(base, {"environment.params.reporting_rate": (0.1, 0.2)}))
    rate = scenario.spec.environment.params["reporting_rate"]
    assert 0.1 <= rate <= 0.2
    assert scenario.overrides == {"environment.params.reporting_rate": rate}


def test_overrides_accumulate_and_replay_to_the_same_scenario(policing):
    once = policing.with_overrides({"horizon": 100, RATES: [0.7, 0.3]})
    twice = once.with_overrides({"horizon": 50, "agents.dispatcher.policy.epsilon": 0.1})
    # A path set again moves to the end, where a replay applies it last.
    assert list(twice.overrides.items()) == [
        (RATES, [0.7, 0.3]),
        ("horizon", 50),
        ("agents.dispatcher.policy.epsilon", 0.1),
    ]
    assert policing.overrides == {}
    assert policing.with_overrides(twice.overrides).to_dict() == twice.to_dict()


SET_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)


@ci_settings(max_examples=200)
@given(value=SET_VALUES)
def test_set_values_read_back_equal_through_the_command_line(value):
    text = format_value(value)
    assert parse_overrides([f"a.b={text}"]) == {"a.b": value}


# -- assertions ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runaway_results(policing):
    # 0.7/0.3 over 300 days: the runaway is detected in most replications (fail fraction
    # about 0.9 at this horizon), so 4 replications with this seed contain a detection.
    return policing.with_overrides({"horizon": 300, RATES: [0.7, 0.3]}).run(replications=4, seed=3)


@pytest.fixture(scope="module")
def corrected_results():
    scenario = feedbacksim.load(CORRECTED).with_overrides({"horizon": 300, RATES: [0.7, 0.3]})
    return scenario.run(replications=4, seed=3)


def test_assertions_pass_on_the_corrected_design(corrected_results):
    assert corrected_results.summaries[0].fail_fraction == 0.0
    assert_no_failure(corrected_results)
    assert_no_failure(corrected_results, "runaway")
    assert_verdict(corrected_results, "pass")
    assert_fail_fraction_below(corrected_results, "runaway", 0.25)


@pytest.mark.parametrize(
    "check",
    [
        lambda r: assert_no_failure(r, "runaway"),
        lambda r: assert_verdict(r, "pass"),
        lambda r: assert_fail_fraction_below(r, "runaway", 0.25),
    ],
    ids=["no_failure", "verdict", "fail_fraction"],
)
def test_failing_assertion_holds_the_finding_and_the_command(runaway_results, check, tmp_path):
    with pytest.raises(FeedbackLoopFailure) as info:
        check(runaway_results)
    failure = info.value
    message = str(failure)
    assert failure.finding is not None and failure.finding.message in message
    assert "ran away from true_incident_share" in message
    expected = (
        "feedbacksim run scenarios/predictive_policing.yaml --set horizon=300 "
        "--set 'environment.params.incident_rates=[0.7, 0.3]' --seed 3 --replications 4"
    )
    assert failure.command == expected == reproduce_command(runaway_results)
    assert expected in message


def test_the_command_reproduces_the_same_results(runaway_results, tmp_path):
    done = run_command(reproduce_command(runaway_results), tmp_path / "run")
    assert done.returncode == 1, done.stdout + done.stderr
    found = json.loads((tmp_path / "run" / "findings.json").read_text())
    assert found["analyzers"][0]["failed_replications"] == (
        runaway_results.summaries[0].failed_replications
    )


def test_assertions_refuse_unknown_analyzers_and_bad_arguments(runaway_results):
    with pytest.raises(ValueError, match="no analyzer named 'drift'.*'runaway'"):
        assert_no_failure(runaway_results, "drift")
    with pytest.raises(ValueError, match="fraction"):
        assert_fail_fraction_below(runaway_results, "runaway", 1.5)
    with pytest.raises(ValueError, match="'pass' or 'fail'"):
        assert_verdict(runaway_results, "ok")
    assert_verdict(runaway_results, "fail")


def test_a_scenario_without_a_file_has_no_command(policing):
    unsaved = feedbacksim.Scenario.from_dict(policing.with_overrides({"horizon": 300}).to_dict())
    results = unsaved.with_overrides({RATES: [0.7, 0.3]}).run(replications=4, seed=3)
    with pytest.raises(FeedbackLoopFailure, match="not loaded from a file") as info:
        assert_no_failure(results)
    assert info.value.command is None


# -- the CI profile -------------------------------------------------------------------------
def test_ci_settings_read_the_example_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEEDBACKSIM_MAX_EXAMPLES", "7")
    ci = ci_settings()
    assert (ci.max_examples, ci.deadline, ci.derandomize, ci.database) == (7, None, True, None)
    monkeypatch.delenv("FEEDBACKSIM_MAX_EXAMPLES")
    assert ci_settings().max_examples == 25
    monkeypatch.setenv("FEEDBACKSIM_MAX_EXAMPLES", "many")
    with pytest.raises(ValueError, match="FEEDBACKSIM_MAX_EXAMPLES must be a positive integer"):
        ci_settings()


# -- the pytest plugin and the examples, as a team's CI runs them -------------------------
def run_pytest(*args, env=None, cwd=ROOT):
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FEEDBACKSIM_MAX_EXAMPLES": "20",
        **(env or {}),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "feedbacksim.testing.plugin",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::DeprecationWarning",
            "-n",
            "0",  # one process: the project's addopts would otherwise spread the run with xdist
            *map(str, args),
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=600,
    )


def run_command(command, out):
    """Run a printed ``feedbacksim run`` command (from the repository root), writing to ``out``."""
    args = shlex.split(command)
    assert args[:2] == ["feedbacksim", "run"]
    return subprocess.run(
        [sys.executable, "-m", "feedbacksim", *args[1:], "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )


CI_SCALE = ["--feedbacksim-horizon", "300", "--feedbacksim-replications", "5"]


@pytest.mark.slow
def test_example_gate_rejects_the_uncorrected_design_with_a_minimal_reproducible_gap(tmp_path):
    done = run_pytest(
        EXAMPLES / "test_policing_design.py",
        *CI_SCALE,
        env={"POLICING_DESIGN": "scenarios/predictive_policing.yaml"},
    )
    output = done.stdout
    assert done.returncode == 1, output + done.stderr
    assert "1 failed" in output
    # The report's reproduction section (the project's own output, not hypothesis's wording),
    # and the same command in the assertion message.
    section = output.split("feedbacksim: reproduce", 1)[1].splitlines()
    command = section[2].strip()
    # The shrunk counterexample: the smallest gap of the range, equal rates. The uncorrected
    # urn does not track the truth even then; it settles at a random share instead.
    falsified = re.search(r"incident_rates=\[(.*?)\]", command)
    assert falsified is not None, output
    high, low = map(float, falsified.group(1).split(","))
    assert high - low == 0.0
    assert command == (
        "feedbacksim run scenarios/predictive_policing.yaml "
        "--set 'environment.params.incident_rates=[0.5, 0.5]' --set horizon=300 "
        "--seed 7 --replications 5"
    )
    assert f"    {command}" in output
    reproduced = run_command(command, tmp_path / "run")
    assert reproduced.returncode == 1, reproduced.stdout + reproduced.stderr
    assert "FAIL" in reproduced.stdout


@pytest.mark.slow
def test_example_gate_passes_the_corrected_design_and_skips_missing_lending():
    done = run_pytest(EXAMPLES, *CI_SCALE, "-rs", "-v")
    output = done.stdout
    assert "test_policing_design.py::test_patrols_do_not_run_away PASSED" in output, output
    if (ROOT / "scenarios" / "lending.yaml").is_file():
        return  # the lending gate is checked on its own below
    assert done.returncode == 0, output + done.stderr
    assert "1 passed, 1 skipped" in output
    assert "lending.yaml is not in this checkout" in output


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / "scenarios" / "lending.yaml").is_file(), reason="no lending world in this checkout"
)
def test_lending_example_gate_passes_or_prints_a_reproducing_command(tmp_path):
    done = run_pytest(
        EXAMPLES / "test_lending_design.py",
        "--feedbacksim-horizon",
        "200",
        "--feedbacksim-replications",
        "4",
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    if done.returncode == 1:
        command = done.stdout.split("feedbacksim: reproduce", 1)[1].splitlines()[2].strip()
        assert command.startswith("feedbacksim run scenarios/lending.yaml")
        assert run_command(command, tmp_path / "run").returncode == 1


PLAIN_TEST = """
import feedbacksim

def test_plain_assert(run_scenario):
    results = run_scenario({path!r}, overrides={{"environment.params.incident_rates": [0.7, 0.3]}},
                           replications=50, seed=3)
    assert results.replications == 3
    assert results.scenario.spec.horizon == 300
    assert results.verdict == "pass"
"""


@pytest.mark.slow
def test_plugin_scales_runs_and_attaches_the_last_run_to_a_failing_report(tmp_path):
    test_file = tmp_path / "test_plain.py"
    test_file.write_text(PLAIN_TEST.format(path=str(POLICING)))
    done = run_pytest(
        test_file, "--feedbacksim-horizon", "300", "--feedbacksim-replications", "3", cwd=tmp_path
    )
    output = done.stdout
    # Scaled: 3 replications of 300 days; the plain assert on the verdict is what fails. The
    # runaway analyzer needs a significant trend, not only a distance: at rates [0.7, 0.3]
    # and seed 3, 120 days are too short for it (pass), 150 days already fail 2 of 6
    # group-replications and 300 days all 6, so 300 is far from the edge.
    assert done.returncode == 1 and "assert 'fail' == 'pass'" in output, output
    section = output.split("feedbacksim: reproduce", 1)[1].splitlines()
    assert section[2].startswith("(the test's last run) feedbacksim run ")
    assert (
        "--set 'environment.params.incident_rates=[0.7, 0.3]' --set horizon=300 "
        "--seed 3 --replications 3"
    ) in section[2]
    refused = run_pytest(test_file, "--feedbacksim-replications", "0", cwd=tmp_path)
    assert refused.returncode == 4
    assert "--feedbacksim-replications must be at least 1" in refused.stderr
