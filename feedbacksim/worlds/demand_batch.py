"""The demand world (censored sales) advanced for R replications at once: state (R, products).

One simpy event advances every replication by a day: forecast, stock, sales and the
recorded ratios are numpy over (R, products) arrays, and the refit every ``every`` days
fits all replications' windows at once.

Replication i is bit-identical to replication i of the serial path:

* the world's only draws are each day's ``poisson(level * seasonal factor)``, whose
  means do not depend on any decision, so a replication's whole horizon is drawn in one
  ``poisson`` call on its ``environment`` stream (numpy draws an array of means element
  by element, in order, as the serial days do one row at a time);
* the pretraining sample is the world's own ``history_sample`` on the replication's
  ``pretrain:<agent>`` stream, once per replication;
* the refit is the ``poisson-demand`` model's, written over the batch: the per-product
  sums are ``bincount`` over the window's rows in their serial order (one bin per
  replication and product), and the censored MLE (``censoring: mle``) is the model's
  bisection, whose every operation is elementwise (numpy's ``exp`` and ``log``, scipy's
  ``gammaln`` and ``pdtrc``) or such a sum, run for every replication's products at once.
  A replication whose window has no sold-out day takes the naive estimate, as the model
  does;
* the order-up-to policy's stock (the forecast mean, or scipy's Poisson ``ppf`` at the
  service level) and the recorded means and ratios are the serial expressions row-wise.

Batched: the ``poisson-demand`` model refitted (``auto`` or ``refit``) on all rows or a
sliding window of at least one day of products, pretrained on at least one day of
products or first fitted before the horizon, every fit with ``min_samples`` rows; the
``order-up-to`` policy. The model's bisection constants are restated here
(:data:`MIN_LEVEL`, :data:`MAX_LEVEL`, :data:`BISECTION_STEPS`; a world does not import
a model) and tested equal to the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.core.environment import step_every_unit
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import Trace
from feedbacksim.worlds.batch_spec import sole_agent
from feedbacksim.worlds.demand import DemandWorld, seasonal_factors
from feedbacksim.worlds.refit_batch import (
    horizon_days,
    make_traces,
    model_of,
    refits_on_window,
    retrain_days,
    retrain_events,
    window_rows,
)

if TYPE_CHECKING:
    from scipy import special, stats
else:
    special = lazy_module("scipy.special")
    stats = lazy_module("scipy.stats")

#: The metrics the kernel records, in the world's declaration order. A metric the world
#: gains and the kernel does not fill makes :func:`supports` false (the serial path runs).
METRICS = (
    "forecast_ratio",
    "stock_ratio",
    "fill_rate",
    "sellout_rate",
    "forecast_level",
    "true_level",
)
#: The censored MLE's bisection, as ``feedbacksim.models.poisson_demand`` runs it.
MIN_LEVEL, MAX_LEVEL = 1e-6, 1e6
BISECTION_STEPS = 30


def supports(spec: Any) -> bool:
    """Whether the world, model and policy of ``spec`` are ones the batched retailer reproduces.

    The agent's common rules are checked by :func:`feedbacksim.run.batched.batchable`,
    its training by :func:`supports_training`.
    """
    agent = sole_agent(spec, "demand", DemandWorld, METRICS)
    return (
        agent is not None
        and agent.model.kind == "poisson-demand"
        and agent.policy.kind == "order-up-to"
        and set(agent.policy.params()) <= {"service_level"}
    )


def supports_training(spec: Any) -> bool:
    """A refit on all rows or a sliding window of at least one day of products, every fit
    with ``min_samples`` rows and every product, and a model deployed by the end.

    The first model is the pretrained one (a sample of at least one row per product), or,
    without pretraining, the first refit's, which must fall before the horizon (a run
    that never deploys one is judged differently).
    """
    agent = spec.agents[0]
    products = len(DemandWorld(**spec.environment.params).levels)
    if not refits_on_window(spec):
        return False
    if agent.data.window == "sliding" and int(agent.data.size) < products:
        return False
    pretrain, every = agent.pretrain.samples, int(agent.retrain.every)
    if pretrain:
        first = window_rows(spec, pretrain)
        return pretrain >= products and first >= agent.retrain.min_samples
    first = window_rows(spec, every * products)
    return every < spec.horizon and first >= agent.retrain.min_samples


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: its rows (three columns), its draws, its metrics."""
    days = max(1, horizon_days(spec))
    products = len(DemandWorld(**spec.environment.params).levels)
    rows = spec.agents[0].pretrain.samples + days * products
    return 8 * (3 * rows + days * (3 * products + 4))


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    world = DemandWorld(**spec.environment.params)
    agent = spec.agents[0]
    levels = np.asarray(world.levels, dtype=float)
    k = levels.shape[0]
    censoring = model_of(spec).censoring
    service = agent.policy.params().get("service_level")
    pretrain, every = agent.pretrain.samples, int(agent.retrain.every)
    days = horizon_days(spec)
    r = len(seeds)

    factors = np.empty((days, k))
    for t in range(days):  # the world's own expression, day by day (``DemandWorld._factors``)
        factors[t] = seasonal_factors(float(t), k, world.season_amplitude, world.season_period)
    expected = levels * factors
    demand = np.empty((r, days, k))
    # The observed rows, (R, pretraining + T * products): the pretraining sample, then each
    # day's products in order, as the serial training data holds them.
    total = pretrain + days * k
    product = np.concatenate([np.arange(pretrain) % k, np.tile(np.arange(k), days)])
    exposure, sales, sold_out = np.empty((r, total)), np.empty((r, total)), np.empty((r, total))
    exposure[:, pretrain:] = factors.reshape(-1)
    for i, seed in enumerate(seeds):
        demand[i] = named_generator(seed, "environment").poisson(expected)
        if pretrain:
            rng = named_generator(seed, f"pretrain:{agent.name}")
            x, y, _ = world.history_sample(pretrain, rng)
            exposure[i, :pretrain] = x[:, 1]
            sales[i, :pretrain] = y
            sold_out[i, :pretrain] = x[:, 2]

    def refit(end: int) -> np.ndarray:
        start = end - window_rows(spec, end)
        columns = (exposure[:, start:end], sales[:, start:end], sold_out[:, start:end])
        return _fit(product[start:end], *columns, k, censoring)

    fitted = refit(pretrain) if pretrain else None
    recorded = {m: np.empty((r, days, k if m.endswith("_level") else 1)) for m in METRICS}
    recorded["true_level"][...] = levels
    state = {"day": 0}

    def step() -> None:
        nonlocal fitted
        t = state["day"]
        if t > 0 and t % every == 0:  # the retrain rule: every ``every`` days, from day 0
            fitted = refit(pretrain + t * k)
        f = factors[t]
        # ``levels_[product] * factor`` (product p is row p); before any model, the agent's
        # default score for every product.
        scores = np.full((r, k), float(agent.unfitted_score)) if fitted is None else fitted * f
        forecast = np.maximum(scores, 0.0)
        if service is None:
            stock = forecast
        else:
            stock = np.where(forecast > 0, stats.poisson.ppf(service, forecast), 0.0)
        wanted = demand[:, t]
        sold = np.minimum(wanted, stock)
        out = (wanted >= stock).astype(float)
        window = slice(pretrain + t * k, pretrain + (t + 1) * k)
        sales[:, window], sold_out[:, window] = sold, out
        np.mean(scores / expected[t], axis=1, out=recorded["forecast_ratio"][:, t, 0])
        np.mean(stock / expected[t], axis=1, out=recorded["stock_ratio"][:, t, 0])
        units, wants = sold.sum(axis=1), wanted.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            recorded["fill_rate"][:, t, 0] = np.where(wants > 0, units / wants, 1.0)
        np.mean(wanted >= stock, axis=1, out=recorded["sellout_rate"][:, t, 0])
        np.divide(scores, f, out=recorded["forecast_level"][:, t])
        state["day"] = t + 1

    step_every_unit(step, spec.horizon)  # one simpy event per day advances every replication

    single, products = ("",), tuple(str(p) for p in range(k))
    series = {m: (products if m.endswith("_level") else single, recorded[m]) for m in METRICS}
    refits = list(retrain_days(spec))
    rows = [window_rows(spec, pretrain + t * k) for t in refits]
    if pretrain:
        refits, rows = [0, *refits], [window_rows(spec, pretrain), *rows]
    logs = retrain_events(spec, refits, rows, None)
    return make_traces(spec, indices, series, logs, world.scales())


