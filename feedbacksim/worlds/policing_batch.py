"""The policing urn advanced for R replications at once: state shaped (R, regions).

The serial path builds one Simulation per replication and pays the framework's fixed cost
per replication-day (a simpy event, the agent's retrain check, a ``partial_fit``, the
policy, six ``record`` calls): about 50 us. Here one simpy event advances every
replication by a day with a handful of numpy operations over the (R, regions) state.

Replication i is bit-identical to replication i of the serial path: it draws from its
own two streams (``environment`` and ``agent:<dispatcher>`` of its SeedSequence), and
those streams are consumed exactly as the serial world, policy and model consume them —
the world one ``random(regions)`` a day (Bernoulli discovery), the proportional policy
one ``random()`` a day (its inverse-CDF draw) — so drawing a replication's whole horizon
in one call gives the very same numbers. The arithmetic is the serial path's, element by
element (shares ``counts / counts.sum()``, the CDF summed left to right, the
``bisect_right`` of ``u * cdf[-1]``), so every recorded value is the same float.

Only the configuration whose draws are that simple is batched (see :func:`supports`);
anything else (Poisson discovery, reporting, dynamic rates, several patrols, the
correction's thinning draws, gates, pretraining, stop conditions) runs serially.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.environment import step_every_unit
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import METRIC_SCALES, EventLog, MetricSeries, Trace
from feedbacksim.worlds.batch_spec import sole_agent
from feedbacksim.worlds.policing import PolicingWorld

#: The metrics the kernel records, in the world's declaration order. A metric the world
#: gains and the kernel does not fill makes :func:`supports` false (the serial path runs).
METRICS = (
    "patrol_share",
    "patrols",
    "true_incident_share",
    "discovered",
    "missed",
    "incident_rate",
    "mean_missed",
)


def supports(spec: Any) -> bool:
    """Whether the world, model and policy of ``spec`` are ones the batched urn reproduces.

    The agent's own rules (one agent, an incremental update every whole number of days,
    no gate) are checked by :func:`feedbacksim.run.batched.batchable`.
    """
    agent = sole_agent(spec, "policing", PolicingWorld, METRICS)
    if agent is None:
        return False
    params = spec.environment.params
    rates = params.get("incident_rates")
    if not (
        isinstance(rates, list)
        and params.get("discovery", "bernoulli") == "bernoulli"
        and params.get("patrols_per_day", 1) == 1
        and params.get("reporting_rate", 0.0) == 0
        and params.get("dynamic_rate", 0.0) == 0
        and params.get("discoveries_per_patrol") is None
    ):
        return False
    model, policy = agent.model, agent.policy
    counts = model.params.get("prior_counts")
    return (
        model.kind == "incident-count"
        and not model.params.get("correction", False)
        and isinstance(counts, list)
        and len(counts) == len(rates)
        and policy.kind == "proportional"
        and set(policy.params()) <= {"epsilon"}
    )


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its recorded metrics and its drawn numbers."""
    days = max(1, math.ceil(spec.horizon))
    regions = len(spec.environment.params["incident_rates"])
    return 8 * days * (regions * (len(METRICS) + 1) + 1)  # + the incidents


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    env, agent = spec.environment.params, spec.agents[0]
    rates = np.asarray(env["incident_rates"], dtype=float)
    prior = np.asarray(agent.model.params["prior_counts"], dtype=float)
    epsilon = float(agent.policy.params().get("epsilon", 0.0))
    every = int(agent.retrain.every)
    days = max(0, math.ceil(spec.horizon))
    r, k = len(seeds), rates.shape[0]

    # Every replication's draws for the whole horizon, from its own streams.
    incidents_u = np.empty((days, r, k))
    choice_u = np.empty((days, r))
    for i, seed in enumerate(seeds):
        incidents_u[:, i, :] = named_generator(seed, "environment").random((days, k))
        choice_u[:, i] = named_generator(seed, f"agent:{agent.name}").random(days)

    counts = np.tile(prior, (r, 1))
    unlearned = np.zeros((r, k))  # discoveries observed since the last update
    # (T, R, regions), so that each day writes one contiguous block; replication i's trace
    # holds (T, regions) views into them, copied only when stored or sent to another process.
    recorded = {m: np.empty((days, r, k)) for m in METRICS if m != "mean_missed"}
    # What does not feed back is computed for the whole horizon outside the daily loop:
    # the incidents (the serial world's ``random(regions) < rates``), and from them and
    # the day's discoveries the misses and their running mean (``cumsum`` adds day after
    # day, as the serial world's running total does).
    incidents = np.less(incidents_u, rates, out=incidents_u, casting="unsafe")  # 0.0 / 1.0
    recorded["true_incident_share"][...] = rates / rates.sum()
    recorded["incident_rate"][...] = rates
    shares, patrols = recorded["patrol_share"], recorded["patrols"]
    discovered = recorded["discovered"]
    regions = np.arange(k)
    last = k - 1
    state = {"day": 0}

    def step() -> None:
        t = state["day"]
        if t > 0 and t % every == 0:  # the retrain rule: every ``every`` days, from day 0
            counts[...] += unlearned
            unlearned[...] = 0.0
        p = _allocation(counts, epsilon, k, out=shares[t])
        if k == 2:
            # The inverse CDF below for two regions: region 1 when p0 <= u (p0 + p1); the
            # second comparison, (p0 + p1) <= u (p0 + p1), holds only when the first does.
            chosen: np.ndarray = p[:, 0] <= choice_u[t] * (p[:, 0] + p[:, 1])
        else:
            cdf = np.cumsum(p, axis=1)
            chosen = np.minimum((cdf <= (choice_u[t] * cdf[:, -1])[:, None]).sum(axis=1), last)
        actions = np.equal(chosen[:, None], regions, out=patrols[t], casting="unsafe")
        # 0/1 times 0/1: the serial ``where(patrolled, incidents, 0.0)``, float for float.
        np.multiply(actions, incidents[t], out=discovered[t])
        np.add(unlearned, discovered[t], out=unlearned)  # only the patrolled region is observed
        state["day"] = t + 1

    step_every_unit(step, spec.horizon)  # one simpy event per day advances every replication
    missed = np.subtract(incidents, discovered, out=recorded["missed"])
    running = np.cumsum(missed, axis=0)
    np.divide(running, np.arange(1, days + 1, dtype=float)[:, None, None], out=running)
    recorded["mean_missed"] = running

    times = np.arange(days, dtype=float)
    groups = tuple(str(g) for g in range(k))
    retrain_days = [float(t) for t in range(every, days, every)]
    events = EventLog.shared([(t, "retrain", agent.name, f"rows={every}") for t in retrain_days])
    scales = PolicingWorld(**spec.environment.params).scales()  # as the serial world declares
    traces = []
    for i, index in enumerate(indices):
        metrics = {m: MetricSeries(m, groups, times, recorded[m][:, i]) for m in METRICS}
        metadata = {"scenario": spec.name, "replication": index, METRIC_SCALES: dict(scales)}
        traces.append(Trace(metrics, events, metadata))
    return traces


def _allocation(counts: np.ndarray, epsilon: float, k: int, out: np.ndarray) -> np.ndarray:
    """The proportional policy's shares per replication (``_allocation_probabilities``, row-wise)."""
    total = counts.sum(axis=1, keepdims=True)
    out[...] = 1.0 / k  # a zero total: uniform shares
    np.divide(counts, total, out=out, where=total > 0)
    if epsilon > 0:
        out *= 1.0 - epsilon
        out += epsilon / k
    return out
