"""Attention allocation (the policing world with a ``censored-poisson`` model) for R replications at once.

D'Amour et al.'s setting (``scenarios/attention_dynamic.yaml``): several patrols a day,
a discovery cap per patrol, rates that answer the allocation, a dispatcher that refits
each region's censored-Poisson rate on a window of days and allocates greedily or in
proportion. State shaped (R, regions): the true rates, the deployed estimates, the
running missed counts; the recorded (R, T, regions) arrays double as the training data,
since the dispatcher observes at most one row per region and day.

Replication i is bit-identical to replication i of the serial path. Its draws come from
its own streams in the serial order: each day the policy's draws from
``agent:<dispatcher>`` (greedy: the tie-breaking jitter and the exploration draw in one
``random`` call, then ``integers`` on exploring days; proportional: ``random`` then
``multinomial``) and the incidents from ``environment`` (``poisson(rates)`` or
``random(regions)``). Their outcome sizes or parameters follow the state, so those calls
are made per replication; the rest of the day is numpy over the batch, element by element
the serial arithmetic (the Poisson tails of the greedy marginals, a stable ``lexsort``
along the last axis, the shares, discoveries, rate updates and running means). A refit
calls the model's own ``fit`` per replication on that replication's rows of the window,
in the serial row order (day, then region).

Batched: ``discoveries_per_patrol`` and ``dynamic_rate`` of any value, Poisson or
Bernoulli discovery, no public reporting; a ``censored-poisson`` model refitted on an
``all`` window on a schedule; ``greedy`` with ``exploration: allocation`` (or no
exploration) and ``proportional`` with ``exploration: allocation`` (or several patrols
and no exploration). Anything else runs serially.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.environment import step_every_unit
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import Trace
from feedbacksim.worlds.batch_spec import sole_agent
from feedbacksim.worlds.policing import PolicingWorld
from feedbacksim.worlds.policing_batch import METRICS
from feedbacksim.worlds.refit_batch import make_traces

special = lazy_module("scipy.special")

#: The kernel checks the agent's retrain rule, window and pretraining itself.
OWN_AGENT_RULES = True


def supports(spec: Any) -> bool:
    """Whether ``spec`` is one censored-Poisson dispatcher the kernel reproduces exactly."""
    agent = sole_agent(spec, "policing", PolicingWorld, METRICS)
    if agent is None:
        return False
    params = spec.environment.params
    policy = agent.policy.params()
    epsilon = float(policy.get("epsilon", 0.0))
    allocation = policy.get("exploration", "unit") == "allocation"
    units = int(params.get("patrols_per_day", 1))
    if agent.policy.kind == "greedy":
        policy_ok = allocation or epsilon == 0
    elif agent.policy.kind == "proportional":
        policy_ok = (allocation and epsilon > 0) or (epsilon == 0 and units > 1)
    else:
        policy_ok = False
    return bool(
        policy_ok
        and set(policy) <= {"epsilon", "exploration"}
        and isinstance(params.get("incident_rates"), list)
        and params.get("allocation_features", False)
        and params.get("reporting_rate", 0.0) == 0
        and agent.model.kind == "censored-poisson"
        and agent.gate is None
        and not agent.monitors
        and agent.pretrain.samples == 0
        and agent.data.window == "all"
        and agent.retrain.mode in ("auto", "refit")
        and agent.retrain.after_rows is None
        and agent.retrain.every is not None
    )


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its recorded metrics and running state."""
    days = max(1, math.ceil(spec.horizon))
    regions = len(spec.environment.params["incident_rates"])
    return 8 * (days * regions * (len(METRICS) + 1) + 16 * regions)


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    from feedbacksim.core.registry import registry

    agent = spec.agents[0]
    world = registry.get("environment", "policing").build(spec.environment.params)
    model = registry.get("model", "censored-poisson").build(agent.model.params)
    policy = agent.policy.params()
    epsilon = float(policy.get("epsilon", 0.0))
    greedy = agent.policy.kind == "greedy"
    explore_all = policy.get("exploration", "unit") == "allocation" and epsilon > 0
    units = int(world.patrols_per_day)
    cap = world.discoveries_per_patrol
    dynamic = float(world.dynamic_rate)
    poisson = world.discovery == "poisson"
    every, min_samples = float(agent.retrain.every), agent.retrain.min_samples
    window = float(model.window_days)
    name = agent.name
    r = len(seeds)
    rates0 = np.asarray(world.incident_rates, dtype=float)
    k = rates0.shape[0]
    days = max(0, math.ceil(spec.horizon))

    envs = [named_generator(seed, "environment") for seed in seeds]
    agents = [named_generator(seed, f"agent:{name}") for seed in seeds]
    rates = np.tile(rates0, (r, 1))
    true_share = np.tile(rates0 / rates0.sum(), (r, 1))
    estimate = np.tile(model.rates_, (r, 1))  # the prior until the first fit after warm-up
    missed_total = np.zeros((r, k))
    rows_seen = np.zeros(r, dtype=np.int64)
    recorded = {m: np.empty((r, days, k)) for m in METRICS}
    events: list[list[tuple[float, str, str, str]]] = [[] for _ in range(r)]
    regions = np.arange(k)
    region_col = regions.astype(float)
    tails_at = np.arange(units)[None, None, :]
    uniform = np.full(k, 1.0 / k)
    day, last = 0, 0.0

    def refit(t: int) -> None:
        lo = max(0, math.floor(t - 1 - window))  # the fit keeps days > (t - 1) - window_days
        for i in range(r):
            n = int(rows_seen[i])
            if n < min_samples:
                why = f"too few rows: {n} < min_samples {min_samples}"
                events[i].append((float(t), "retrain_skipped", name, why))
                continue
            sent = recorded["patrols"][i, lo:t]
            when, where = np.nonzero(sent > 0)  # the serial rows: day by day, region order
            caps = cap * sent[when, where] if cap is not None else np.full(when.shape[0], -1.0)
            x = np.column_stack([region_col[where], caps, (when + lo).astype(float)])
            estimate[i] = model.fit(x, recorded["discovered"][i, lo:t][when, where]).rates_
            events[i].append((float(t), "retrain", name, f"rows={n}"))

    def step() -> None:
        nonlocal day, last
        t = day
        if t - last >= every:  # the agent's schedule, checked before its decision
            last = float(t)
            refit(t)
        scores = estimate
        share = recorded["patrol_share"][:, t]
        if greedy:
            marginal = special.pdtrc(tails_at, np.maximum(scores, 0.0)[:, :, None])
            draws = np.stack([g.random(k * units + explore_all) for g in agents])
            jitter = draws[:, : k * units]
            order = np.lexsort((jitter, -marginal.reshape(r, -1)), axis=-1)[:, :units]
            chosen = order // units
            if explore_all:
                for j in np.flatnonzero(draws[:, -1] < epsilon):
                    chosen[j] = agents[j].integers(0, k, size=units)
            actions = (chosen[:, :, None] == regions).sum(axis=1)
            greedy_share = (order[:, :, None] // units == regions).sum(axis=1) / units
            share[...] = (1.0 - epsilon) * greedy_share + epsilon / k
        else:
            beliefs = _shares(scores)
            share[...] = beliefs if epsilon == 0 else (1.0 - epsilon) * beliefs + epsilon / k
            actions = np.empty((r, k), dtype=np.int64)
            for i, g in enumerate(agents):
                explore = explore_all and g.random() < epsilon
                actions[i] = g.multinomial(units, uniform if explore else beliefs[i])
        recorded["patrols"][:, t] = actions
        patrolled = actions > 0
        if poisson:
            incidents = np.stack([g.poisson(rates[i]) for i, g in enumerate(envs)]).astype(float)
        else:
            incidents = (np.stack([g.random(k) for g in envs]) < rates).astype(float)
        discovered = np.where(patrolled, incidents, 0.0)
        if cap is not None:
            discovered = np.minimum(discovered, cap * actions)
        missed = incidents - discovered
        if dynamic > 0:  # the day's shares, then the rates answer the allocation
            total = rates.sum(axis=1, keepdims=True)
            true_share[...] = uniform
            np.divide(rates, total, out=true_share, where=total > 0)
        recorded["true_incident_share"][:, t] = true_share
        recorded["discovered"][:, t] = discovered
        recorded["missed"][:, t] = missed
        recorded["incident_rate"][:, t] = rates
        if dynamic > 0:
            rates[...] = np.maximum(
                0.0, np.where(patrolled, rates - dynamic * actions, rates + dynamic)
            )
        rows_seen[...] += patrolled.sum(axis=1)
        missed_total[...] += missed
        np.divide(missed_total, t + 1, out=recorded["mean_missed"][:, t])
        day = t + 1

    step_every_unit(step, spec.horizon)  # one simpy event per day advances every replication

    groups = tuple(str(g) for g in range(k))
    series = {m: (groups, recorded[m]) for m in METRICS}
    return make_traces(spec, indices, series, events, world.scales())


def _shares(scores: np.ndarray) -> np.ndarray:
    """``_allocation_probabilities(scores, 0.0)`` per replication (rows of ``scores``)."""
    scores = np.maximum(scores, 0.0)
    total = scores.sum(axis=1, keepdims=True)
    out = np.full(scores.shape, 1.0 / scores.shape[1])
    np.divide(scores, total, out=out, where=total > 0)
    return out
