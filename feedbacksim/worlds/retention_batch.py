"""The retention world with a ``linear-erm`` model, advanced for R replications at once.

State shaped (R, groups): each replication's expected users, its deployed coefficients
(R, d) and its training window. As in :mod:`feedbacksim.worlds.policing_batch`,
replication i is bit-identical to replication i of the serial path. Its draws come from
its own streams, in the serial order: the held-out users from ``environment`` at the
start, the pretraining sample from ``pretrain:<agent>``, then each round one
``poisson(users)``, one ``permutation`` of the arrivals' groups and two
``standard_normal`` calls from ``environment``, through the world's own ``_draw``. Their
sizes follow the state (the arrivals), so those calls are made per replication; everything
else is numpy over the batch:

* the ERM fit: replications whose windows hold the same number of rows are fitted in one
  stacked ``x'x`` / ``x'y`` / ``solve`` (numpy's matmul calls the same BLAS routine per
  stacked matrix as for one, and ``solve`` is a gufunc), so the coefficients are the
  serial ones bit for bit; the worst-group objective, whose per-group statistics and
  grid search differ in size per replication, calls the model's own ``fit`` per
  replication;
* the held-out risk: one stacked matmul and one ``bincount`` over every replication's
  (replication, group) bins, which adds each bin's losses in the serial order;
* the return of users, elementwise as in the world.

The threshold policy's draws (``epsilon``) come from the agent's stream, which nothing
else in this world reads, and its actions are not used by the world: they change nothing
recorded, so the kernel does not make them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.environment import step_every_unit
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import METRIC_SCALES, MetricSeries, Trace
from feedbacksim.worlds.batch_spec import sole_agent
from feedbacksim.worlds.retention import RetentionWorld

#: The metrics the kernel records; a metric the world gains makes :func:`supports` false.
METRICS = ("population_share", "expected_users", "users", "risk", "worst_group_risk")
#: The kernel checks the agent's retrain rule, window and pretraining itself.
OWN_AGENT_RULES = True


def supports(spec: Any) -> bool:
    """Whether ``spec`` is one agent refitting a ``linear-erm`` model the kernel reproduces.

    A refit (``auto`` or ``refit``) on an ``all`` or ``sliding`` window, on a schedule
    (``every``), with or without pretraining; no gate, monitors or row trigger; a
    threshold policy (whose actions the world does not read); a positive ridge, so every
    solve is defined.
    """
    agent = sole_agent(spec, "retention", RetentionWorld, METRICS)
    if agent is None:
        return False
    model = agent.model.params
    return (
        agent.model.kind == "linear-erm"
        and model.get("objective", "erm") in ("erm", "worst-group")
        and float(model.get("ridge", 1e-6)) > 0
        and agent.policy.kind == "threshold"
        and agent.gate is None
        and not agent.monitors
        and agent.data.window in ("all", "sliding")
        and agent.retrain.mode in ("auto", "refit")
        and agent.retrain.after_rows is None
        and agent.retrain.every is not None
    )


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its held-out users, window and metrics."""
    params = spec.environment.params
    k, d = len(params["coefficients"]), len(params["coefficients"][0])
    held_out = k * int(params.get("eval_size", 2000)) * (d + 3)
    size = spec.agents[0].data.size
    window = (size if spec.agents[0].data.window == "sliding" and size else 10_000) * (d + 2)
    days = max(1, math.ceil(spec.horizon))
    return 8 * (held_out + 2 * window + days * (4 * k + 1))


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    from feedbacksim.core.registry import registry

    agent = spec.agents[0]
    world = registry.get("environment", "retention").build(spec.environment.params)
    world.rules = np.asarray(world.coefficients, dtype=float)  # what ``_draw`` reads
    model = registry.get("model", "linear-erm").build(agent.model.params)
    worst_group = model.objective == "worst-group"
    r, k = len(seeds), world.rules.shape[0]
    d = world.rules.shape[1]
    days = max(0, math.ceil(spec.horizon))
    size = agent.data.size if agent.data.window == "sliding" else None
    min_samples, every = agent.retrain.min_samples, float(agent.retrain.every)
    name = agent.name

    envs = [named_generator(seed, "environment") for seed in seeds]
    # The held-out users, drawn first from each replication's world stream (``start``).
    eval_groups = np.repeat(np.arange(k), world.eval_size)
    held_x = np.empty((r, eval_groups.shape[0], d + 1))
    held_y = np.empty((r, eval_groups.shape[0]))
    for i, rng in enumerate(envs):
        x, held_y[i] = world._draw(eval_groups, rng)
        held_x[i] = np.column_stack([x, eval_groups])
    held_features = held_x[:, :, :-1]
    labels_k = np.arange(k)
    per_group = np.bincount(eval_groups, None, k)

    windows = _Windows(r, d + 1, size)
    events: list[list[tuple[float, str, str, str]]] = [[] for _ in range(r)]
    coef = np.zeros((r, d))
    fitted = np.zeros(r, dtype=bool)

    def retrain(now: float) -> None:
        start, n = windows.spans()
        ready = np.flatnonzero(n >= min_samples)
        for i in np.flatnonzero(n < min_samples):
            why = f"too few rows: {n[i]} < min_samples {min_samples}"
            events[i].append((now, "retrain_skipped", name, why))
        if worst_group:
            for i in ready:
                rows = slice(start[i], start[i] + n[i])
                coef[i] = model.fit(windows.x[i, rows], windows.y[i, rows]).coef_
        else:
            ridge = model.ridge * np.eye(d)
            for rows in np.unique(n[ready]):
                same = ready[n[ready] == rows]
                at = start[same][:, None] + np.arange(rows)
                w = windows.x[same[:, None], at][:, :, :-1]
                wt = np.swapaxes(w, 1, 2)
                xy = wt @ windows.y[same[:, None], at][:, :, None]
                coef[same] = np.linalg.solve(wt @ w + ridge, xy)[:, :, 0]
        fitted[ready] = True
        for i in ready:
            events[i].append((now, "retrain", name, f"rows={n[i]}"))

    if agent.pretrain.samples:
        for i, seed in enumerate(seeds):
            rng = named_generator(seed, f"pretrain:{name}")
            x, y, _ = world.history_sample(agent.pretrain.samples, rng)
            windows.add(np.full(y.shape[0], i), x, y)
        retrain(0.0)

    users = np.tile(np.asarray(world.initial_users, dtype=float), (r, 1))
    arrivals = np.asarray(world.new_users, dtype=float)
    recorded = {m: np.empty((r, days, k)) for m in METRICS if m != "worst_group_risk"}
    worst = np.empty((r, days, 1))
    unfitted = float(agent.unfitted_score)
    day, last = 0, 0.0

    def step() -> None:
        nonlocal day, last
        t = day
        if t - last >= every:  # the agent's schedule, checked before its decision
            last = float(t)
            retrain(last)
        scores = (held_features @ coef[:, :, None])[:, :, 0]
        scores[~fitted] = unfitted
        loss = (scores - held_y) ** 2
        # Each (replication, group) block of held-out users is contiguous: its running sum
        # adds the losses in the order of the serial ``bincount``.
        risk = loss.reshape(r, k, -1).cumsum(axis=2)[:, :, -1] / per_group
        np.divide(users, users.sum(axis=1, keepdims=True), out=recorded["population_share"][:, t])
        recorded["expected_users"][:, t] = users
        recorded["risk"][:, t] = risk
        worst[:, t, 0] = risk.max(axis=1)
        arrived = recorded["users"][:, t]
        drawn, labels = [], []
        for i, rng in enumerate(envs):
            came = rng.poisson(users[i])
            arrived[i] = came
            labels.append(rng.permutation(np.repeat(labels_k, came)))
            # ``_draw``'s two calls, x (m, d) then the noise (m,), in one.
            drawn.append(rng.standard_normal(labels[-1].shape[0] * (d + 1)))
        came_n = np.array([g.shape[0] for g in labels])
        owner = np.repeat(np.arange(r), came_n)
        groups = np.concatenate(labels)
        # ``_draw`` per row over every replication's rows: x (m, d) is each block's head.
        x, noise = _split(drawn, came_n, d)
        y = np.einsum("ij,ij->i", x, world.rules[groups]) + world.noise_sd * noise
        windows.add(owner, np.column_stack([x, groups]), y)
        users[...] = users * np.clip(1.0 - risk, 0.0, 1.0) + arrivals
        day = t + 1

    step_every_unit(step, spec.horizon)  # one simpy event per round advances every replication

    times = np.arange(days, dtype=float)
    groups_ = tuple(str(g) for g in range(k))
    scales = world.scales()
    traces = []
    for i, index in enumerate(indices):
        metrics = {
            m: MetricSeries(m, groups_, times, recorded[m][i])
            for m in ("population_share", "expected_users", "users", "risk")
        }
        metrics["worst_group_risk"] = MetricSeries("worst_group_risk", ("",), times, worst[i])
        metadata = {
            "scenario": spec.name,
            "replication": index,
            METRIC_SCALES: dict(scales),
            "deployed": {name: bool(fitted[i])},
        }
        traces.append(Trace({m: metrics[m] for m in METRICS}, events[i], metadata))
    return traces


