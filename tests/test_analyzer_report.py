"""findings.json and the verdict table carry every field of the analyzers' findings and summaries."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from feedbacksim.analyzers.base import Finding
from feedbacksim.run.results import AnalyzerSummary

SCENARIO = """\
extends: {base}
name: policing-short
horizon: 400
replications: 6
analyzers:
  - {{kind: runaway, metric: patrol_share, reference: true_incident_share, tolerance: 0.15}}
  - {{kind: loop_amplification, metric: patrol_share, reference: true_incident_share, severity: warn}}
  - {{kind: invariant, condition: "max(patrol_share) <= 0.95", fail_if: "lower>0.5"}}
"""


@pytest.mark.slow
def test_findings_json_and_table(policing_path, tmp_path):
    path = tmp_path / "short.yaml"
    path.write_text(SCENARIO.format(base=policing_path))
    out = tmp_path / "run"
    env = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, "-m", "feedbacksim", "run", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads((out / "findings.json").read_text())
    summary_fields = {f.name for f in dataclasses.fields(AnalyzerSummary)}
    finding_fields = {f.name for f in dataclasses.fields(Finding)}
    assert [s["kind"] for s in doc["analyzers"]] == ["runaway", "loop_amplification", "invariant"]
    for s in doc["analyzers"]:
        assert set(s) == summary_fields
        assert (
            len(s["interval"]) == 2
            and 0 <= s["interval"][0] <= s["fail_fraction"] <= s["interval"][1] <= 1
        )
    amplification = doc["analyzers"][1]
    assert amplification["severity"] == "warn"
    assert amplification["status"] == "warn" and not amplification["failed"]  # warns, never fails
    assert amplification["estimate"]["amplification"] > 1
    assert doc["findings"], "the runaway loop fails somewhere in 6 replications"
    for f in doc["findings"]:
        assert set(f) == finding_fields and f["failed"]
        assert f["severity"] in ("warn", "fail") and f["message"]
    # Headers are set on two lines ("fail fraction" over "(95% CI)") to fit 80 columns, and
    # an analyzer's own estimate stands under its name ("amplification 22 (16-31)").
    for part in ("severity", "fail fraction", "(95% CI)", "median first", "detection"):
        assert part in done.stdout
    assert "amplification " in done.stdout
    assert "WARN" in done.stdout and "t=" in done.stdout and "%-" in done.stdout
