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


def test_batches_are_drawn_lazily_in_order():
    from feedbacksim.run.executors import batches

    drawn = []

    def tasks():
        for i in range(7):
            drawn.append(i)
            yield (i,)

    first = next(batches(tasks(), 3))
    assert first == [(0,), (1,), (2,)] and drawn == [0, 1, 2]
    assert [len(b) for b in batches(tasks(), 3)] == [3, 3, 1]


def test_dask_sends_replications_in_batches(cluster):
    from feedbacksim.run.executors import DaskExecutor

    with DaskExecutor(address=cluster.scheduler_address, batch_size=4) as executor:
        submitted = []
        submit = executor.client.submit

        def counting(fn, *args, **kwargs):
            submitted.append(len(args[1]))
            return submit(fn, *args, **kwargs)

        executor.client.submit = counting
        out = sorted(executor.imap_unordered(divmod, [(i, 3) for i in range(10)]))
    assert out == sorted(divmod(i, 3) for i in range(10))
    assert submitted == [4, 4, 2]  # three Dask tasks for ten replications
    with pytest.raises(ScenarioError, match="batch_size must be at least 1"):
        DaskExecutor(address=cluster.scheduler_address, batch_size=0)
