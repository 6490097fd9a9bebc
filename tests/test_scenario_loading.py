"""Loading scenarios: extends origins, overrides, dicts built in Python, plugins, stop_when."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import feedbacksim
from feedbacksim import Scenario, ScenarioError

ROOT = Path(__file__).resolve().parent.parent
POLICING = ROOT / "scenarios" / "predictive_policing.yaml"
TOY = ROOT / "tests" / "data" / "toy_plugin.yaml"


def problems(excinfo: pytest.ExceptionInfo[ScenarioError]) -> list[str]:
    return [str(p) for p in excinfo.value.problems]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_extends_points_at_the_file_that_defined_the_key(tmp_path):
    parent = write(
        tmp_path / "parent.yaml",
        "name: parent\nhorizon: 10\n"
        "environment: {kind: policing, params: {incident_rates: [0.6, 0.4], discovery: bernouli}}\n"
        "agents:\n"
        "  - name: d\n"
        "    model: {kind: incident-count, params: {prior_counts: [1, 1]}}\n"
        "    policy: {kind: proportional}\n",
    )
    child = write(
        tmp_path / "child.yaml",
        "extends: parent.yaml\nname: child\nhorizon: -3\nagents:\n"
        "  - name: d\n"
        "    model: {kind: incident-count, params: {prior_counts: [1, 1]}}\n"
        "    policy: {kind: proportional, epsilon: 7}\n",
    )
    with pytest.raises(ScenarioError) as excinfo:
        feedbacksim.load(child)
    found = problems(excinfo)
    assert f"{child}:3:1: horizon: must be greater than 0" in found[0]
    assert any(f"{child}:7:34: agents.d.policy.epsilon: must be at most 1" in p for p in found)
    assert any(
        f"{parent}:3:68: environment.params.discovery:" in p and "bernoulli" in p for p in found
    )


def test_child_list_replaces_the_parents_positions(tmp_path):
    """A problem in a list the child replaced points at the child, never at the parent."""
    write(
        tmp_path / "parent.yaml",
        POLICING.read_text().replace(
            "tolerance: 0.15}",
            "tolerance: 0.15}\n  - {kind: runaway, metric: patrol_share, reference: 0.5}",
        ),
    )
    child = write(
        tmp_path / "child.yaml",
        "extends: parent.yaml\nanalyzers:\n  - {kind: runaway, metric: patrol_shares, reference: 0.5}\n",
    )
    with pytest.raises(ScenarioError) as excinfo:
        feedbacksim.load(child)
    (problem,) = problems(excinfo)
    assert problem.startswith(f"{child}:3:") and "patrol_shares" in problem


def test_override_problems_name_the_override():
    scenario = feedbacksim.load(POLICING)
    with pytest.raises(ScenarioError) as excinfo:
        scenario.with_overrides({"agents.dispatcher.policy.epsilon": 2, "horizon": 5})
    (problem,) = excinfo.value.problems
    assert problem.keypath == "agents.dispatcher.policy.epsilon"
    assert problem.line is None and problem.override == "agents.dispatcher.policy.epsilon"
    assert str(problem).startswith("(python overrides) agents.dispatcher.policy.epsilon: must be")


def test_set_from_the_command_line_is_validated_like_the_file(capsys):
    from feedbacksim.cli import main

    code = main(["validate", str(POLICING), "--set", "environment.params.incident_rate=[0.5,0.5]"])
    err = capsys.readouterr().err
    assert code == 2
    assert "environment.params.incident_rate: unknown key 'incident_rate' (did you mean" in err
    assert "error: --set environment.params.incident_rate: unknown key 'incident_rate'" in err
    assert f"(applied to {POLICING})" in err
    assert main(["validate", str(POLICING), "--set", "agents.dispatcher.policy.epsilon=0.1"]) == 0


def test_overrides_address_agents_by_name_and_keep_file_lines_elsewhere():
    scenario = feedbacksim.load(POLICING).with_overrides({"agents.dispatcher.policy.epsilon": 0.2})
    assert scenario.spec.agents[0].policy.params() == {"epsilon": 0.2}
    with pytest.raises(ScenarioError) as excinfo:
        scenario.with_overrides({"environment.params.discovery": "poison"})
    (problem,) = excinfo.value.problems
    assert problem.file == str(POLICING) and problem.override == "environment.params.discovery"


def test_dicts_built_in_python_still_load_and_report_without_lines():
    data = feedbacksim.scenario.read_scenario_file(POLICING)
    assert Scenario.from_dict(data).name == "predictive-policing"
    data["environment"]["params"]["incident_rate"] = [0.5, 0.5]
    with pytest.raises(ScenarioError) as excinfo:
        Scenario.from_dict(data)
    (problem,) = excinfo.value.problems
    assert problem.line is None and problem.keypath == "environment.params.incident_rate"
    assert str(problem).startswith("environment.params.incident_rate: unknown key")


def test_horizon_written_like_1e15_is_a_type_error_and_1e15_float_a_range_error():
    base = feedbacksim.scenario.read_scenario_file(POLICING)
    for value, fragment in [
        ("1e15", "expected a number, found the string '1e15'"),
        (1.0e15, "too large to simulate"),
    ]:
        with pytest.raises(ScenarioError, match=fragment):
            Scenario.from_dict({**base, "horizon": value})


def test_plugin_scenario_loads_and_runs():
    scenario = feedbacksim.load(TOY)
    results = scenario.run(replications=2, seed=3)
    trace = results.trace(0)
    # The constant model scores 0.7 >= threshold 0.5: every applicant is accepted.
    assert np.all(trace["acceptance_rate"].values == 1.0)
    assert trace["acceptance_rate"].times[-1] == 29.0


def test_plugin_component_is_refused_when_the_module_is_not_listed(tmp_path):
    """Even when the module was imported already (it is, by the test above): files must list it."""
    import toy_world  # noqa: F401

    unlisted = write(tmp_path / "toy.yaml", TOY.read_text().replace("plugins: [toy_world]\n", ""))
    with pytest.raises(ScenarioError) as excinfo:
        feedbacksim.load(unlisted)
    found = problems(excinfo)
    assert any("environment.kind" in p and "--plugin toy_world" in p for p in found)
    assert any("agents.scorer.model.kind" in p and "'plugins:'" in p for p in found)
    assert feedbacksim.load(unlisted, plugins=["toy_world"]).name == "toy-plugin"


@pytest.mark.slow
def test_plugin_scenario_from_the_command_line(tmp_path):
    unlisted = write(tmp_path / "toy.yaml", TOY.read_text().replace("plugins: [toy_world]\n", ""))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "feedbacksim", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    refused = cli("validate", unlisted)
    assert refused.returncode == 2
    assert f"{unlisted}:5:15: environment.kind: unknown environment kind" in refused.stderr
    assert "listed under 'plugins:' (or pass --plugin MODULE)" in refused.stderr
    untrusted = cli("run", TOY, "--out", tmp_path / "untrusted")
    assert untrusted.returncode == 2
    assert f"{TOY}:5:11: plugins.0: module 'toy_world' is code" in untrusted.stderr
    assert not (tmp_path / "untrusted").exists()
    allowed = cli("run", TOY, "--out", tmp_path / "run", "--plugin", "toy_world")
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "run" / "metrics.parquet").is_file()


def test_stop_when_ends_a_replication_early():
    """A patrol share above 0.8 is reached within days; without stop_when the run is full length."""
    scenario = feedbacksim.load(POLICING).with_overrides({"horizon": 400})
    full = scenario.build(seed=1).run()
    assert full["patrol_share"].times[-1] == 399.0 and not full.events_of("stopped")
    stopping = scenario.with_overrides({"stop_when": "max(patrol_share) > 0.8"})
    trace = stopping.build(seed=1).run()
    (event,) = trace.events_of("stopped")
    share = trace["patrol_share"].values
    # Stopped at the first recorded day the condition held, and not before.
    assert np.all(share[:-1].max(axis=1) <= 0.8) and share[-1].max() > 0.8
    assert event[0] == trace["patrol_share"].times[-1] < 399.0
    assert event[3] == "stop_when: max(patrol_share) > 0.8"


def test_stop_when_selects_a_group():
    scenario = feedbacksim.load(POLICING).with_overrides(
        {"horizon": 400, "stop_when": "patrol_share[group=1] < 0.3"}
    )
    trace = scenario.build(seed=2).run()
    share = trace["patrol_share"].group(1)
    if trace.events_of("stopped"):
        assert share[-1] < 0.3 and np.all(share[:-1] >= 0.3)
    else:
        assert np.all(share >= 0.3)
