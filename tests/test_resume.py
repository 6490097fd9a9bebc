"""Run directories: atomic files, lazy Results, resuming a killed sweep, one writer, disk faults."""

from __future__ import annotations

import errno
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
from feedbacksim.errors import RunFailure, ScenarioError
from feedbacksim.run import exports, store
from feedbacksim.run.directory import write_run
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


# -- faults: a second writer, damaged files, a full disk ---------------------------------


def test_a_second_writer_is_refused_naming_the_holder(policing_path, tmp_path):
    """Another process holds the run directory: exit 2 naming its pid, host and command."""
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from feedbacksim.run.runlock import hold_run_directory\n"
         f"with hold_run_directory({str(out)!r}, ['feedbacksim', 'run', 'first.yaml']):\n"
         "    print('held', flush=True); sys.stdin.read()"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 20})
        with pytest.raises(ScenarioError, match=f"in use by pid {holder.pid} on host .*first.yaml"):
            scenario.run(replications=1, seed=1, directory=out)
        args = ["run", str(policing_path), "--replications", "1", "--set", "horizon=20",
                "--executor", "serial", "--quiet", "--no-report", "--resume", str(out)]  # fmt: skip
        assert main(args) == 2
        assert not (out / "plan.json").exists()
    finally:
        holder.communicate("")
    # Released when the holder ends: the directory can be used again.
    assert main([*args[:-2], "--out", str(out)]) in (0, 1)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".lock"]


def test_damaged_replication_files_are_reported_and_recomputed(policing_path, tmp_path, caplog):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 60})
    memory = scenario.run(replications=4, seed=3)
    scenario.run(replications=4, seed=3, directory=tmp_path / "run")
    store = ReplicationStore(tmp_path / "run" / "replications")
    whole = store.path(1).read_bytes()
    store.path(1).write_bytes(whole[: len(whole) // 2])  # truncated
    store.path(2).write_bytes(b"not a zip file at all")  # garbage
    flipped = bytearray(store.path(3).read_bytes())  # one bit of a member's data
    flipped[len(flipped) // 3] ^= 1
    store.path(3).write_bytes(bytes(flipped))
    before = store.path(0).stat().st_mtime_ns
    with caplog.at_level("WARNING", logger="feedbacksim.run.runner"):
        resumed = scenario.run(replications=4, seed=3, directory=tmp_path / "run", resume=True)
    damaged = [r.getMessage() for r in caplog.records]
    assert len(damaged) == 3 and all("\n" not in line for line in damaged)
    assert [line.split(" was damaged")[0] for line in damaged] == [
        str(store.path(i)) for i in (1, 2, 3)
    ]
    assert all(line.endswith("recomputing it") for line in damaged)
    assert store.path(0).stat().st_mtime_ns == before  # the intact one was kept
    pd.testing.assert_frame_equal(resumed.to_frame(), memory.to_frame(), check_exact=True)
    assert resumed.findings == memory.findings


def run_files(directory: Path) -> dict[str, bytes]:
    """The content of every file of a run directory, by relative path."""
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            files[str(path.relative_to(directory))] = path.read_bytes()
    return files


def full_disk_after(calls: int, real, handle_at: int = 0):
    """``real`` (a writer to ``args[handle_at]``), failing with ENOSPC from call ``calls`` on."""
    count = {"n": 0}

    def write(*args, **kwargs):
        count["n"] += 1
        if count["n"] >= calls:
            handle = args[handle_at]
            handle.write(b"PK\x03\x04 a part" if "b" in handle.mode else "a part")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    return write


@pytest.mark.parametrize("where", ["replication", "metrics"])
def test_a_full_disk_is_a_run_failure_and_resume_completes_the_same_run(
    policing_path, tmp_path, monkeypatch, where
):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 60})

    def run(directory: Path, resume: bool = False) -> None:
        results = scenario.run(replications=4, seed=8, directory=directory, resume=resume)
        write_run(results, directory, command=["feedbacksim", "run"])

    run(tmp_path / "whole")
    with monkeypatch.context() as patch:
        if where == "replication":
            patch.setattr(store, "write_npz", full_disk_after(3, store.write_npz))
        else:
            # The disk fills while metrics.parquet is streamed, at the second replication.
            real_tables = exports.metric_tables
            calls = {"n": 0}

            def tables_then_full_disk(trace, replication):
                calls["n"] += 1
                if calls["n"] >= 2:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return real_tables(trace, replication)

            patch.setattr(exports, "metric_tables", tables_then_full_disk)
        with pytest.raises(RunFailure, match="No space left on device") as failure:
            run(tmp_path / "full")
    assert isinstance(failure.value.__cause__, OSError)
    left = run_files(tmp_path / "full")
    assert not [name for name in left if name.endswith(".tmp")]  # nothing half-written
    reps = sorted(name for name in left if "rep-" in name)
    if where == "replication":
        assert reps == ["replications/rep-000000.npz", "replications/rep-000001.npz"]
        assert "metrics.csv" not in left
    else:
        assert len(reps) == 4 and "metrics.csv" not in left and "metrics.parquet" not in left

    run(tmp_path / "full", resume=True)
    whole, resumed = run_files(tmp_path / "whole"), run_files(tmp_path / "full")
    assert sorted(whole) == sorted(resumed)
    # Byte for byte, but for the manifest (it records the wall time and the date, which
    # may happen to be equal too).
    assert {name for name in whole if resumed[name] != whole[name]} <= {"manifest.json"}


def test_a_file_is_not_a_run_directory(policing_path, tmp_path):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 10})
    (tmp_path / "taken").write_text("someone's file")
    with pytest.raises(ScenarioError, match="is a file, not a run directory"):
        scenario.run(replications=1, seed=1, directory=tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "someone's file"


def test_a_replication_file_whose_event_log_is_unreadable_is_damage(policing_path, tmp_path):
    # Intact zip checksums, but the stored event log is not JSON: read back lazily, it must
    # still be found when the directory is resumed, not later in an analyzer or the report.
    import numpy as np

    from feedbacksim.run.store import write_npz

    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 30})
    scenario.run(replications=2, seed=3, directory=tmp_path / "run")
    store = ReplicationStore(tmp_path / "run" / "replications")
    with np.load(store.path(1), allow_pickle=False) as data:
        members = {k: data[k] for k in data.files}
    members["__events__"] = np.array('[[1.0, "retrain"')  # cut short
    with open(store.path(1), "wb") as handle:
        write_npz(handle, members)
    assert store.damage(0) is None
    assert store.damage(1).startswith("JSONDecodeError")