def _split(drawn: list[np.ndarray], counts: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Each replication's ``standard_normal(m * (d + 1))`` as ``_draw``'s x (m, d) and noise (m,), stacked."""
    x = np.concatenate([v[: m * d] for v, m in zip(drawn, counts, strict=True)]).reshape(-1, d)
    noise = np.concatenate([v[m * d :] for v, m in zip(drawn, counts, strict=True)])
    return x, noise


class _Windows:
    """Every replication's training rows in one (R, capacity, columns) buffer, in arrival order.

    A sliding window is the last ``size`` rows of its replication (``None``: every row);
    the buffer drops older rows when it fills, as :class:`~feedbacksim.core.training_data.TrainingData`
    does.
    """

    def __init__(self, r: int, columns: int, size: int | None) -> None:
        self.size = size
        capacity = 2 * (size or 512) + 1024
        self.x = np.empty((r, capacity, columns))
        self.y = np.empty((r, capacity))
        self.n = np.zeros(r, dtype=np.int64)

    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Where each replication's window starts in the buffer, and its rows."""
        start = self.n - self.size if self.size is not None else np.zeros_like(self.n)
        start = np.maximum(start, 0)
        return start, self.n - start

    def add(self, owner: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Append rows ``x, y``, row j to replication ``owner[j]`` (``owner`` sorted)."""
        counts = np.bincount(owner, minlength=self.n.shape[0])
        if (self.n + counts).max(initial=0) > self.x.shape[1]:
            self._make_room(counts)
        first = np.cumsum(counts) - counts
        at = self.n[owner] + np.arange(owner.shape[0]) - first[owner]
        self.x[owner, at] = x
        self.y[owner, at] = y
        self.n += counts

    def _make_room(self, counts: np.ndarray) -> None:
        if self.size is not None:  # keep each window's last ``size`` rows only
            start, n = self.spans()
            for i in np.flatnonzero(start):
                self.x[i, : n[i]] = self.x[i, start[i] : self.n[i]].copy()
                self.y[i, : n[i]] = self.y[i, start[i] : self.n[i]].copy()
            self.n = n
        need = int((self.n + counts).max())
        if need > self.x.shape[1]:
            capacity = max(need, 2 * self.x.shape[1])
            grown_x = np.empty((self.x.shape[0], capacity, self.x.shape[2]))
            grown_y = np.empty((self.y.shape[0], capacity))
            grown_x[:, : self.x.shape[1]] = self.x
            grown_y[:, : self.y.shape[1]] = self.y
            self.x, self.y = grown_x, grown_y
