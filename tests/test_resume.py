"""Run directories: atomic per-replication files, lazy Results, and resuming a killed sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import feedbacksim
from feedbacksim.cli import main
from feedbacksim.errors import ScenarioError
from feedbacksim.run.store import ReplicationStore, StoredTraces

ROOT = Path(__file__).resolve().parent.parent
REPLICATIONS = 10  # per point; 2 points


def write_scenario(tmp_path: Path) -> Path:
    """The policing scenario with a short horizon and a two-point sweep of its own."""
    data = feedbacksim.load(ROOT / "scenarios" / "predictive_policing.yaml").to_dict()
    data.update(
        horizon=1000,
        sweep={"replications": REPLICATIONS, "agents.dispatcher.policy.epsilon": [0.0, 0.2]},
    )
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def replication_files(directory: Path) -> dict[Path, tuple[int, int]]:
    """Every complete replication file with its (inode, mtime in ns)."""
    return {
        p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in directory.glob("points/*/rep-*.npz")
    }


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    scenario = write_scenario(tmp_path)
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "feedbacksim", "sweep", str(scenario), "--executor",
               "serial", "--quiet", "--out", str(killed)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while len(replication_files(killed)) < 5:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = replication_files(killed)
    assert 5 <= len(before) < 2 * REPLICATIONS, "the kill must land part way through"
    assert not (killed / "sweep.csv").exists()

    assert (
        main(["sweep", str(scenario), "--executor", "serial", "--quiet", "--resume", str(killed)])
        == 0
    )
    after = replication_files(killed)
    assert len(after) == 2 * REPLICATIONS
    # Completed replications were not recomputed: same file (inode) never rewritten (mtime).
    assert {p: after[p] for p in before} == before
    assert not list(killed.glob("points/*/.rep-*"))  # no temporary file left behind

    fresh = tmp_path / "fresh"
    assert (
        main(["sweep", str(scenario), "--executor", "serial", "--quiet", "--out", str(fresh)]) == 0
    )
    assert (killed / "sweep.csv").read_text() == (fresh / "sweep.csv").read_text()
    for point in ("0000", "0001"):
        a = ReplicationStore(killed / "points" / point)
        b = ReplicationStore(fresh / "points" / point)
        assert a.all_findings(REPLICATIONS) == b.all_findings(REPLICATIONS)
        for i in range(REPLICATIONS):
            pd.testing.assert_frame_equal(
                a.load_trace(i).to_frame(), b.load_trace(i).to_frame(), check_exact=True
            )


def test_resume_refuses_a_directory_of_another_run(policing_path, tmp_path):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 50})
    scenario.run(replications=2, seed=1, directory=tmp_path / "run")
    with pytest.raises(ScenarioError, match="differs in: seed"):
        scenario.run(replications=2, seed=2, directory=tmp_path / "run", resume=True)
    with pytest.raises(ScenarioError, match="already holds a run"):
        scenario.run(replications=2, seed=1, directory=tmp_path / "run")


def test_run_directory_results_are_lazy_and_equal_to_memory(policing_path, tmp_path):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 120})
    stored = scenario.run(replications=3, seed=4, directory=tmp_path / "run")
    memory = scenario.run(replications=3, seed=4)
    assert isinstance(stored._traces, StoredTraces)
    pd.testing.assert_frame_equal(stored.to_frame(), memory.to_frame(), check_exact=True)
    assert stored.findings == memory.findings
    assert stored.trace(-1).metadata == memory.trace(2).metadata
    store = ReplicationStore(tmp_path / "run" / "replications")
    assert store.complete() == {0, 1, 2}
    # A partial file from a killed writer is never mistaken for a complete replication.
    (store.directory / ".rep-000003.npz.abc.tmp").write_bytes(b"partial")
    assert store.complete() == {0, 1, 2}
    resumed = scenario.run(replications=3, seed=4, directory=tmp_path / "run", resume=True)
    assert not list(store.directory.glob(".rep-*"))
    assert resumed.findings == memory.findings


def test_cli_run_writes_replications_metrics_and_resumes(policing_path, tmp_path):
    out = tmp_path / "run"
    args = ["run", str(policing_path), "--replications", "3", "--set", "horizon=80",
            "--executor", "serial", "--quiet"]  # fmt: skip
    assert main([*args, "--csv", "--out", str(out)]) in (0, 1)
    assert sorted(p.name for p in (out / "replications").iterdir()) == [
        "rep-000000.npz", "rep-000001.npz", "rep-000002.npz"
    ]  # fmt: skip
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert (
        len(metrics) == 3 * 80 * metrics["metric"].nunique() * 2
        and metrics["replication"].max() == 2
    )
    # The CSV asked for holds the same table (values to 10 significant digits).
    csv = pd.read_csv(out / "metrics.csv", keep_default_na=False, dtype={"group": str})
    pd.testing.assert_frame_equal(csv, metrics, check_exact=False, rtol=1e-9, check_dtype=False)
    first = (out / "metrics.parquet").read_bytes(), (out / "metrics.csv").read_text()
    assert main([*args, "--csv", "--resume", str(out)]) in (0, 1)
    assert ((out / "metrics.parquet").read_bytes(), (out / "metrics.csv").read_text()) == first
    assert not list(out.glob(".metrics*"))  # no temporary file left behind
