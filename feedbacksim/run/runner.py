"""Running replications: seeds, analysis of each trace, executors, storage, aggregation into Results.

Replication i of a run gets child i of the run's SeedSequence, whatever the executor and
whatever the sweep point (common random numbers). A replication is a task that rebuilds
its scenario from plain data (so it can be shipped to another process or machine), runs
:func:`run_replication`, and returns the trace as arrays and the findings as JSON; the
caller writes it to the run directory (or keeps it in memory when there is none), so the
numbers are the same on every executor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedbacksim.analyzers.base import Finding
from feedbacksim.core.seeding import replication_sequences
from feedbacksim.core.trace import Trace
from feedbacksim.errors import ScenarioError
from feedbacksim.run.batched import batch_tasks, batchable, merge_batches, run_batch
from feedbacksim.run.executors import Executor, make_executor
from feedbacksim.run.options import RunOptions
from feedbacksim.run.progress import Progress
from feedbacksim.run.results import Results
from feedbacksim.run.runlock import hold_run_directory
from feedbacksim.run.store import (
    DiscardedTraces,
    ReplicationStore,
    findings_from_json,
    findings_to_json,
)

if TYPE_CHECKING:
    import numpy as np

    from feedbacksim.scenario.scenario import Scenario

PLAN_FILE = "plan.json"
log = logging.getLogger(__name__)
_SCENARIO_CACHE_SIZE = 16
_scenarios: dict[str, Scenario] = {}


def run_replication(
    scenario: Scenario, index: int, seed: np.random.SeedSequence
) -> tuple[Trace, list[Finding]]:
    """Simulate replication ``index`` (with its open-loop twin and online checks when asked) and analyze it."""
    from feedbacksim.run.replication import analyze_replication

    return analyze_replication(scenario, index, seed)


def scenario_from_data(data: dict[str, Any], source: str | None) -> Scenario:
    """The Scenario of ``data`` (as :meth:`Scenario.to_dict` gives it), validated once per process."""
    from feedbacksim.scenario.scenario import Scenario

    key = json.dumps([data, source], sort_keys=True, default=str)
    scenario = _scenarios.get(key)
    if scenario is None:
        if len(_scenarios) >= _SCENARIO_CACHE_SIZE:
            _scenarios.pop(next(iter(_scenarios)))
        scenario = _scenarios[key] = Scenario.from_dict(data, source)
    return scenario


#: Bytes of trace arrays a run with a directory also keeps in memory, so that writing its
#: exports and report does not read them back from disk; beyond it traces are read from
#: the directory one at a time, and memory stays flat in the horizon.
HOLD_STORED_BYTES = 32 * 2**20


def replicate(
    data: dict[str, Any], source: str | None, point: int, index: int, seed: np.random.SeedSequence
) -> tuple[int, int, dict[str, np.ndarray], str]:
    """The task an executor runs: ``(point, index, trace arrays, findings JSON)``."""
    trace, findings = run_replication(scenario_from_data(data, source), index, seed)
    return point, index, trace.to_arrays(), findings_to_json(findings)


def replicate_batch(
    data: dict[str, Any],
    source: str | None,
    point: int,
    indices: list[int],
    seeds: list[np.random.SeedSequence],
) -> list[tuple[int, int, dict[str, np.ndarray], str]]:
    """The batched task (the replication axis): :func:`replicate`'s result per replication."""
    scenario = scenario_from_data(data, source)
    return [(point, *done) for done in run_batch(scenario, indices, seeds)]


def _point(task: tuple[Any, ...]) -> int:
    """The point (of a sweep or comparison) a task's replications belong to: they cost alike."""
    return int(task[2])


