"""What a run does not pay for: workers that would not pay off, traces read back, imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import feedbacksim
from feedbacksim.run import runner
from feedbacksim.run.executors import Executor

ROOT = Path(__file__).resolve().parent.parent
POLICING = ROOT / "scenarios" / "predictive_policing.yaml"


class CountingPool(Executor):
    """An executor that says it costs ``startup_seconds`` a worker and counts what it gets."""

    name = "counting"

    def __init__(self, startup_seconds: float, workers: int = 2) -> None:
        super().__init__(workers)
        self.startup_seconds = startup_seconds
        self.tasks = 0

    def imap_unordered(self, fn, tasks, kind=None):
        for args in tasks:
            self.tasks += 1
            yield fn(*args)


@pytest.fixture(scope="module")
def policing():
    return feedbacksim.load(POLICING).with_overrides({"horizon": 120})


def test_a_small_batched_run_never_starts_the_pool(policing, monkeypatch):
    sizes = []
    real = runner.replicate_batch
    monkeypatch.setattr(runner, "replicate_batch", lambda *a: sizes.append(len(a[3])) or real(*a))
    pool = CountingPool(startup_seconds=1e6)
    results = policing.run(replications=8, seed=3, executor=pool)
    assert pool.tasks == 0  # every batch ran in this process,
    assert sizes == [2, 6]  # the first one timed, the other three in one
    serial = policing.run(replications=8, seed=3, executor="serial")
    assert results.findings == serial.findings


def test_a_run_worth_the_workers_sends_them_every_batch_but_the_first(policing):
    pool = CountingPool(startup_seconds=0.0)  # starts for free: always worth it
    policing.run(replications=8, seed=3, executor=pool)
    assert pool.tasks == 4  # 8 replications in 2 batches per worker, none run here
    pool = CountingPool(startup_seconds=1e-9)  # costs something: the first batch is timed here
    policing.run(replications=8, seed=3, executor=pool)
    assert pool.tasks == 3


def test_one_worker_is_never_worth_starting(policing):
    pool = CountingPool(startup_seconds=1e-9, workers=1)
    policing.run(replications=4, seed=3, executor=pool)
    assert pool.tasks == 2  # both batches go to it: with one worker nothing is gained here


def test_traces_of_a_stored_run_are_served_from_memory_within_the_budget(
    policing, tmp_path, monkeypatch
):
    held = policing.run(replications=3, seed=3, executor="serial", directory=tmp_path / "a")
    monkeypatch.setattr(runner, "HOLD_STORED_BYTES", 0)
    read = policing.run(replications=3, seed=3, executor="serial", directory=tmp_path / "b")
    assert held._traces.held.keys() == {0, 1, 2} and not read._traces.held
    for i in range(3):
        from_disk = read._traces.store.load_trace(i)
        for name, series in from_disk.metrics.items():
            assert np.array_equal(held.trace(i)[name].values, series.values)
            assert np.array_equal(read.trace(i)[name].values, series.values)
    assert held.findings == read.findings


@pytest.mark.parametrize("report", [False, True])
def test_a_shipped_run_writes_its_directory_without_pandas_or_scipy_stats(tmp_path, report):
    # pandas (about 0.5 s of CPU to import) and scipy.stats (about 0.9 s) are not needed to
    # run the policing scenario, judge it, write metrics.parquet and draw its report.
    flags = [] if report else ["--no-report"]
    code = (
        "import sys\n"
        "from feedbacksim.cli import main\n"
        f"code = main(['run', {str(POLICING)!r}, '--set', 'horizon=150', '--replications', '4',"
        f" '--executor', 'serial', '--quiet', '--out', {str(tmp_path / 'run')!r}, *{flags!r}])\n"
        "print(code, sorted(m for m in ('pandas', 'scipy.stats', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    exit_code, loaded = out.stdout.strip().split(" ", 1)
    assert exit_code in {"0", "1"}, out.stderr
    assert loaded == "[]"
    assert (tmp_path / "run" / "metrics.parquet").is_file()
    assert (tmp_path / "run" / "report.html").is_file() == report
    assert (tmp_path / "run" / "figures" / "patrol_share.png").is_file() == report


def test_merged_batches_keep_points_apart_and_stay_within_the_cap(monkeypatch):
    from feedbacksim.run import batched

    monkeypatch.setattr(batched, "MAX_BATCH", 5)
    batches = [({}, None, 0, [0, 1], ["s0", "s1"]), ({}, None, 0, [2, 3], ["s2", "s3"])]
    batches += [({}, None, 0, [4, 5], ["s4", "s5"]), ({}, None, 1, [0], ["s0"])]
    merged = list(batched.merge_batches(batches))
    assert [(b[2], b[3], b[4]) for b in merged] == [
        (0, [0, 1, 2, 3], ["s0", "s1", "s2", "s3"]),
        (0, [4, 5], ["s4", "s5"]),
        (1, [0], ["s0"]),
    ]


def test_exports_read_a_stored_trace_without_its_event_log(policing, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "HOLD_STORED_BYTES", 0)  # read back from the directory
    results = policing.run(replications=2, seed=3, executor="serial", directory=tmp_path / "r")
    whole, lean = results.trace(1), results.trace(1, events=False)
    assert whole.events and lean.events == []  # a retrain a day, left unread
    assert lean.metadata == whole.metadata and lean.metrics.keys() == whole.metrics.keys()
    for name, series in whole.metrics.items():
        assert np.array_equal(lean[name].values, series.values)
    last = results.trace(-1, events=False)  # indexed as a sequence is
    assert np.array_equal(last["patrol_share"].values, lean["patrol_share"].values)
    with pytest.raises(IndexError):
        results.trace(2, events=False)


def test_a_sweeps_costlier_point_is_timed_before_its_batches_stay_here(monkeypatch):
    # Point 0 costs 0.01 s a replication, point 1 costs 1 s: point 1's first batch is
    # timed here, and the rest of the run (1 s x 6 left) is worth the workers' start (1.6 s).
    clock = {"now": 0.0}
    cost = {0: 0.01, 1: 1.0}
    ran_here = []

    def fake_batch(data, source, point, indices, seeds):
        clock["now"] += cost[point] * len(indices)
        return [(point, i) for i in indices]

    monkeypatch.setattr(runner, "replicate_batch", fake_batch)
    monkeypatch.setattr(runner.time, "process_time", lambda: clock["now"])
    batches = [({}, None, p, [2 * b, 2 * b + 1], ["s", "s"]) for p in (0, 1) for b in range(4)]
    pool = CountingPool(startup_seconds=0.8)
    for result in runner.run_batches(pool, batches):
        if pool.tasks == 0:
            ran_here.append(result)
    assert [r[0][0] for r in ran_here] == [0, 0, 1]  # point 0 timed, then merged; point 1 timed
    assert [len(r) for r in ran_here] == [2, 6, 2]
    assert pool.tasks == 3  # point 1's other three batches
