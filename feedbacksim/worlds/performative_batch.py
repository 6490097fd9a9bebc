"""Performative prediction (the location family) advanced for R replications at once.

State shaped (R,): each replication's deployed prediction theta. One simpy event
advances every replication by a round: the outcomes of all of them are scaled and
averaged as (R, samples_per_round) arrays.

Replication i is bit-identical to replication i of the serial path. Each round its world
draws ``normal(mu + eps * theta, sigma, samples_per_round)`` from its ``environment``
stream; numpy computes that as ``loc + scale * z`` with z the stream's next standard
normals, so the kernel fills the replication's row with ``standard_normal`` from the same
stream and scales it, element for element. Those draws are most of the cost (100,000 a
round in the shipped scenario) and each replication's come from its own generator, so
they are drawn one replication at a time into the shared (R, samples) array, the
horizon's worth at once when it fits in :data:`DRAW_BUDGET` bytes, else a round at a time.
The rest is numpy over the batch: the refit is the mean model's ``y.mean()`` of each
replication's window (numpy reduces each row of a 2-D array as it reduces the serial
one-dimensional window), and theta is the mean of the model's ``samples_per_round``
equal predictions, as the world averages the scores (not always the prediction itself:
the pairwise sum rounds). A window holding a NaN or an infinity (a diverging loop that
overflowed) skips the refit as the serial agent does, and ``model_step`` is then not
recorded that round.

Batched: the ``mean`` model refitted (``auto`` or ``refit``) on all rows or a sliding
window holding ``min_samples`` rows at the first retrain, no pretraining, the
``threshold`` policy (its decisions, and any exploration draws from the agent's stream,
are not what the world reads: it reads the scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.environment import step_every_unit
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import Trace
from feedbacksim.worlds.batch_spec import sole_agent
from feedbacksim.worlds.performative import PerformativeWorld
from feedbacksim.worlds.refit_batch import (
    horizon_days,
    make_traces,
    model_of,
    refits_on_window,
    retrain_days,
    retrain_events,
    window_rows,
)

#: The metrics the kernel records, in the world's declaration order. A metric the world
#: gains and the kernel does not fill makes :func:`supports` false (the serial path runs).
METRICS = ("theta", "model_step", "outcome_mean", "stable_point")
#: The most bytes of standard normals drawn ahead for a batch (a whole horizon when it fits).
DRAW_BUDGET = 32 * 2**20


def supports(spec: Any) -> bool:
    """Whether the world, model and policy of ``spec`` are ones the batched loop reproduces.

    The agent's common rules are checked by :func:`feedbacksim.run.batched.batchable`,
    its training by :func:`supports_training`.
    """
    agent = sole_agent(spec, "performative", PerformativeWorld, METRICS)
    return agent is not None and agent.model.kind == "mean" and agent.policy.kind == "threshold"


def supports_training(spec: Any) -> bool:
    """A refit on all rows or a sliding window, no pretraining, and a first fit (after
    ``every`` rounds) with ``min_samples`` rows: no retrain waits for data."""
    agent = spec.agents[0]
    if agent.pretrain.samples or not refits_on_window(spec):
        return False
    world = PerformativeWorld(**spec.environment.params)
    first = window_rows(spec, world.samples_per_round * int(agent.retrain.every))
    return first >= agent.retrain.min_samples


def _history(spec: Any, samples: int) -> bool:
    """Whether the training window reaches past the latest round (then every row is kept)."""
    data = spec.agents[0].data
    return data.window == "all" or int(data.size) > samples


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its outcome rows, its kept rows, its metrics."""
    days = max(1, horizon_days(spec))
    samples = PerformativeWorld(**spec.environment.params).samples_per_round
    kept = days * samples if _history(spec, samples) else 0
    return 8 * (3 * samples + kept + days * (len(METRICS) + 1))


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    world = PerformativeWorld(**spec.environment.params)
    mu, eps, sigma, n = world.mu, world.eps, world.sigma, world.samples_per_round
    every = int(spec.agents[0].retrain.every)
    days = horizon_days(spec)
    r = len(seeds)

    streams = [named_generator(seed, "environment") for seed in seeds]
    ahead = max(1, min(days, DRAW_BUDGET // max(1, 8 * r * n)))  # rounds drawn per call
    drawn = np.empty((r, ahead, n))
    outcomes = drawn[:, 0]
    history = np.empty((r, days * n)) if _history(spec, n) else None
    predictions = np.empty((r, n))  # the model's prediction for each case of a round

    deployed = np.full(r, float(model_of(spec).theta))
    theta = np.empty(r)
    thetas, means = np.empty((r, days, 1)), np.empty((r, days, 1))
    steps = np.empty((r, days, 1))
    stepped = np.zeros((r, days), dtype=bool)
    refits = retrain_days(spec)
    skipped = np.zeros((r, len(refits)), dtype=bool)
    state = {"day": 0}

    def step() -> None:
        nonlocal outcomes
        t = state["day"]
        refitted = None
        if t > 0 and t % every == 0:  # the retrain rule: every ``every`` rounds
            rows = window_rows(spec, t * n)
            y = history[:, t * n - rows : t * n] if history is not None else outcomes[:, n - rows :]
            refitted = np.isfinite(y).all(axis=1)
            with np.errstate(all="ignore"):
                np.copyto(deployed, y.mean(axis=1), where=refitted)
            skipped[:, t // every - 1] = ~refitted
        if t == 0 or refitted is not None:  # the scores' mean changes with the model only
            predictions[...] = deployed[:, None]
            predictions.mean(axis=1, out=theta)
        # The outcome mean mu + eps * theta (Python floats overflow to inf silently), then
        # ``normal(mean, sigma)``, which numpy computes as mean + sigma * z.
        with np.errstate(all="ignore"):
            mean = np.add(mu, np.multiply(eps, theta, out=means[:, t, 0]), out=means[:, t, 0])
        if t % ahead == 0:
            block = min(ahead, days - t)
            for i, stream in enumerate(streams):  # each replication's own generator
                stream.standard_normal((block, n), out=drawn[i, :block])
        outcomes = drawn[:, t % ahead]
        with np.errstate(all="ignore"):
            np.multiply(sigma, outcomes, out=outcomes)
            np.add(mean[:, None], outcomes, out=outcomes)
        if history is not None:
            history[:, t * n : (t + 1) * n] = outcomes
        if refitted is not None:  # a new model deployed: the step from the previous one
            np.abs(theta - thetas[:, t - 1, 0], out=steps[:, t, 0])
            stepped[:, t] = refitted
        thetas[:, t, 0] = theta
        state["day"] = t + 1

    step_every_unit(step, spec.horizon)  # one simpy event per round advances every replication

    stable = mu / (1.0 - eps) if eps != 1 else float("nan")
    groups = ("",)
    series = {
        "theta": (groups, thetas),
        "model_step": (groups, steps),
        "outcome_mean": (groups, means),
        "stable_point": (groups, np.full((r, days, 1), stable)),
    }
    rows_fitted = [window_rows(spec, t * n) for t in refits]
    logs = retrain_events(spec, refits, rows_fitted, skipped if skipped.any() else None)
    return make_traces(spec, indices, series, logs, world.scales(), {"model_step": stepped})
