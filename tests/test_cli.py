"""``feedbacksim run`` as a user runs it: exit codes, run directory files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys


def feedbacksim(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "feedbacksim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_policing_exits_1_and_writes_run_directory(policing_path, tmp_path):
    out = tmp_path / "run"
    done = feedbacksim("run", policing_path, "--out", out)
    assert done.returncode == 1, done.stderr
    assert "FAIL" in done.stdout
    for name in ("findings.json", "metrics.parquet", "manifest.json"):
        assert (out / name).is_file()
    findings = json.loads((out / "findings.json").read_text())
    assert findings["verdict"] == "fail"
    assert findings["analyzers"][0]["kind"] == "runaway"
    assert findings["analyzers"][0]["fail_fraction"] > 0.5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["scenario"]["name"] == "predictive-policing"


def test_corrected_policing_exits_0(corrected_path, tmp_path):
    out = tmp_path / "run"
    done = feedbacksim("run", corrected_path, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    findings = json.loads((out / "findings.json").read_text())
    assert findings["verdict"] == "pass"
    for name in ("findings.json", "metrics.parquet", "manifest.json"):
        assert (out / name).is_file()


def test_missing_scenario_file_exits_2_naming_it(tmp_path):
    missing = tmp_path / "nope.yaml"
    done = feedbacksim("run", missing)
    assert done.returncode == 2
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_set_on_unknown_path_exits_2_naming_it(policing_path, tmp_path):
    done = feedbacksim(
        "run",
        policing_path,
        "--set",
        "environment.params.incident_rate=[0.7, 0.3]",
        "--out",
        tmp_path,
    )
    assert done.returncode == 2
    assert "environment.params.incident_rate" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_set_on_unknown_agent_exits_2(policing_path, tmp_path):
    done = feedbacksim(
        "run", policing_path, "--set", "agents.nobody.policy.epsilon=0.1", "--out", tmp_path
    )
    assert done.returncode == 2
    assert "nobody" in done.stderr and "Traceback" not in done.stderr