def _fit(
    product: np.ndarray,
    exposure: np.ndarray,
    sales: np.ndarray,
    sold_out: np.ndarray,
    k: int,
    censoring: str,
) -> np.ndarray:
    """Each replication's ``PoissonDemandModel.fit(...).levels_`` on its window, (R, k).

    ``product`` (the window's product of each row) is shared; the other columns are
    (R, rows). Replication i's products are bins i*k..(i+1)*k of one ``bincount``, which
    adds each bin's weights in row order, as the serial ``bincount`` does.
    """
    r = exposure.shape[0]
    bins = (product[None, :] + k * np.arange(r)[:, None]).ravel()
    x, y, out = exposure.ravel(), sales.ravel(), sold_out.ravel() > 0
    total_exposure = np.bincount(bins, x, minlength=r * k)
    naive = np.bincount(bins, y, minlength=r * k) / np.maximum(total_exposure, 1e-300)
    levels = naive
    if censoring != "ignore" and out.any():
        mle = _censored_mle(bins, x, y, out, naive, r * k)
        censored = out.reshape(r, -1).any(axis=1)  # the model's naive branch: none sold out
        levels = np.where(np.repeat(censored, k), mle, naive)
    return np.where(total_exposure > 0, levels, 0.0).reshape(r, k)


