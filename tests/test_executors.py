"""Same scenario and seed give identical results on every executor; workers use one thread."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

import feedbacksim
from feedbacksim.cli import main
from feedbacksim.errors import ScenarioError
from feedbacksim.run.executors import ProcessExecutor, make_executor
from feedbacksim.run.progress import PlainProgress, Progress, make_progress

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """One real LocalCluster (two worker processes on loopback) for the whole module."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


@pytest.fixture(scope="module")
def pool():
    with ProcessExecutor(2, startup_seconds=0.0) as executor:  # always the pool
        yield executor


@pytest.fixture(scope="module")
def scenario():
    path = Path(__file__).resolve().parent.parent / "scenarios" / "predictive_policing.yaml"
    return feedbacksim.load(path).with_overrides({"horizon": 300})


@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_frames(scenario, pool, cluster, tmp_path):
    serial = scenario.run(replications=6, seed=5, executor="serial")
    processes = scenario.run(replications=6, seed=5, executor=pool)
    dask = scenario.run(
        replications=6, seed=5, address=cluster.scheduler_address, directory=tmp_path / "run"
    )
    expected = serial.to_frame()
    assert (
        len(expected) == 6 * 300 * expected["metric"].nunique() * 2
    )  # replications x days x metrics x regions
    pd.testing.assert_frame_equal(processes.to_frame(), expected, check_exact=True)
    pd.testing.assert_frame_equal(dask.to_frame(), expected, check_exact=True)
    assert processes.findings == serial.findings == dask.findings
    assert [s.to_dict() for s in dask.summaries] == [s.to_dict() for s in serial.summaries]


def test_pool_workers_limit_blas_to_one_thread(pool):
    from threadpoolctl import threadpool_info

    (info,) = list(pool.imap_unordered(threadpool_info, [()]))
    assert info, "numpy's BLAS should be loaded in the worker"
    assert {pool_["num_threads"] for pool_ in info} == {1}


def test_unknown_executor_and_bad_workers_are_scenario_errors():
    with pytest.raises(ScenarioError, match="unknown executor 'threads'"):
        make_executor("threads")
    with pytest.raises(ScenarioError, match="workers must be at least 1"):
        make_executor("processes", workers=0)
    with pytest.raises(ScenarioError, match="--address needs the dask executor"):
        make_executor("serial", address="tcp://127.0.0.1:1")


def test_missing_dask_says_how_to_install_and_cli_exits_2(monkeypatch, capsys, policing_path):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(ScenarioError, match=r'pip install "feedbacksim\[dask\]"'):
        make_executor("dask")
    code = main(["run", str(policing_path), "--executor", "dask", "--quiet"])
    assert code == 2
    assert 'pip install "feedbacksim[dask]"' in capsys.readouterr().err


def test_plain_progress_prints_count_rate_and_final_line():
    stream = io.StringIO()
    progress = PlainProgress(stream, interval=0.0)
    progress.start(4, done=1)
    for _ in range(3):
        progress.advance()
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "resuming: 1/4 replications already complete"
    assert lines[1].startswith("2/4 replications (50%), ") and "/s" in lines[1]
    assert "ETA" in lines[1]
    assert lines[-1].startswith("4/4 replications (100%)") and "ETA" not in lines[-1]


def test_progress_is_plain_off_a_terminal_and_silent_when_quiet():
    assert isinstance(make_progress(stream=io.StringIO()), PlainProgress)
    quiet = make_progress(quiet=True)
    assert type(quiet) is Progress


def _record_submissions(executor) -> list:
    """The tasks of every Dask task ``executor`` submits from now on (a list it fills)."""
    submitted = []
    submit = executor.client.submit

    def recording(fn, *args, **kwargs):
        submitted.append(list(args[1]))
        return submit(fn, *args, **kwargs)

    executor.client.submit = recording
    return submitted


def _submitted_batches(executor, tasks, kind=None):
    """Results of ``executor.imap_unordered(divmod, tasks)``, and the tasks of each Dask task."""
    submitted = _record_submissions(executor)
    return sorted(executor.imap_unordered(divmod, tasks, kind=kind)), submitted


