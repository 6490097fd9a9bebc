"""The replication axis: scenarios whose every component supports it run R replications at once.

The runner asks :func:`batchable`; when it holds for every scenario of a run, replications
are sent to the executor in batches (a few per worker) and each batch is advanced
together by its world's batched kernel (:data:`KERNELS`), whose
replication i is bit-identical to replication i of the serial path. Each replication is
then analyzed on its own trace with fresh analyzers, exactly as the serial task does, so
findings, stored files and Results are the same whichever path ran.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from feedbacksim.run.store import findings_to_json

if TYPE_CHECKING:
    import numpy as np

    from feedbacksim.scenario.scenario import Scenario

#: The most replications one batch holds.
MAX_BATCH = 256
#: The most memory (bytes) the replications advanced together hold: (R, T, regions)
#: floats per metric; a batch that would hold more is advanced in parts.
MEMORY_BUDGET = 64 * 2**20
#: World kind -> the modules of its batched kernels (the first whose ``supports`` holds runs).
KERNELS: dict[str, tuple[str, ...]] = {
    "policing": ("feedbacksim.worlds.policing_batch", "feedbacksim.worlds.attention_batch"),
    "bandit": ("feedbacksim.worlds.bandit_batch",),
    "model_collapse": ("feedbacksim.worlds.model_collapse_batch",),
    "performative": ("feedbacksim.worlds.performative_batch",),
    "demand": ("feedbacksim.worlds.demand_batch",),
    "retention": ("feedbacksim.worlds.retention_batch",),
    "pricing": ("feedbacksim.worlds.pricing_batch",),
    "data_feedback": ("feedbacksim.worlds.data_feedback_batch",),
}


def kernel(spec: Any) -> Any:
    """The batched kernel module (``supports``, ``run_batch``) that reproduces ``spec``, if any."""
    import importlib

    for name in KERNELS.get(spec.environment.kind, ()):
        module = importlib.import_module(name)
        if module.supports(spec):
            return module
    return None


def batchable(scenario: Scenario) -> bool:
    """Whether ``scenario`` runs on the replication axis (world, agent and analyzers allow it).

    The world's kernel checks its own world, model and policy (``supports``). Unless it
    checks the agents' rules itself (``OWN_AGENT_RULES``), it reproduces one agent without
    a gate that retrains every whole number of days from day 0, with nothing else drawing
    from its stream or changing what it deploys, and training as its
    ``supports_training`` allows (else :func:`incremental_training`). No kernel
    reproduces monitors, a stop condition, an open-loop twin or an online analyzer.
    """
    spec = scenario.spec
    if spec.stop_when is not None or not spec.agents or any(a.monitors for a in spec.agents):
        return False
    module = kernel(spec)
    if module is None:
        return False
    if not getattr(module, "OWN_AGENT_RULES", False) and not _one_agent_every_whole_day(
        spec, module
    ):
        return False
    return not any(
        a.needs_open_loop or a.stop_on_fail or a.retrain_measures for a in scenario.analyzers()
    )


def _one_agent_every_whole_day(spec: Any, module: Any) -> bool:
    """One agent without a gate, retrained every whole number of days as the kernel trains."""
    if len(spec.agents) != 1:
        return False
    agent = spec.agents[0]
    every = agent.retrain.every
    return bool(
        agent.gate is None
        and agent.retrain.after_rows is None
        and every is not None
        and every >= 1
        and float(every).is_integer()
        and getattr(module, "supports_training", incremental_training)(spec)
    )


def incremental_training(spec: Any) -> bool:
    """An incremental update on every row observed, from an unfitted start (no pretraining)."""
    agent = spec.agents[0]
    return (
        agent.pretrain.samples == 0
        and agent.data.window == "all"
        and agent.retrain.mode in ("auto", "incremental")
    )


def batch_tasks(
    payloads: Sequence[tuple[dict[str, Any], str | None]],
    todo: Sequence[tuple[int, int]],
    seeds: Sequence[np.random.SeedSequence],
    workers: int,
) -> Iterator[tuple[Any, ...]]:
    """Arguments of ``runner.replicate_batch``: each point's replications split into batches.

    A batch holds at most :data:`MAX_BATCH` replications, and each point is cut into at
    least two batches per worker when it has enough replications, so that workers share
    the load and progress moves.
    """
    by_point: dict[int, list[int]] = {}
    for point, index in todo:
        by_point.setdefault(point, []).append(index)
    for point, indices in by_point.items():
        size = max(1, min(MAX_BATCH, math.ceil(len(indices) / (2 * max(1, workers)))))
        for start in range(0, len(indices), size):
            chunk = indices[start : start + size]
            yield (*payloads[point], point, chunk, [seeds[i] for i in chunk])


def merge_batches(batches: Sequence[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Consecutive batches of the same point joined, up to :data:`MAX_BATCH` replications.

    For batches that will run one after the other in one process: a kernel's day costs
    about the same for 10 replications as for 100, so fewer batches cost less.
    """
    merged: tuple[Any, ...] | None = None
    for batch in batches:
        if (
            merged is not None
            and merged[2] == batch[2]
            and len(merged[3]) + len(batch[3]) <= MAX_BATCH
        ):
            merged = (*merged[:3], merged[3] + batch[3], merged[4] + batch[4])
            continue
        if merged is not None:
            yield merged
        merged = (*batch[:3], list(batch[3]), list(batch[4]))
    if merged is not None:
        yield merged


def run_batch(
    scenario: Scenario, indices: list[int], seeds: list[np.random.SeedSequence]
) -> list[tuple[int, dict[str, np.ndarray], str]]:
    """``(index, trace arrays, findings JSON)`` of replications ``indices``, advanced together."""
    from feedbacksim.run.replication import replication_evidence, run_analyzers

    world = kernel(scenario.spec)
    # Long horizons: advance the batch in parts that fit in MEMORY_BUDGET bytes.
    part = max(1, MEMORY_BUDGET // world.bytes_per_replication(scenario.spec))
    out = []
    for start in range(0, len(indices), part):
        chunk = indices[start : start + part]
        traces = world.run_batch(scenario.spec, seeds[start : start + part], chunk)
        for index, trace in zip(chunk, traces, strict=True):
            # Unless the kernel says otherwise, its models are usable from day 0 (prior
            # counts), as the serial agent's ``fitted`` says at the end of its run.
            default = {a.name: True for a in scenario.spec.agents}
            deployed = trace.metadata.setdefault("deployed", default)
            findings = run_analyzers(scenario.analyzers(), trace, None, index)
            findings.append(replication_evidence(trace, deployed, index))
            out.append((index, trace.to_arrays(), findings_to_json(findings)))
        del traces
    return out