def _censored_mle(
    bins: np.ndarray,
    exposure: np.ndarray,
    sales: np.ndarray,
    sold_out: np.ndarray,
    naive: np.ndarray,
    n: int,
) -> np.ndarray:
    """``PoissonDemandModel._censored_mle`` for every bin (replication and product) at once."""
    seen = ~sold_out
    seen_sales = np.bincount(bins[seen], sales[seen], minlength=n)
    seen_exposure = np.bincount(bins[seen], exposure[seen], minlength=n)
    lo = np.log(np.clip(naive, MIN_LEVEL, MAX_LEVEL))
    hi = np.full(n, np.log(MAX_LEVEL))
    p, f = bins[sold_out], exposure[sold_out]
    # What the score of the sold-out days needs that does not change with the level,
    # computed once rather than at every step (the same values).
    k = np.ceil(sales[sold_out])
    terms = (k - 1, special.gammaln(np.maximum(k, 1)), k > 0)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        level = np.exp(mid)
        score = seen_sales - level * seen_exposure + _sold_out_score(level, p, f, k, terms, n)
        lo = np.where(score > 0, mid, lo)
        hi = np.where(score > 0, hi, mid)
    return np.exp(0.5 * (lo + hi))


def _sold_out_score(
    level: np.ndarray,
    product: np.ndarray,
    exposure: np.ndarray,
    k: np.ndarray,
    terms: tuple[np.ndarray, np.ndarray, np.ndarray],
    n: int,
) -> np.ndarray:
    """``poisson_demand.sold_out_score``: per bin, the sold-out days' share of the score.

    ``k`` is ``ceil(sales)``; ``terms`` are ``k - 1``, ``gammaln(max(k, 1))`` and ``k > 0``.
    """
    below, log_factorial, counted = terms
    m = level[product] * exposure
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        pmf = np.exp(below * np.log(m) - m - log_factorial)
        hazard = pmf / special.pdtrc(below, m)
        hazard = np.where(np.isfinite(hazard), hazard, k / m)
    return np.bincount(product, np.where(counted, m * hazard, 0.0), minlength=n)
