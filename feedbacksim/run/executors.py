"""Where replications run: in this process, in a local process pool, or on a Dask cluster.

Every executor maps a module-level function over argument tuples and yields the results
as they complete (in any order; the caller files each result under its replication index,
so the order never changes a number). At most a few tasks per worker are in flight, so
results are streamed to the caller and never pile up in memory.

* ``serial`` runs in this process and leaves numpy's and scikit-learn's thread pools alone.
* ``processes`` (one worker per core) uses ``concurrent.futures.ProcessPoolExecutor`` with
  the *spawn* start method, passed as a context (nothing is set globally). Spawned workers
  re-import the caller's main module, so a script that runs replications in processes
  needs an ``if __name__ == "__main__":`` guard.
* ``dask`` starts a ``distributed.LocalCluster`` (worker processes, one thread each, scratch
  space inside the run directory) or, with ``address``, connects to an existing scheduler.
  Replications go to it in batches sized by time (a Dask task runs about a quarter
  second of them), not one task each.
  Dask is the optional extra ``feedbacksim[dask]``.

Workers of the last two limit BLAS/OpenMP pools to one thread each: two processes on two
cores, each starting one thread per core, oversubscribe the machine several times over.
"""

from __future__ import annotations

import math
import os
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from feedbacksim.errors import ScenarioError

EXECUTORS = ("serial", "processes", "dask")
#: Names the tasks that cost about the same (:meth:`Executor.imap_unordered`).
Kind = Callable[[tuple[Any, ...]], Hashable]
DASK_MISSING = 'the dask executor needs Dask: pip install "feedbacksim[dask]"'
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_thread_limits: Any = None


def limit_worker_threads() -> None:
    """Limit BLAS/OpenMP pools of this (worker) process to one thread; idempotent.

    The environment variables cover libraries loaded later (scikit-learn's OpenMP runtime
    reads them when it starts); ``threadpoolctl`` covers those already loaded (numpy's BLAS).
    """
    global _thread_limits
    if _thread_limits is not None:
        return
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    import numpy  # noqa: F401  (loads its BLAS now, under the limits, whatever runs first)
    from threadpoolctl import threadpool_limits

    _thread_limits = threadpool_limits(limits=1)


def call_in_worker(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run ``fn(*args)`` in a worker process, with its thread pools limited first."""
    limit_worker_threads()
    return fn(*args)


def call_batch_in_worker(
    fn: Callable[..., Any], batch: list[tuple[Any, ...]]
) -> tuple[list[Any], float]:
    """``fn(*args)`` for every ``args`` of ``batch`` in a worker, in order, and the seconds taken."""
    limit_worker_threads()
    started = time.perf_counter()
    results = [fn(*args) for args in batch]
    return results, time.perf_counter() - started


def default_workers() -> int:
    """One worker per core this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


#: Seconds of work a Dask task aims at: the scheduler's round trip (a few milliseconds)
#: is about 1% of it, and the last tasks of a run still balance across the workers.
BATCH_SECONDS = 0.25
#: The most tasks one Dask batch carries, however fast they are.
MAX_BATCH_TASKS = 256

#: Settings of a ``LocalCluster`` started here (an existing cluster keeps its own). A
#: worker's event loop shares the GIL with the task, so what wakes it costs the task:
#: the statistical profiler samples the task's stack every 10 ms, the loop's health
#: tick runs every 20 ms, the memory monitor every 100 ms and the system monitor (for a
#: dashboard nobody opens here) every 500 ms. With these at Dask's defaults, a one-second
#: replication took 3-5% more CPU and 5-8% more wall time in a worker than in a pool's
#: process (``benchmarks/bench_parallel.py``); with these, about 1%.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}

#: CPU seconds a local pool's worker costs to start: spawn a Python and import numpy,
#: simpy, pydantic and feedbacksim (measured 0.7-1.0 s each on the 2-core machine of
#: ``benchmarks/bench_parallel.py``).
POOL_STARTUP_SECONDS = 0.8


class Executor(ABC):
    """Maps a function over argument tuples, yielding results as they complete."""

    name: str = ""
    #: CPU seconds each worker costs before its first task (0: already running, or none).
    startup_seconds: float = 0.0

    def __init__(self, workers: int) -> None:
        self.workers = workers

    @abstractmethod
    def imap_unordered(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]], kind: Kind | None = None
    ) -> Iterator[Any]:
        """Yield ``fn(*args)`` for every ``args`` in ``tasks``, in completion order.

        ``kind(args)``, when given, names tasks that cost about the same (a sweep's
        replications of one point); an executor that batches tasks batches them by kind.
        """

    def close(self) -> None:
        """Release workers (processes, cluster, connection); nothing to release by default."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every task in this process, one after the other."""

    name = "serial"

    def __init__(self) -> None:
        super().__init__(1)

    def imap_unordered(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]], kind: Kind | None = None
    ) -> Iterator[Any]:
        for args in tasks:
            yield fn(*args)