def run_batches(
    executor: Executor, batches: Iterable[tuple[Any, ...]]
) -> Iterator[list[tuple[int, int, dict[str, np.ndarray], str]]]:
    """:func:`replicate_batch` of every batch; a pool's workers start only when they pay.

    Replications on the replication axis are cheap, and spawning a worker costs about a
    second of CPU (``executor.startup_seconds``). With such an executor batches run here,
    timed, while the work left at the highest pace seen so far would cost less than
    starting the workers (``w`` workers finish ``left`` seconds of work in
    ``startup + left / w``, which beats ``left`` here only when
    ``left > startup * w / (w - 1)``); from the first batch where it would not, the rest
    go to the pool. Each point's first batch runs alone, so that a sweep's costlier
    points are timed before their other batches are; those are then run merged. A
    replication's numbers do not depend on where it ran.
    """
    workers = executor.workers
    if executor.startup_seconds <= 0 or workers < 2:
        yield from executor.imap_unordered(replicate_batch, batches, kind=_point)
        return
    worth_it = executor.startup_seconds * workers / (workers - 1)
    queue = deque(batches)
    pace = 0.0  # the highest CPU seconds per replication seen so far
    timed: set[int] = set()  # points whose pace is known
    while queue:
        if timed and pace * sum(len(batch[3]) for batch in queue) > worth_it:
            yield from executor.imap_unordered(replicate_batch, list(queue), kind=_point)
            return
        point = queue[0][2]
        if point in timed:  # the rest of this point, in as few batches as fit
            same = []
            while queue and queue[0][2] == point:
                same.append(queue.popleft())
            runs = list(merge_batches(same))
            queue.extendleft(reversed(runs[1:]))
            batch = runs[0]
        else:
            batch = queue.popleft()
        started = time.process_time()
        result = replicate_batch(*batch)
        pace = max(pace, (time.process_time() - started) / max(1, len(batch[3])))
        timed.add(point)
        yield result


def run_points(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    executor: Executor,
    stores: Sequence[ReplicationStore] | None = None,
    keep_traces: bool = True,
    progress: Progress | None = None,
) -> list[Results]:
    """Run ``replications`` replications of each scenario with the same seeds; one Results each.

    With ``stores`` every replication is written to its point's store as soon as it
    completes (replications already there are skipped) and the Results read traces from
    disk lazily; without, traces are kept in memory (or dropped when ``keep_traces`` is
    false, keeping only the findings).
    """
    started = time.perf_counter()
    seeds = replication_sequences(seed, replications)
    complete = [resumable(store) for store in stores] if stores is not None else None
    todo = [
        (point, index)
        for point in range(len(scenarios))
        for index in range(replications)
        if complete is None or index not in complete[point]
    ]
    payloads = [(s.to_dict(), str(s.source) if s.source else None) for s in scenarios]
    traces: list[dict[int, Trace]] = [{} for _ in scenarios]
    findings: list[dict[int, list[Finding]]] = [{} for _ in scenarios]
    progress = progress or Progress()
    total = len(scenarios) * replications
    progress.start(total, total - len(todo))
    done: Iterator[tuple[int, int, dict[str, np.ndarray], str]]
    if all(batchable(s) for s in scenarios):  # the replication axis: R replications at once
        batches = batch_tasks(payloads, todo, seeds, executor.workers)
        done = (r for b in run_batches(executor, batches) for r in b)
    else:
        tasks = ((*payloads[point], point, index, seeds[index]) for point, index in todo)
        done = executor.imap_unordered(replicate, tasks, kind=_point)
    held_bytes = 0  # traces written to a store and also kept in memory
    try:
        for point, index, arrays, found in done:
            findings[point][index] = findings_from_json(found)
            if stores is not None:
                stores[point].write(index, arrays, found)
                size = sum(a.nbytes for a in arrays.values())
                if keep_traces and held_bytes + size <= HOLD_STORED_BYTES:
                    # Own copies: a batched replication's arrays are views into its batch's.
                    own = {k: v if v.flags.c_contiguous else v.copy() for k, v in arrays.items()}
                    traces[point][index] = Trace.from_arrays(own)
                    held_bytes += size
            elif keep_traces:
                traces[point][index] = Trace.from_arrays(arrays)
            progress.advance()
    finally:
        progress.finish()
    progress.phase(f"analysis: aggregating the findings of {total} replications")
    wall = time.perf_counter() - started
    out = []
    for point, scenario in enumerate(scenarios):
        if stores is not None:
            point_traces: Sequence[Trace] = stores[point].traces(replications, traces[point])
            point_findings = [
                f
                for i in range(replications)
                for f in (
                    findings[point][i] if i in findings[point] else stores[point].load_findings(i)
                )
            ]
        else:
            point_traces = (
                [traces[point][i] for i in range(replications)]
                if keep_traces
                else DiscardedTraces(replications)
            )
            point_findings = [f for i in range(replications) for f in findings[point][i]]
        out.append(
            Results(scenario, point_traces, point_findings, scenario.analyzers(), seed, wall)
        )
    return out