def test_dask_batches_fast_tasks_and_sends_slow_ones_alone(cluster):
    from feedbacksim.run.executors import MAX_BATCH_TASKS, DaskExecutor

    tasks = [(i, 3) for i in range(600)]
    expected = sorted(divmod(i, 3) for i in range(600))
    # divmod takes microseconds: after the first window of single tasks, batches fill up.
    with DaskExecutor(address=cluster.scheduler_address, batch_seconds=10.0) as executor:
        out, batches = _submitted_batches(executor, tasks)
    sizes = [len(b) for b in batches]
    window = 2 * executor.workers
    assert out == expected
    assert sizes[:window] == [1] * window
    assert max(sizes) == MAX_BATCH_TASKS and sum(sizes) == 600
    assert len(sizes) < 600 / 10  # far fewer Dask tasks than replications
    # A budget no task fits in: one task per batch, as for one-second replications.
    with DaskExecutor(address=cluster.scheduler_address, batch_seconds=1e-12) as executor:
        out, batches = _submitted_batches(executor, tasks[:20])
    assert out == expected[:20] and [len(b) for b in batches] == [1] * 20
    for bad in (0, float("inf")):
        with pytest.raises(ScenarioError, match="batch_seconds must be positive and finite"):
            DaskExecutor(address=cluster.scheduler_address, batch_seconds=bad)


def test_dask_batches_hold_one_kind_and_a_new_kind_starts_alone(cluster):
    from feedbacksim.run.executors import DaskExecutor

    # A sweep's points in order: 400 cheap replications of point 0, then 30 of point 1,
    # whose cost point 0's pace says nothing about.
    tasks = [(i, 3) for i in range(400)] + [(1000 + i, 7) for i in range(30)]
    with DaskExecutor(address=cluster.scheduler_address, batch_seconds=10.0) as executor:
        out, batches = _submitted_batches(executor, tasks, kind=lambda args: args[1])
    assert out == sorted(divmod(*t) for t in tasks)
    assert all(len({args[1] for args in batch}) == 1 for batch in batches)  # never mixed
    first_of_point_1 = next(b for b in batches if b[0][1] == 7)
    assert first_of_point_1 == [(1000, 7)]  # its pace unknown: one task
    assert max(len(b) for b in batches if b[0][1] == 3) > 50  # point 0 was batched


def test_replication_axis_batches_reach_every_dask_worker(cluster, scenario):
    from feedbacksim.run.batched import batchable
    from feedbacksim.run.executors import DaskExecutor

    assert batchable(scenario)
    with DaskExecutor(address=cluster.scheduler_address) as executor:
        tasks = _record_submissions(executor)
        batched = scenario.run(replications=8, seed=3, executor=executor)
    # Two batches of replications per worker, each its own Dask task (not one task for all).
    assert [len(task) for task in tasks] == [1] * 2 * executor.workers
    assert batched.findings == scenario.run(replications=8, seed=3, executor="serial").findings


def test_local_dask_cluster_takes_no_fixed_port(tmp_path):
    import contextlib
    import socket
    import warnings

    from feedbacksim.run.executors import LOCAL_CLUSTER_CONFIG, DaskExecutor

    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # The port a Dask scheduler takes by default (if someone else holds it: the same).
        with contextlib.suppress(OSError):
            held.bind(("127.0.0.1", 8787))
            held.listen()
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="Port .* is already in use")
            with DaskExecutor(workers=1, scratch=tmp_path) as executor:
                assert list(executor.imap_unordered(divmod, [(7, 2)])) == [(3, 1)]
                # Its workers run with the settings that wake their event loop less.
                (seen,) = executor.client.run(_worker_settings, list(LOCAL_CLUSTER_CONFIG)).values()
    assert seen == LOCAL_CLUSTER_CONFIG


def _worker_settings(keys):
    import dask

    return {key: dask.config.get(key) for key in keys}
