"""The repricing war (``pricing``) advanced for R replications at once: state shaped (R,).

The serial world asks two agents for a price once a cycle, from cycle 1 on: seller A
prices at its rule's factor times B's last price, then B at its factor times A's new
price, each capped at its ``max_price`` when set. Nothing draws from a random stream
(``set-value`` acts with the score itself), so replication i is the serial run bit for
bit when the kernel multiplies and caps as :class:`~feedbacksim.worlds.pricing.RepricingRule`
does, in the same order, and floors the ceiling excess as the world's Python ``max``
does. Each cycle is a handful of numpy operations over (R,) prices.

The two agents never observe a row (the world delivers none), so each retrain their
schedule calls (``every``, checked before each decision, A's before B's) is a
``retrain_skipped`` for too few rows when it refits, and nothing at all when it updates
incrementally (no new rows): the kernel writes those events itself and checks the agents'
rules (``OWN_AGENT_RULES``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.trace import METRIC_SCALES, EventLog, MetricSeries, Trace
from feedbacksim.worlds.pricing import RepricingWorld

#: The metrics the kernel records; a metric the world gains makes :func:`supports` false.
METRICS = ("price", "max_price", "ceiling_excess")
#: The kernel checks both agents' rules itself (two agents).
OWN_AGENT_RULES = True


def _sellers(spec: Any) -> tuple[Any, Any] | None:
    """The agent specs of seller A and seller B as the world picks them, or ``None``."""
    params = spec.environment.params
    by_name = {a.name: a for a in spec.agents}
    picked = []
    for key, position in (("seller_a", 0), ("seller_b", 1)):
        name = params.get(key)
        if name is None:
            picked.append(spec.agents[position])
        elif name in by_name:
            picked.append(by_name[name])
        else:
            return None
    return picked[0], picked[1]


def supports(spec: Any) -> bool:
    """Whether ``spec`` is two distinct ``repricer`` agents with ``set-value`` policies.

    Any retrain schedule (``every``, ``after_rows``, ``min_samples``, mode) and window:
    no row is ever observed, so none of them deploys anything. No gate (its hold-out
    would run on each refit), monitors or pretraining.
    """
    env = spec.environment
    if env.kind != "pricing" or tuple(RepricingWorld.metrics) != METRICS:
        return False
    if len(spec.agents) != 2:
        return False
    sellers = _sellers(spec)
    if sellers is None or sellers[0].name == sellers[1].name:
        return False
    return all(
        agent.model.kind == "repricer"
        and agent.policy.kind == "set-value"
        and agent.gate is None
        and not agent.monitors
        and agent.pretrain.samples == 0
        for agent in spec.agents
    )


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its four recorded values a cycle."""
    return 8 * max(1, math.ceil(spec.horizon)) * 8


def _schedule(agent: Any, cycles: Sequence[float]) -> list[tuple[float, str, str, str]]:
    """The events of ``agent``'s retrain schedule at its decisions (``cycles``)."""
    every = agent.retrain.every
    refit = agent.retrain.mode != "incremental"  # a repricer has no ``partial_fit``
    if every is None or not refit:
        return []
    why = f"too few rows: 0 < min_samples {agent.retrain.min_samples}"
    events, last = [], 0.0
    for now in cycles:
        if now - last >= every:  # ``Agent.retrain_if_due``
            last = now
            events.append((now, "retrain_skipped", agent.name, why))
    return events


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``; nothing draws), advanced together."""
    from feedbacksim.core.registry import registry

    world = RepricingWorld(**spec.environment.params)
    seller_a, seller_b = _sellers(spec)  # type: ignore[misc]
    rule_a = registry.get("model", "repricer").build(seller_a.model.params)
    rule_b = registry.get("model", "repricer").build(seller_b.model.params)
    r = len(seeds)
    cycles = max(0, math.ceil(spec.horizon) - 1)  # every(1.0, start=1.0): times 1, 2, ...
    price = np.empty((r, cycles, 2))
    highest = np.empty((r, cycles, 1))
    price_b = np.full(r, float(world.initial_price))
    with np.errstate(over="ignore"):  # a runaway price reaches inf, as serially
        for t in range(cycles):
            # ``RepricingRule.predict``: factor times the competitor's price, then the cap.
            price_a = rule_a.factor * price_b
            if rule_a.max_price is not None:
                price_a = np.minimum(price_a, rule_a.max_price)
            price_b = rule_b.factor * price_a
            if rule_b.max_price is not None:
                price_b = np.minimum(price_b, rule_b.max_price)
            price[:, t, 0], price[:, t, 1] = price_a, price_b
            # Python's ``max(a, b)``: b only when it is larger.
            highest[:, t, 0] = np.where(price_b > price_a, price_b, price_a)
    with np.errstate(divide="ignore"):  # a price that underflowed to 0 records 0
        excess = np.where(highest > 0, np.log(highest) - np.log(world.price_ceiling), 0.0)
    # ``max(0.0, excess)``: the excess only when it is above 0 (a NaN gives 0.0).
    excess = np.where(excess > 0.0, excess, 0.0)

    times = np.arange(1, cycles + 1, dtype=float)
    days = times.tolist()
    events_a, events_b = _schedule(seller_a, days), _schedule(seller_b, days)
    # Within a cycle A decides (and retrains) before B.
    log = EventLog.shared(sorted(events_a + events_b, key=lambda e: (e[0], e[2] != seller_a.name)))
    scales = world.scales()
    traces = []
    for i, index in enumerate(indices):
        metrics = {
            "price": MetricSeries("price", ("a", "b"), times, price[i]),
            "max_price": MetricSeries("max_price", ("",), times, highest[i]),
            "ceiling_excess": MetricSeries("ceiling_excess", ("",), times, excess[i]),
        }
        metadata = {"scenario": spec.name, "replication": index, METRIC_SCALES: dict(scales)}
        traces.append(Trace(metrics, log, metadata))
    return traces
