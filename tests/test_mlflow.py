"""MLflow logging against a real local store (SQLite), read back with ``mlflow.search_runs``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from feedbacksim.cli import main

mlflow = pytest.importorskip("mlflow")

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
POLICING = SCENARIOS / "predictive_policing.yaml"
SMALL = ["--executor", "serial", "--quiet", "--replications", "3", "--set", "horizon=200"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One store for the module: creating its database tables is the slow part."""
    return tmp_path_factory.mktemp("mlflow") / "store"


def _runs(store: Path, experiment: str):
    """``mlflow.search_runs`` of the store (it reads the process-wide tracking URI)."""
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    try:
        return mlflow.search_runs(experiment_names=[experiment])
    finally:
        mlflow.set_tracking_uri(before)


@pytest.fixture(scope="module")
def logged_run(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    code = main(["run", str(POLICING), *SMALL, "--out", str(out), "--mlflow", str(store)])
    return code, out


def test_run_is_logged_with_params_metrics_tags_and_artifacts(store, logged_run):
    code, out = logged_run
    findings = json.loads((out / "findings.json").read_text())
    assert code == (0 if findings["verdict"] == "pass" else 1)
    (run,) = _runs(store, "predictive-policing").to_dict("records")
    assert run["status"] == "FINISHED"
    # params: the resolved scenario, the seed, the replications and the overrides
    assert run["params.seed"] == "7" and run["params.replications"] == "3"
    assert run["params.scenario.environment.params.incident_rates"] == "[0.6, 0.4]"
    assert run["params.scenario.agents.dispatcher.policy.kind"] == "proportional"
    assert run["params.override.horizon"] == "200"
    # tags: the verdict and the version
    from feedbacksim import __version__

    assert run["tags.verdict"] == findings["verdict"]
    assert run["tags.feedbacksim.version"] == __version__
    # metrics: the fail fraction as in findings.json
    summary = findings["analyzers"][0]
    assert run["metrics.fail_fraction.runaway"] == pytest.approx(summary["fail_fraction"])
    assert run["metrics.fail_fraction_low.runaway"] == pytest.approx(summary["interval"][0])
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    # per-replication final values, one step per replication, equal to the metrics file
    history = client.get_metric_history(run["run_id"], "final.patrol_share.0")
    assert sorted(m.step for m in history) == [0, 1, 2]
    import pandas as pd

    frame = pd.read_parquet(out / "metrics.parquet")
    series = frame[(frame.metric == "patrol_share") & (frame.group == "0")]
    last = series[series.time == series.time.max()]
    assert len(last) == 3
    assert sorted(m.value for m in history) == pytest.approx(sorted(last.value))
    # detection times: one per failing replication, the earliest of its findings
    detections = client.get_metric_history(run["run_id"], "detection.runaway")
    assert len(detections) == summary["failed_replications"]
    # artifacts: the report, the findings and the figures
    names = {a.path for a in client.list_artifacts(run["run_id"])}
    assert {"report.html", "findings.json", "manifest.json", "figures"} <= names
    figures = {a.path for a in client.list_artifacts(run["run_id"], "figures")}
    assert figures == {"figures/patrol_share.png"}


def test_sweep_is_a_parent_with_one_child_per_point(store, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", str(POLICING), *SMALL[:4], "1", "--set", "horizon=40"]
    assert main([*args, "--out", str(out), "--mlflow", str(store)]) == 0
    runs = _runs(store, "predictive-policing sweep")
    parents = runs[runs["tags.mlflow.parentRunId"].isna()]
    assert len(parents) == 1
    parent = parents.iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    sweep = json.loads((out / "sweep.json").read_text())
    assert len(children) == len(sweep["points"]) == 16
    by_point = {
        int(p): row
        for p, row in zip(children["params.point"], children.to_dict("records"), strict=True)
    }
    for point in sweep["points"]:
        row = by_point[point["point"]]
        assert row["tags.verdict"] == point["verdict"]
        summary = point["analyzers"][0]
        assert row["metrics.fail_fraction.runaway"] == pytest.approx(summary["fail_fraction"])
        rates = point["overrides"]["environment.params.incident_rates"]
        assert json.loads(row["params.environment.params.incident_rates"]) == rates
    assert parent["params.replications_per_point"] == "1"


def test_missing_mlflow_is_one_line_and_exit_2_before_running(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    code = main(["run", str(POLICING), *SMALL, "--out", str(tmp_path / "r"), "--mlflow"])
    assert code == 2
    err = capsys.readouterr().err
    assert 'pip install "feedbacksim[mlflow]"' in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_unreachable_tracking_server_exits_3_and_keeps_the_results(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    out = tmp_path / "r"
    code = main(["run", str(POLICING), *SMALL, "--out", str(out), "--mlflow", "http://127.0.0.1:9"])
    assert code == 3
    assert "error: mlflow: could not log" in capsys.readouterr().err
    assert (out / "findings.json").is_file()