def resumable(store: ReplicationStore) -> set[int]:
    """The replications of ``store`` that need not run again: its complete, readable files.

    Temporary files of a killed writer are deleted; a damaged file (truncated, garbage, a
    checksum mismatch) is reported in one line, deleted and so recomputed.
    """
    store.remove_partial()
    done = store.complete()
    for index, why in store.discard_damaged(done).items():
        log.warning("%s was damaged (%s); recomputing it", store.path(index), why)
        done.discard(index)
    return done


def check_plan(directory: Path, plan: dict[str, Any], resume: bool) -> None:
    """Record what a run directory holds; on resume, refuse a directory that holds another run."""
    path = directory / PLAN_FILE
    normalized = json.loads(json.dumps(plan, default=str))
    if path.is_file():
        if not resume:
            raise ScenarioError(
                f"{directory} already holds a run; resume it with --resume {directory} "
                "or choose another directory"
            )
        held = json.loads(path.read_text(encoding="utf-8"))
        if held != normalized:
            changed = sorted(
                k for k in set(held) | set(normalized) if held.get(k) != normalized.get(k)
            )
            raise ScenarioError(
                f"{directory} holds a different run (differs in: {', '.join(changed)}); "
                "resume it with the same scenario, overrides, seed and replications"
            )
        return
    from feedbacksim.run.files import atomic_write_text

    atomic_write_text(path, json.dumps(normalized, indent=2))


def executor_for(
    executor: str | Executor | None,
    workers: int | None,
    address: str | None,
    directory: Path | None,
) -> tuple[Executor, bool]:
    """The executor to use and whether this call owns it (and must close it)."""
    if isinstance(executor, Executor):
        return executor, False
    scratch = directory / "dask-scratch" if directory is not None else None
    return make_executor(executor, workers, address, scratch), True


def run_scenario(
    scenario: Scenario,
    replications: int,
    seed: int,
    options: RunOptions | None = None,
    **run_options: Any,
) -> Results:
    """Run ``replications`` replications; replication i gets child i of ``seed``.

    Args:
        scenario: What to run.
        replications: How many replications.
        seed: The run's seed.
        options: Where and how to run (:class:`RunOptions`); keyword ``run_options``
            (``executor``, ``workers``, ``address``, ``directory``, ``resume``,
            ``progress``) override its fields. With a directory each replication is
            written to ``directory/replications/`` and the Results read traces from there.
    """
    plan = {
        "kind": "run",
        "scenario": scenario.to_dict(),
        "seed": seed,
        "replications": replications,
    }
    return run_stored(
        [scenario],
        replications,
        seed,
        plan,
        ["replications"],
        keep_traces=True,
        options=RunOptions.of(options, **run_options),
    )[0]


def run_stored(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    plan: dict[str, Any],
    folders: Sequence[str],
    *,
    keep_traces: bool,
    options: RunOptions,
) -> list[Results]:
    """Run ``scenarios`` over the same replication seeds: what run, sweep and compare share.

    With a ``directory`` (checked against ``plan``, so a resume cannot mix two runs) the
    replications of scenario i are written to ``directory/folders[i]``; the executor is
    made here and closed here unless the caller passed one in.
    """
    if replications < 1:
        raise ScenarioError("replications must be at least 1")
    if not isinstance(seed, int) or seed < 0:
        raise ScenarioError(f"the seed must be a non-negative integer, got {seed!r}")
    stores = None
    path = Path(options.directory) if options.directory is not None else None
    if path is None and options.resume:
        raise ScenarioError("resume needs the run directory")
    with hold_run_directory(path) if path is not None else contextlib.nullcontext():
        if path is not None:
            check_plan(path, plan, options.resume)
            stores = [ReplicationStore(path / folder) for folder in folders]
        runner, owned = executor_for(options.executor, options.workers, options.address, path)
        try:
            return run_points(
                scenarios, replications, seed, runner, stores, keep_traces, options.progress
            )
        finally:
            if owned:
                runner.close()
