"""Model collapse of a Gaussian advanced for R replications at once: state shaped (R,).

The serial path pays the framework's fixed cost per replication-generation (a simpy
event, the agent's retrain check, a clone and a fit, two ``normal`` calls, three
``record`` calls) for 20 numbers. Here one simpy event advances every replication by a
generation with a few numpy operations over (R, samples) arrays.

Replication i is bit-identical to replication i of the serial path. Its world draws, each
generation, ``normal(mean, sd, samples - fresh)`` from the deployed Gaussian and then
``normal(true_mean, true_sd, fresh)`` from its own ``environment`` stream; numpy's
``normal(loc, scale)`` is ``loc + scale * z`` with z the stream's next standard normal
(no state carried between calls), so the replication's whole horizon of standard normals
is drawn in one call and scaled here, element for element as numpy scales them. The fit
is the Gaussian model's (``sum / n`` and ``square(y - mean).sum() / (n - 1)`` over each
replication's window, numpy reducing each row as it reduces the serial one-dimensional
window). A window holding a NaN or an infinity (a variance that overflowed) skips the
refit, as the serial agent does, and logs why.

Batched: the ``gaussian`` model refitted (``auto`` or ``refit``) on all rows or a sliding
window that holds at least two rows (and ``min_samples``) at the first retrain, with no
pretraining; any policy (the world never asks it for a decision).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.environment import step_every_unit
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import Trace
from feedbacksim.worlds.batch_spec import sole_agent
from feedbacksim.worlds.model_collapse import ModelCollapseWorld
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
METRICS = ("fitted_mean", "fitted_variance", "log_variance_ratio")


def supports(spec: Any) -> bool:
    """Whether the world and model of ``spec`` are ones the batched recursion reproduces.

    The agent's common rules (one agent, a retrain every whole number of generations, no
    gate) are checked by :func:`feedbacksim.run.batched.batchable`, its training by
    :func:`supports_training`.
    """
    agent = sole_agent(spec, "model_collapse", ModelCollapseWorld, METRICS)
    return agent is not None and agent.model.kind == "gaussian"


def supports_training(spec: Any) -> bool:
    """A refit on all rows or a sliding window, no pretraining, and a first fit (after
    ``every`` generations) with at least two rows and ``min_samples``: no retrain waits."""
    agent = spec.agents[0]
    if agent.pretrain.samples or not refits_on_window(spec):
        return False
    world = ModelCollapseWorld(**spec.environment.params)
    first = window_rows(spec, world.samples * int(agent.retrain.every))
    return first >= max(2, agent.retrain.min_samples)


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its drawn samples and its recorded metrics."""
    days = max(1, horizon_days(spec))
    samples = ModelCollapseWorld(**spec.environment.params).samples
    return 8 * days * (samples + len(METRICS) + 2)


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    world = ModelCollapseWorld(**spec.environment.params)
    m = world.samples
    synthetic = m - int(round(world.fresh_fraction * m))  # as ``ModelCollapseWorld.start``
    every = int(spec.agents[0].retrain.every)
    days = horizon_days(spec)
    r = len(seeds)

    # The generations' samples, (R, T * samples): generation t in columns t*m..(t+1)*m,
    # in the order the world delivers them (the model's draws, then the fresh ones).
    rows = np.empty((r, days, m))
    for i, seed in enumerate(seeds):
        named_generator(seed, "environment").standard_normal((days, m), out=rows[i])
    fresh = rows[:, :, synthetic:]
    np.add(world.true_mean, np.multiply(world.true_sd, fresh, out=fresh), out=fresh)
    history = rows.reshape(r, days * m)

    mean0, variance0 = model_of(spec).params_
    mean, variance = np.full(r, float(mean0)), np.full(r, float(variance0))
    fitted_mean, fitted_variance = np.empty((r, days, 1)), np.empty((r, days, 1))
    refits = retrain_days(spec)
    skipped = np.zeros((r, len(refits)), dtype=bool)
    state = {"day": 0}

    def step() -> None:
        t = state["day"]
        if t > 0 and t % every == 0:  # the retrain rule: every ``every`` generations
            n = window_rows(spec, t * m)
            y = history[:, t * m - n : t * m]
            finite = np.isfinite(y).all(axis=1)
            with np.errstate(all="ignore"):  # the rows of a skipped refit may be inf or NaN
                fit_mean = y.sum(axis=1) / n
                fit_variance = np.square(y - fit_mean[:, None]).sum(axis=1) / (n - 1)
            np.copyto(mean, fit_mean, where=finite)
            np.copyto(variance, fit_variance, where=finite)
            skipped[:, t // every - 1] = ~finite
        fitted_mean[:, t, 0] = mean
        fitted_variance[:, t, 0] = variance
        # The deployed Gaussian's draws: ``normal(mean, sqrt(variance))``, as numpy computes it.
        drawn = rows[:, t, :synthetic]
        with np.errstate(all="ignore"):  # an infinite variance draws inf and NaN, as serially
            np.multiply(np.sqrt(variance)[:, None], drawn, out=drawn)
            np.add(mean[:, None], drawn, out=drawn)
        state["day"] = t + 1

    step_every_unit(step, spec.horizon)  # one simpy event per generation advances every replication

    # ``max(variance, tiny)`` in Python: a NaN variance stays NaN.
    tiny = np.finfo(float).tiny
    floored = np.where(tiny > fitted_variance, tiny, fitted_variance)
    with np.errstate(all="ignore"):
        ratio = np.log(floored) - 2.0 * np.log(world.true_sd)
    groups = ("",)
    series = {
        "fitted_mean": (groups, fitted_mean),
        "fitted_variance": (groups, fitted_variance),
        "log_variance_ratio": (groups, ratio),
    }
    rows_fitted = [window_rows(spec, t * m) for t in refits]
    logs = retrain_events(spec, refits, rows_fitted, skipped if skipped.any() else None)
    return make_traces(spec, indices, series, logs, world.scales())
