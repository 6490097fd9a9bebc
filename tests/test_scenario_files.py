"""Scenario files as a user meets them: malformed files point at the line, shipped files pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from feedbacksim.cli import main
from feedbacksim.scenario import read_scenario_file
from feedbacksim.scenario.schema import json_schema
from feedbacksim.scenario.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad_scenarios"
EXPECTED = yaml.safe_load((BAD / "expected.yaml").read_text())
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
# Run as a user would, in a fresh interpreter, for a handful of kinds of problem.
SUBPROCESS = [
    "syntax_error.yaml",
    "python_object_tag.yaml",
    "non_utf8.yaml",
    "unknown_policy_kind.yaml",
    "child_of_parent_with_typo.yaml",
    "plugin_environment_not_listed.yaml",
]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run(
        [sys.executable, "-m", "feedbacksim", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def where(name: str) -> str:
    """``file:LINE`` the problem of bad scenario ``name`` must be reported at."""
    entry = EXPECTED[name]
    return f"{BAD / entry.get('file', name)}:{entry['line']}:"


def test_every_bad_scenario_has_an_expectation_and_there_are_enough():
    files = {p.name for p in BAD.glob("*.yaml")} - {"expected.yaml"}
    assert files == set(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_scenario_is_refused_at_its_line(name, capsys):
    code = main(["validate", str(BAD / name)])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if EXPECTED[name]["fragment"] in line]
    assert lines, err
    assert where(name) in lines[0], err
    assert "Traceback" not in err


@pytest.mark.slow
def test_bad_scenarios_from_the_command_line():
    done = cli("validate", *(str(BAD / name) for name in SUBPROCESS))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for name in SUBPROCESS:
        lines = [line for line in done.stderr.splitlines() if where(name) in line]
        assert any(EXPECTED[name]["fragment"] in line for line in lines), (name, done.stderr)
    assert f"{len(SUBPROCESS)} of {len(SUBPROCESS)} file(s) invalid" in done.stderr


def test_all_problems_of_a_file_are_reported_at_once(tmp_path, capsys):
    path = tmp_path / "many.yaml"
    path.write_text(
        "name: many\n"
        "horizon: -1\n"
        "environment: {kind: policing, params: {incident_rate: [0.5, 0.5]}}\n"
        "agents:\n"
        "  - name: a\n"
        "    model: {kind: incident-count, params: {prior_counts: [1, 1]}}\n"
        "    policy: {kind: proportinal}\n"
        "stop_when: max(patrol_shar) > 0.9\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:1: horizon: must be greater than 0" in err
    assert f"{path}:3:40: environment.params.incident_rate: unknown key" in err
    assert f"{path}:3:31: environment.params.incident_rates: required key missing" in err
    assert f"{path}:7:14: agents.a.policy.kind: unknown policy kind 'proportinal'" in err
    assert f"{path}:8:1: stop_when: metric 'patrol_shar'" in err


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenario_is_valid(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.slow
def test_shipped_scenarios_validate_from_the_command_line_without_plotting():
    """One fresh interpreter: every shipped file passes, and validating never imports matplotlib."""
    code = (
        "import sys\n"
        "from feedbacksim.cli import main\n"
        f"code = main(['validate', *{[str(p) for p in SHIPPED]!r}])\n"
        "assert 'matplotlib' not in sys.modules, 'validate imported matplotlib'\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": ok") == len(SHIPPED)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenario_matches_the_json_schema(path, validator):
    """As written (a file with extends: is partial) and resolved (always complete)."""
    assert [e.message for e in validator.iter_errors(load_yaml(path).data)] == []
    assert [e.message for e in validator.iter_errors(read_scenario_file(path))] == []


@pytest.mark.parametrize(
    ("change", "value"),
    [
        (("environment", "params", "incident_rate"), [0.5, 0.5]),
        (("agents", 0, "policy", "epsilon"), 1.5),
        (("horizon",), 1.0e15),
    ],
)
def test_json_schema_refuses_what_the_loader_refuses(validator, change, value):
    data = read_scenario_file(ROOT / "scenarios" / "predictive_policing.yaml")
    node = data
    for key in change[:-1]:
        node = node[key]
    node[change[-1]] = value
    errors = list(validator.iter_errors(data))
    assert errors
    # The error is reported at (or above, for a oneOf branch) the changed key.
    assert any(list(e.absolute_path) == list(change[: len(e.absolute_path)]) for e in errors)
    assert all(e.absolute_path for e in errors)


def test_schema_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    schema = yaml.safe_load(capsys.readouterr().out)
    policing = schema["$defs"]["environment-policing"]
    assert policing["properties"]["kind"]["const"] == "policing"
    assert (
        "incident_rates"
        in schema["$defs"][policing["properties"]["params"]["$ref"][8:]]["required"]
    )


def test_list_command_shows_parameters_defaults_and_docs(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "policing" in out and "incident_rates: list[float] = required" in out
    assert "epsilon: float = 0.0" in out and "Patrols follow discovered" in out
