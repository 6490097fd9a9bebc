"""The data feedback world with scikit-learn's ``GaussianNB``, advanced for R replications at once.

State shaped (R, ...): each replication's held-out inputs (R, eval_size), its training
rows split by class in arrival order (two (R, capacity) buffers, plus every row for the
variance smoothing) and its deployed model (per-class means, variances and priors).
Replication i is bit-identical to replication i of the serial path:

* draws: the held-out sample, then each round ``random(m)``, ``standard_normal(m)``,
  ``random(k)``, ``standard_normal(k)`` (and ``random(k)`` when labelling by sampling)
  from the replication's own ``environment`` stream, through the world's own
  ``population_sample``, and the pretraining sample from ``pretrain:<agent>``. Their sizes
  never depend on the state, but each replication's Generator must be called in that
  order, so these calls are made per replication (about 1 us each);
* the fit: ``GaussianNB.fit`` computes, per class, ``mean = sum(x) / n`` and
  ``var = sum((x - mean)**2) / n`` over the class's rows, adds ``var_smoothing`` times
  the variance of every row, and sets the priors to the class counts over their sum.
  numpy adds a contiguous array by pairwise summation (8 running sums over blocks of at
  most 128 values, halves split at multiples of 8, started from 0.0); the classes' row
  counts differ between replications, so :func:`pairwise_sums` reproduces that order for
  every replication's rows at once;
* the scores: ``predict_proba``'s joint log-likelihood and sklearn's ``_logsumexp``
  (maximum, exponentials of the shifted other term, ``log1p``), element by element over
  (R, rows); numpy's ``exp`` and ``log`` give the same value for an element whatever the
  array's layout.

The threshold policy's draws (``epsilon``) come from the agent's stream, which nothing
else in this world reads, and the world reads only the scores: the kernel does not make
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from feedbacksim.core.seeding import named_generator
from feedbacksim.core.trace import Trace
from feedbacksim.worlds.batch_spec import sole_agent
from feedbacksim.worlds.data_feedback import DataFeedbackWorld
from feedbacksim.worlds.refit_batch import horizon_days, make_traces

#: The metrics the kernel records; a metric the world gains makes :func:`supports` false.
METRICS = ("bias", "label_bias", "delta", "bound")
#: The kernel checks the agent's retrain rule, window and pretraining itself.
OWN_AGENT_RULES = True
#: The model the kernel reproduces, as a scenario names it.
MODEL = "sklearn.naive_bayes.GaussianNB"
#: numpy's pairwise summation: the largest block summed with 8 running sums.
BLOCK = 128


def supports(spec: Any) -> bool:
    """Whether ``spec`` is one agent refitting a ``GaussianNB`` the kernel reproduces.

    A refit (``mode: refit``; ``auto`` would update incrementally with ``partial_fit``)
    on every row, on a schedule (``every``, any positive period), with or without
    pretraining; a threshold policy; the model's defaults but for a positive
    ``var_smoothing`` (no fixed ``priors``). No gate, monitors or row trigger (a trigger
    could retrain between the round's two decisions).
    """
    agent = sole_agent(spec, "data_feedback", DataFeedbackWorld, METRICS)
    if agent is None:
        return False
    params = agent.model.params
    smoothing = params.get("var_smoothing", 1e-9)
    return (
        agent.model.kind == MODEL
        and set(params) <= {"var_smoothing"}
        and isinstance(smoothing, int | float)
        and smoothing > 0
        and agent.policy.kind == "threshold"
        and agent.gate is None
        and not agent.monitors
        and agent.data.window == "all"
        and agent.retrain.mode == "refit"
        and agent.retrain.after_rows is None
        and agent.retrain.every is not None
    )


def bytes_per_replication(spec: Any) -> int:
    """Memory one replication of a batch holds: held-out inputs and scores, training rows."""
    world = DataFeedbackWorld(**spec.environment.params)
    days = max(1, horizon_days(spec))
    rows = spec.agents[0].pretrain.samples + days * (world.human_labels + world.model_labels)
    return 8 * (8 * world.eval_size + 4 * rows + days * len(METRICS))


def pairwise_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``np.sum(values[i, :counts[i]])`` for every row i, bit for bit, in one pass over the rows.

    numpy's sum of n contiguous float64 values is ``0.0 + pairwise(n)``: below 8 values
    a running sum; up to :data:`BLOCK` values 8 running sums over consecutive blocks of 8,
    added as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the last n % 8
    values one by one; above, the sum of the first ``n2`` values (half of n, rounded down
    to a multiple of 8) and of the rest, each summed the same way. Every part of every
    row's tree starts at a multiple of 8, so the parts are read as blocks of 8 values.
    """
    width = values.shape[1]
    padded = -(-width // 8) * 8
    if padded != width:
        values = np.concatenate([values, np.zeros((values.shape[0], padded - width))], axis=1)
    blocks = values.reshape(values.shape[0], padded // 8, 8)
    # Down the trees, level by level: every part of every row longer than a block is split
    # in two (its first half, then the rest, side by side in the next level).
    rows, start, n = np.arange(values.shape[0]), np.zeros_like(counts), counts.astype(np.int64)
    levels = []
    while True:
        split = n > BLOCK
        levels.append((rows, start, n, split))
        if not split.any():
            break
        half = n[split] // 2
        half -= half % 8
        rows = np.concatenate([rows[split], rows[split]])
        start = np.concatenate([start[split], start[split] + half])
        n = np.concatenate([half, n[split] - half])
    # Up again: a block's sum at a leaf, the sum of its two halves at a split.
    below = np.empty(0)
    for rows, start, n, split in reversed(levels):
        sums = np.empty(rows.shape[0])
        leaf = ~split
        sums[leaf] = _leaf(values, blocks, rows[leaf], start[leaf], n[leaf])
        parts = below.shape[0] // 2
        sums[split] = below[:parts] + below[parts:]
        below = sums
    return 0.0 + below


def _leaf(
    values: np.ndarray, blocks: np.ndarray, rows: np.ndarray, start: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """The pairwise sum of parts of at most :data:`BLOCK` values (``start`` a multiple of 8)."""
    res = np.zeros(rows.shape[0])
    whole = n - n % 8  # values summed by the 8 running sums (parts of at least 8 values)
    unrolled = n >= 8
    if unrolled.any():
        at, first, last = rows[unrolled], start[unrolled] // 8, whole[unrolled] // 8
        sums = blocks[at, first]
        for b in range(1, BLOCK // 8):
            more = b < last
            if not more.any():
                break
            sums[more] += blocks[at[more], first[more] + b]
        res[unrolled] = ((sums[:, 0] + sums[:, 1]) + (sums[:, 2] + sums[:, 3])) + (
            (sums[:, 4] + sums[:, 5]) + (sums[:, 6] + sums[:, 7])
        )
    done = np.where(unrolled, whole, 0)
    for q in range(7):  # the rest, one by one (a part below 8 values: all of it)
        more = done + q < n
        if not more.any():
            break
        res[more] += values[rows[more], start[more] + done[more] + q]
    return res


class _ClassRows:
    """Each replication's training inputs of one class, in arrival order: (R, capacity)."""

    def __init__(self, r: int, capacity: int) -> None:
        self.x = np.zeros((r, capacity))
        self.n = np.zeros(r, dtype=np.int64)

    def add(self, x: np.ndarray, mask: np.ndarray) -> None:
        """Append ``x[i, j]`` where ``mask[i, j]`` to replication i, in column order."""
        added = np.count_nonzero(mask, axis=1)
        need = int((self.n + added).max(initial=0))
        if need > self.x.shape[1]:
            grown = np.zeros((self.x.shape[0], max(need, 2 * self.x.shape[1])))
            grown[:, : self.x.shape[1]] = self.x
            self.x = grown
        row, _ = np.nonzero(mask)
        at = self.n[row] + (np.cumsum(mask, axis=1) - 1)[mask]
        self.x[row, at] = x[mask]
        self.n += added

    def moments(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``np.mean`` and ``np.var`` of replications ``rows``' inputs, as numpy computes them."""
        n = self.n[rows]
        width = int(n.max(initial=0))
        x = self.x[rows, :width]
        mean = pairwise_sums(x, n) / n
        deviation = x - mean[:, None]
        return mean, pairwise_sums(deviation * deviation, n) / n


def _scores(model: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``GaussianNB.predict_proba(x)[:, -1]`` of each replication's model on its rows (R, n).

    The joint log-likelihood of each class, then sklearn's ``_logsumexp`` over the two:
    the larger term is replaced by -inf, the other shifted by it, ``log1p`` of the sum
    over the count of maxima plus ``log`` of that count plus the maximum (with finite
    terms, the same floats from one exponential of the smaller term).
    """
    jll = []
    for c in (0, 1):
        var = model["var"][:, c : c + 1]
        joint = np.log(model["prior"][:, c : c + 1])
        # ``xp.sum`` over the one feature: 0.0 plus the value.
        n_ij = -0.5 * (0.0 + np.log(2.0 * np.pi * var))
        n_ij = n_ij - 0.5 * (0.0 + ((x - model["theta"][:, c : c + 1]) ** 2) / var)
        jll.append(joint + n_ij)
    j0, j1 = jll
    top = np.maximum(j0, j1)
    if np.isfinite(top).all():
        # Finite terms: the larger one's exponential is exp(-inf) = 0 and the count of
        # maxima is 1 unless they tie (then the sum is 0, and log(count) = log 2).
        tie = j0 == j1
        s = np.exp(np.where(tie, -np.inf, np.minimum(j0, j1)) - top)
        return np.exp(j1 - (np.where(tie, np.log(2.0), np.log1p(s)) + top))
    at0, at1 = j0 == top, j1 == top
    count = (0.0 + at0) + at1.astype(float)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore"):  # -inf - -inf in a row whose maximum is -inf
        s = np.exp(np.where(at0, -np.inf, j0) - shift) + np.exp(np.where(at1, -np.inf, j1) - shift)
    s = np.where(s == 0, s, s / count)
    out = np.log1p(s) + np.log(count) + top
    return np.exp(j1 - out)


def run_batch(
    spec: Any, seeds: Sequence[np.random.SeedSequence], indices: Sequence[int]
) -> list[Trace]:
    """The traces of replications ``indices`` (seeded by ``seeds``), advanced together."""
    agent = spec.agents[0]
    world = DataFeedbackWorld(**spec.environment.params)
    smoothing = float(agent.model.params.get("var_smoothing", 1e-9))
    r, days = len(seeds), horizon_days(spec)
    m, k, p = world.human_labels, world.model_labels, world.positive_rate
    sample = world.labelling == "sample"
    every, min_samples, name = float(agent.retrain.every), agent.retrain.min_samples, agent.name
    unfitted = float(agent.unfitted_score)
    delta, bound = world.delta_and_bound()

    envs = [named_generator(seed, "environment") for seed in seeds]
    held_out = np.stack([world.population_sample(world.eval_size, rng)[0][:, 0] for rng in envs])
    capacity = agent.pretrain.samples + days * (m + k)
    every_row = np.zeros((r, max(1, capacity)))
    classes = (_ClassRows(r, max(8, capacity // 2)), _ClassRows(r, max(8, capacity // 2)))
    seen = 0  # rows observed, the same in every replication
    model = {"theta": np.zeros((r, 2)), "var": np.ones((r, 2)), "prior": np.full((r, 2), 0.5)}
    fitted = np.zeros(r, dtype=bool)
    events: list[list[tuple[float, str, str, str]]] = [[] for _ in range(r)]

    def observe(x: np.ndarray, y: np.ndarray) -> None:
        nonlocal seen
        every_row[:, seen : seen + x.shape[1]] = x
        seen += x.shape[1]
        positive = y == 1.0
        classes[0].add(x, ~positive)
        classes[1].add(x, positive)

    def retrain(now: float) -> None:
        if seen < min_samples:
            why = f"too few rows: {seen} < min_samples {min_samples}"
            for log in events:
                log.append((now, "retrain_skipped", name, why))
            return
        n0, n1 = classes[0].n, classes[1].n
        ready = np.flatnonzero((n0 > 0) & (n1 > 0))
        for i in np.flatnonzero((n0 == 0) | (n1 == 0)):
            why = f"one class in training labels ({seen} rows, all {0 if n1[i] == 0 else 1})"
            events[i].append((now, "retrain_skipped", name, why))
        if ready.shape[0]:
            x = every_row[ready, :seen]
            mean = x.sum(axis=1) / seen  # a row of a 2-D array is summed as a 1-D one
            deviation = x - mean[:, None]
            epsilon = smoothing * ((deviation * deviation).sum(axis=1) / seen)
            for c in (0, 1):
                theta, var = classes[c].moments(ready)
                model["theta"][ready, c] = theta
                model["var"][ready, c] = var + epsilon
            counts = np.stack([n0[ready], n1[ready]], axis=1).astype(float)
            model["prior"][ready] = counts / (0.0 + counts[:, 0] + counts[:, 1])[:, None]
            fitted[ready] = True
        for i in ready:
            events[i].append((now, "retrain", name, f"rows={seen}"))

    def scores(x: np.ndarray) -> np.ndarray:
        out = np.full(x.shape, unfitted)
        if fitted.any():
            out[fitted] = _scores({key: v[fitted] for key, v in model.items()}, x[fitted])
        return out

    if agent.pretrain.samples:
        drawn = [
            world.population_sample(
                agent.pretrain.samples, named_generator(seed, f"pretrain:{name}")
            )
            for seed in seeds
        ]
        observe(np.stack([d[0][:, 0] for d in drawn]), np.stack([d[1] for d in drawn]))
        retrain(0.0)

    recorded = {metric: np.empty((r, days, 1)) for metric in METRICS}
    recorded["delta"][...] = delta
    recorded["bound"][...] = bound
    last = 0.0
    for t in range(days):  # ``every(1.0, step)``: rounds 0, 1, ...
        if t - last >= every:  # the agent's schedule, checked before its first decision
            last = float(t)
            retrain(last)
        predicted = np.count_nonzero(scores(held_out) >= 0.5, axis=1)
        recorded["bias"][:, t, 0] = predicted / world.eval_size - p
        if seen:
            recorded["label_bias"][:, t, 0] = classes[1].n / seen - p
        else:
            recorded["label_bias"][:, t, 0] = p - p
        human = [world.population_sample(m, rng)[:2] for rng in envs] if m else []
        machine = [world.population_sample(k, rng)[:2] for rng in envs] if k else []
        if m:
            observe(np.stack([h[0][:, 0] for h in human]), np.stack([h[1] for h in human]))
        if k:
            x = np.stack([d[0][:, 0] for d in machine])
            score = scores(x)  # no retrain falls due at the round's second decision
            # The model's labels: a draw from each replication's stream below the score, or
            # the argmax.
            y = np.stack([rng.random(k) for rng in envs]) < score if sample else score >= 0.5
            observe(x, y.astype(float))

    series = {metric: (("",), recorded[metric]) for metric in METRICS}
    traces = make_traces(spec, indices, series, events, world.scales())
    for trace, deployed in zip(traces, fitted.tolist(), strict=True):
        trace.metadata["deployed"] = {name: deployed}
    return traces
