"""Measurements the framework takes at each retrain, for analyzers that ask for them.

An analyzer lists what it needs in ``retrain_measures``; the runner attaches one
:class:`RetrainMonitor` to the replication, which listens to every deployment of a new
model (``Simulation.retrain_listeners``) and records, for every agent at that moment:

``quality``
    the deployed model's ground-truth quality on a fresh sample of the true population
    (:meth:`Environment.evaluate_model`): ``true_auc``, ``true_accuracy``,
    ``true_log_loss``, ``true_brier``, ``true_ece``, ``true_rmse``; groups are agent names.
``drift``
    the agent's training window against a fresh population sample, per feature column
    and for the label: ``drift_psi``, ``drift_ks``, ``drift_wasserstein`` (in standard
    deviations of the population column); groups are
    ``<agent>:x<j>`` and ``<agent>:label``.
``training``
    the training window itself: ``train_rows``, ``train_positive_rate`` (share of labels
    above 0; groups are agent names) and ``train_group_share`` (share of the window's rows
    from each group of the population; groups ``<agent>:<group>``).
``parameters``
    the retrained agent's model as a vector, ``model_params:<agent>``: its coefficients
    (``coef_`` and ``intercept_``, or ``counts_``) where they exist, else its predictions
    on a probe set drawn once per replication: from the population, or, in a world
    without one, from the agent's first measured training window (rows of the world's
    own feature space, in the region the loop showed the agent; fixed from then on, so
    successive models are compared on the same cases).

Worlds that implement ``population_sample`` get all of it for free; without a population
``training`` and ``parameters`` are available. Samples are drawn
from the replication's own stream named ``measures``, so measuring never shifts the
draws of the world or the agents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.analyzers.measured import (
    DRIFT_METRICS,
    MEASURED_METRICS,
    MEASURES,
    NEEDS_POPULATION,
    PARAMS_PREFIX,
    QUALITY_PREFIX,
    params_metric,
)
from feedbacksim.analyzers.measured import (
    RECORDED_METRICS as RECORDED_METRICS,  # kept for the old path analyzers.measures
)
from feedbacksim.analyzers.statistics import psi
from feedbacksim.core.agent import model_scores
from feedbacksim.core.quality import QUALITY_METRICS
from feedbacksim.core.seeding import named_generator
from feedbacksim.errors import ScenarioError

if TYPE_CHECKING:
    from feedbacksim.core.agent import Agent
    from feedbacksim.core.simulation import Simulation
from feedbacksim.core.lazy_import import lazy_function

ks_2samp = lazy_function("scipy.stats", "ks_2samp")
wasserstein_distance = lazy_function("scipy.stats", "wasserstein_distance")

PROBE_SIZE = 64


def group_label(group: Any) -> str:
    """A group value as a label: integral floats without the ``.0`` (``1.0`` -> ``1``)."""
    if isinstance(group, float) and group.is_integer():
        return str(int(group))
    return str(group)


def ks_statistic(reference: np.ndarray, sample: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic ``max |F_ref - F_sample|``.

    The statistic of ``scipy.stats.ks_2samp`` (tests check they agree) without its
    p-value, which is not used and makes the call 8 times slower, at every retrain and
    for every feature.
    """
    a, b = np.sort(reference), np.sort(sample)
    points = np.concatenate([a, b])
    gap = (
        np.searchsorted(a, points, side="right") / a.size
        - np.searchsorted(b, points, side="right") / b.size
    )
    return float(np.abs(gap).max())


def model_vector(model: Any, probe: np.ndarray | None) -> np.ndarray | None:
    """The model as a vector: coefficients where they exist, else predictions on ``probe``."""
    if hasattr(model, "coef_"):
        parts = [np.ravel(model.coef_), np.ravel(getattr(model, "intercept_", []))]
        return np.concatenate(parts).astype(float)
    if hasattr(model, "counts_"):
        return np.asarray(model.counts_, dtype=float).ravel().copy()
    if probe is None:
        return None
    return model_scores(model, probe)


