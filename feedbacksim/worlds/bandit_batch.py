"""The Bernoulli bandit with a greedy Beta-Bernoulli player, for R replications at once.

State shaped (R, arms): the player's success and pull counts. As in
:mod:`feedbacksim.worlds.policing_batch`, replication i is bit-identical to the serial
path's replication i: each day the serial player's top-1 policy draws ``random(arms)``
tie-breaking jitter from the agent's stream and the world draws ``random(arms)`` rewards
from its own, so drawing a replication's whole horizon at once gives the same numbers; the
greedy choice is the serial one (highest posterior mean, ties to the smallest jitter, then
to the lowest arm), and the counts, estimates, shares and regret are the same floats.

Batched: ``top-k`` with k = 1 and no exploration, ``beta-bernoulli`` model, a retrain every
whole number of rounds; anything else runs serially.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.environment import step_every_unit
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import METRIC_SCALES, EventLog, MetricSeries, Trace
from feedbacksim.worlds.bandit import BanditWorld
from feedbacksim.worlds.batch_spec import sole_agent

#: The metrics the kernel records; a metric the world gains makes :func:`supports` false.
METRICS = ("estimate", "best_arm_share", "regret")


def supports(spec: Any) -> bool:
    """Whether the world, model and policy of ``spec`` are ones the batched bandit reproduces.

    The agent's own rules are checked by :func:`feedbacksim.run.batched.batchable`.
    """
    agent = sole_agent(spec, "bandit", BanditWorld, METRICS)
    if agent is None:
        return False
    policy = agent.policy.params()
    return (
        isinstance(spec.environment.params.get("success_rates"), list)
        and agent.model.kind == "beta-bernoulli"
        and agent.policy.kind == "top-k"
        and policy.get("k", 1) in (None, 1)
        and policy.get("epsilon", 0.0) == 0
        and set(policy) <= {"k", "epsilon"}
    )


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its recorded metrics and its drawn numbers."""
    days = max(1, math.ceil(spec.horizon))
    arms = len(spec.environment.params["success_rates"])
    return 8 * days * (3 * arms + 2)


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    agent = spec.agents[0]
    rates = np.asarray(spec.environment.params["success_rates"], dtype=float)
    params = agent.model.params
    a, b = params.get("prior_successes", 1.0), params.get("prior_failures", 1.0)
    every = int(agent.retrain.every)
    days = max(0, math.ceil(spec.horizon))
    r, k = len(seeds), rates.shape[0]

    jitter = np.empty((days, r, k))
    rewards_u = np.empty((days, r, k))
    for i, seed in enumerate(seeds):
        jitter[:, i, :] = named_generator(seed, f"agent:{agent.name}").random((days, k))
        rewards_u[:, i, :] = named_generator(seed, "environment").random((days, k))

    best, gap = int(np.argmax(rates)), rates.max() - rates
    successes, pulls = np.zeros((r, k)), np.zeros((r, k))
    new_successes, new_pulls = np.zeros((r, k)), np.zeros((r, k))  # since the last update
    total_pulls = 0
    best_pulls = np.zeros(r, dtype=np.int64)
    regret = np.zeros(r)
    estimate = np.empty((r, days, k))
    share = np.empty((r, days, 1))
    regrets = np.empty((r, days, 1))
    rows, arms = np.arange(r), np.arange(k)
    state = {"day": 0}

    def step() -> None:
        nonlocal total_pulls
        t = state["day"]
        if t > 0 and t % every == 0:
            successes[...] += new_successes
            pulls[...] += new_pulls
            new_successes[...] = 0.0
            new_pulls[...] = 0.0
        scores = np.divide(a + successes, a + b + pulls, out=estimate[:, t])
        # Greedy: the highest estimate; among ties the smallest jitter; then the lowest arm.
        tied = scores == scores.max(axis=1, keepdims=True)
        chosen = np.where(tied, jitter[t], np.inf).argmin(axis=1)
        pulled = chosen[:, None] == arms
        reward = rewards_u[t, rows, chosen] < rates[chosen]
        new_pulls[pulled] += 1.0
        new_successes[pulled] += reward
        total_pulls += 1
        best_pulls[...] += chosen == best
        regret[...] += gap[chosen]
        share[:, t, 0] = best_pulls / total_pulls
        regrets[:, t, 0] = regret
        state["day"] = t + 1

    step_every_unit(step, spec.horizon)  # one simpy event per round advances every replication

    times = np.arange(days, dtype=float)
    groups = tuple(str(g) for g in range(k))
    events = EventLog.shared(
        [(float(t), "retrain", agent.name, f"rows={every}") for t in range(every, days, every)]
    )
    scales = BanditWorld(**spec.environment.params).scales()  # as the serial world declares
    traces = []
    for i, index in enumerate(indices):
        metrics = {
            "estimate": MetricSeries("estimate", groups, times, estimate[i]),
            "best_arm_share": MetricSeries("best_arm_share", ("",), times, share[i]),
            "regret": MetricSeries("regret", ("",), times, regrets[i]),
        }
        metadata = {"scenario": spec.name, "replication": index, METRIC_SCALES: dict(scales)}
        traces.append(Trace(metrics, events, metadata))
    return traces