class ProcessExecutor(Executor):
    """A local process pool (spawn start method), one worker per core by default."""

    name = "processes"

    def __init__(
        self, workers: int | None = None, startup_seconds: float = POOL_STARTUP_SECONDS
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        super().__init__(workers or default_workers())
        # Workers are spawned at the first task, so a pool that gets none costs nothing.
        self.startup_seconds = startup_seconds
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def imap_unordered(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]], kind: Kind | None = None
    ) -> Iterator[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        pending: set[Any] = set()
        window = 2 * self.workers
        iterator = iter(tasks)
        try:
            while True:
                for args in iterator:
                    pending.add(self._pool.submit(call_in_worker, fn, args))
                    if len(pending) >= window:
                        break
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Tasks on a Dask cluster: a new ``LocalCluster`` or an existing scheduler at ``address``."""

    name = "dask"

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        scratch: str | os.PathLike[str] | None = None,
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        if not (batch_seconds > 0 and math.isfinite(batch_seconds)):
            raise ScenarioError(f"batch_seconds must be positive and finite, got {batch_seconds}")
        self.batch_seconds = batch_seconds
        try:
            import dask
            import distributed
        except ImportError:
            raise ScenarioError(DASK_MISSING) from None
        self._stack = ExitStack()
        self.address = address
        if scratch is not None:
            Path(scratch).mkdir(parents=True, exist_ok=True)
            # Spill files and worker directories go inside the run directory.
            self._stack.enter_context(dask.config.set({"temporary-directory": str(scratch)}))
        try:
            if address is None:
                self._stack.enter_context(dask.config.set(LOCAL_CLUSTER_CONFIG))
                cluster = distributed.LocalCluster(
                    n_workers=workers or default_workers(),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # No dashboard, and the scheduler's HTTP routes on a free loopback
                    # port (by default they take 8787, and a second run warns of a clash).
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                    local_directory=str(scratch) if scratch is not None else None,
                    silence_logs=40,
                )
                self._stack.callback(cluster.close)
                self.client = distributed.Client(cluster)
            else:
                self.client = distributed.Client(address, timeout="10s")
        except OSError as exc:
            self._stack.close()
            raise ScenarioError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self._stack.callback(self.client.close)
        n = len(self.client.scheduler_info().get("workers", {}))
        super().__init__(workers or n or 1)

    def imap_unordered(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]], kind: Kind | None = None
    ) -> Iterator[Any]:
        """As :meth:`Executor.imap_unordered`, with tasks sent in batches sized by time.

        One Dask task per replication pays the scheduler's round trip and the pickling
        of the scenario for every replication, which matters when a replication takes
        milliseconds; one task for many one-second replications leaves a worker idle
        while another finishes them. So a batch holds tasks of one ``kind`` only, as
        many as fit in ``batch_seconds`` at the mean pace of that kind's tasks done so far
        (one while none is done; at most :data:`MAX_BATCH_TASKS`): a sweep's cheap point
        does not size the batches of a costly one. The mean errs towards small batches,
        since a worker's first task also imports and validates.
        """
        from distributed import as_completed

        iterator = iter(tasks)
        ahead: deque[tuple[Any, ...]] = deque()  # a task drawn that starts the next batch
        spent: dict[Hashable, tuple[float, int]] = {}  # kind -> (seconds, tasks) done
        kinds: dict[Any, Hashable] = {}  # future -> kind of its batch

        def kind_of(args: tuple[Any, ...]) -> Hashable:
            return kind(args) if kind is not None else None

        def submit() -> Any:
            first = ahead.popleft() if ahead else next(iterator, None)
            if first is None:
                return None
            key = kind_of(first)
            seconds, done = spent.get(key, (0.0, 0))
            if not done:
                size = 1
            elif seconds <= 0:
                size = MAX_BATCH_TASKS
            else:
                size = max(1, min(MAX_BATCH_TASKS, int(self.batch_seconds * done / seconds)))
            batch = [first]
            for args in iterator if len(batch) < size else ():
                if kind_of(args) != key:
                    ahead.append(args)
                    break
                batch.append(args)
                if len(batch) >= size:
                    break
            future = self.client.submit(call_batch_in_worker, fn, batch, pure=False)
            kinds[future] = key
            return future

        first = [f for f in (submit() for _ in range(2 * self.workers)) if f is not None]
        if not first:
            return
        running = as_completed(first)
        try:
            for future in running:
                results, seconds = future.result()
                key = kinds.pop(future)
                future.release()
                total, done = spent.get(key, (0.0, 0))
                spent[key] = (total + seconds, done + len(results))
                following = submit()
                if following is not None:
                    running.add(following)
                yield from results
        finally:
            for future in running.futures:
                future.cancel()

    def close(self) -> None:
        self._stack.close()


def make_executor(
    name: str | None = "processes",
    workers: int | None = None,
    address: str | None = None,
    scratch: str | os.PathLike[str] | None = None,
) -> Executor:
    """The executor called ``name`` (``serial``, ``processes`` or ``dask``).

    ``address`` (a Dask scheduler such as ``tcp://host:8786``) implies ``dask``; with no
    name and no address the executor is ``serial``;
    ``scratch`` is where a LocalCluster keeps its temporary files.
    """
    if name is None:
        name = "serial" if address is None else "dask"
    if address is not None and name == "processes":
        name = "dask"
    if workers is not None and workers < 1:
        raise ScenarioError(f"workers must be at least 1, got {workers}")
    if name == "serial":
        if address is not None:
            raise ScenarioError("--address needs the dask executor")
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor(workers)
    if name == "dask":
        return DaskExecutor(workers, address, scratch)
    raise ScenarioError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