class RetrainMonitor:
    """Records the requested measurements at every deployment of a new model in one replication."""

    def __init__(self, measures: Iterable[str], sample_size: int = 2000) -> None:
        self.measures = frozenset(measures)
        unknown = self.measures - set(MEASURES)
        if unknown:
            raise ValueError(f"unknown retrain measures {sorted(unknown)}; known: {MEASURES}")
        self.sample_size = sample_size
        self._started = False
        self._declared: set[str] = set()

    def check(self, environment: Any) -> None:
        """Raise a clear error when the world cannot provide what is asked of it.

        Also refuses a world that records a metric under a name the framework measures
        (``true_auc``, ``model_params:<agent>``...): the two would write to one series
        with different groups, and an analyzer would silently read the wrong one.
        """
        world = type(environment).__name__
        missing = self.measures & NEEDS_POPULATION
        if missing and not environment.has_population():
            raise ScenarioError(
                f"{world} has no population to sample, so "
                f"{sorted(missing)} cannot be measured; remove the analyzers that need it"
            )
        for measure in sorted(self.measures):
            clash = sorted(
                m
                for m in environment.metrics
                if m in MEASURED_METRICS[measure]
                or (measure == "parameters" and m.startswith(PARAMS_PREFIX))
            )
            if clash:
                raise ScenarioError(
                    f"{world} records its own metric {clash[0]!r}, and the framework "
                    f"measures a metric of the same name (the {measure!r} measurement, per "
                    f"agent) for the analyzers that ask for it; the world's metric must be "
                    f"renamed (names the framework measures: "
                    f"{sorted(MEASURED_METRICS[measure]) or [PARAMS_PREFIX + '<agent>']})"
                )

    def attach(self, sim: Simulation) -> None:
        """Listen to ``sim``'s deployments."""
        self.check(sim.environment)
        self.sim = sim
        sim.retrain_listeners.append(self.on_retrain)

    # -- lazily, at the first deployment (the recorder exists only once the run started) --
    def _start(self) -> None:
        sim = self.sim
        self._started = True
        self.env = sim.environment
        self.recorder = sim.recorder
        self.rng = named_generator(sim.seed, "measures")
        self.agents = [a.name for a in sim.agents]
        self.population = self.env.has_population()
        self.probe = None
        self.window_probes: dict[str, np.ndarray] = {}
        self.groups: list[Any] | None = None
        if self.population:
            features, _, groups = self.env.population_sample(self.sample_size, self.rng)
            self.probe = features[:PROBE_SIZE]
            if not isinstance(features, np.ndarray):  # a table: its numeric columns
                features = features.select_dtypes("number")
            self.n_features = features.shape[1] if features.ndim == 2 else 1
            if groups is not None:
                self.groups = sorted(np.unique(groups).tolist())
        if "quality" in self.measures:
            for m in QUALITY_METRICS:
                self._declare(f"{QUALITY_PREFIX}{m}", self.agents)
        if "drift" in self.measures:
            columns = [f"x{j}" for j in range(self.n_features)] + ["label"]
            for m in DRIFT_METRICS:
                self._declare(m, [f"{a}:{c}" for a in self.agents for c in columns])
        if "training" in self.measures:
            self._declare("train_rows", self.agents)
            self._declare("train_positive_rate", self.agents)
            if self.groups is not None:
                labels = [f"{a}:{group_label(g)}" for a in self.agents for g in self.groups]
                self._declare("train_group_share", labels)

    def _declare(self, metric: str, groups: list[str] | None) -> None:
        self.recorder.declare(metric, groups)
        self._declared.add(metric)

    def _record(self, metric: str, values: Any) -> None:
        self.recorder.record(metric, self.sim.now, values)

    # -- the listener --------------------------------------------------------------------
    def on_retrain(self, retrained: Agent) -> None:
        """Measure every agent after ``retrained`` deployed a new model."""
        if not self._started:
            self._start()
        agents = self.sim.agents
        if "quality" in self.measures:
            rows = [self.env.evaluate_model(a, self.sample_size, self.rng) for a in agents]
            for m in QUALITY_METRICS:
                self._record(f"{QUALITY_PREFIX}{m}", [r[m] for r in rows])
        if "drift" in self.measures:
            self._record_drift(agents)
        if "training" in self.measures:
            self._record_training(agents)
        if "parameters" in self.measures:
            self._record_parameters(retrained)

    def _record_drift(self, agents: list[Agent]) -> None:
        features, labels, _ = self.env.population_sample(self.sample_size, self.rng)
        if not isinstance(
            features, np.ndarray
        ):  # a table's columns: see feedbacksim.analyzers.monitors
            features = features.select_dtypes("number").to_numpy(dtype=float)
        reference = np.column_stack([features.reshape(features.shape[0], -1), labels])
        values = np.full((len(DRIFT_METRICS), len(agents), reference.shape[1]), np.nan)
        for i, agent in enumerate(agents):
            rows = agent.data.rows()
            if rows["labels"].shape[0] < 2 or agent.data.frames:
                continue
            n = rows["labels"].shape[0]
            window = np.column_stack([rows["features"].reshape(n, -1), rows["labels"]])
            for j in range(reference.shape[1]):
                ref, cur = reference[:, j], window[:, j]
                ks = ks_statistic(ref, cur)
                # Wasserstein in population SDs: a threshold means the same in any units.
                sd = float(np.std(ref))
                w1 = wasserstein_distance(ref, cur) / (sd if sd > 0 else 1.0)
                values[:, i, j] = (psi(ref, cur), ks, w1)
        for k, m in enumerate(DRIFT_METRICS):
            self._record(m, values[k].reshape(-1))

    def _record_training(self, agents: list[Agent]) -> None:
        n_rows: list[float] = []
        positive: list[float] = []
        shares: list[float] = []
        for agent in agents:
            rows = agent.data.rows()
            labels = rows["labels"]
            n = labels.shape[0]
            n_rows.append(float(n))
            positive.append(float(np.mean(labels > 0)) if n else np.nan)
            if self.groups is not None:
                groups = rows["groups"]
                shares.extend(float(np.mean(groups == g)) if n else np.nan for g in self.groups)
        self._record("train_rows", n_rows)
        self._record("train_positive_rate", positive)
        if self.groups is not None:
            self._record("train_group_share", shares)

    def _probe_for(self, agent: Agent) -> np.ndarray | None:
        """The population probe, else ``PROBE_SIZE`` rows of ``agent``'s first measured window."""
        if self.probe is not None:
            return self.probe
        if agent.name not in self.window_probes:
            features = agent.data.rows()["features"]
            n = features.shape[0]
            if n == 0:
                return None
            pick = np.sort(self.rng.choice(n, size=min(PROBE_SIZE, n), replace=False))
            self.window_probes[agent.name] = np.array(features[pick])
        return self.window_probes[agent.name]

    def _record_parameters(self, agent: Agent) -> None:
        model = agent.deployed
        has_coefficients = hasattr(model, "coef_") or hasattr(model, "counts_")
        vector = model_vector(model, None if has_coefficients else self._probe_for(agent))
        if vector is None:
            return
        metric = params_metric(agent.name)
        if metric not in self._declared:
            self._declare(metric, [f"p{j}" for j in range(vector.shape[0])])
        self._record(metric, vector)
