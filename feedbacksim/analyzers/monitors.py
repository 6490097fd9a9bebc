"""Production monitors simulated inside the loop: input drift, prediction drift, delayed-label performance.

An agent's ``monitors:`` block lists the monitors a team runs beside its deployed model.
Each watches a *window* of recent data (the last ``window`` time units) against a
*reference* and raises an *alarm* when its statistic crosses ``threshold``:

``input_drift``
    each feature of the cases the agent decided on in the window against the reference:
    ``statistic`` ``psi``, ``ks`` or ``wasserstein`` for numeric features (alarm above
    ``threshold``), and a chi-square test of the category counts for categorical ones
    (``scipy.stats.chi2_contingency``; the recorded value is its p-value, alarm below
    ``alpha``). The reference is the deployed model's training rows (``training``) or the
    inputs of the first ``window`` after the start (``baseline``, fixed).
``prediction_drift``
    the deployed model's scores in the window against its scores on the reference
    (``psi``, ``ks``, ``wasserstein``; alarm above ``threshold``).
``performance``
    the labels that *arrived* in the window (delayed and selective: what the team would
    see), scored by the deployed model: ``auc`` or ``accuracy`` (alarm below
    ``threshold``) or ``calibration`` (expected calibration error, alarm above).

``per_group: true`` computes the statistic for every group too (performance, prediction
drift); the alarm is raised when any of them crosses. A monitor needs ``min_rows`` rows in
its window (and reference) to be checked at all. Checks run every ``every`` time units,
lazily before the agent's next decision (no simpy process). Each check records the metric
``monitor:<name>`` (groups: the features, or ``all`` and the groups) and ``alarm:<name>``
(1 when the check alarmed); an alarm is also an ``alarm`` event of the agent. A retrain
trigger with ``on_alarm: [names]`` retrains on those alarms, at most once per
``cooldown``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.analyzers.statistics import psi
from feedbacksim.core.quality import auc, expected_calibration_error

if TYPE_CHECKING:
    from feedbacksim.core.agent import Agent
from feedbacksim.core.lazy_import import lazy_function, lazy_module

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported on first use: start-up stays light
chi2_contingency = lazy_function("scipy.stats", "chi2_contingency")
ks_2samp = lazy_function("scipy.stats", "ks_2samp")
wasserstein_distance = lazy_function("scipy.stats", "wasserstein_distance")

KINDS = ("input_drift", "prediction_drift", "performance")
DRIFT_STATISTICS = ("psi", "ks", "wasserstein")
PERFORMANCE_STATISTICS = ("auc", "accuracy", "calibration")


def drift(statistic: str, reference: np.ndarray, current: np.ndarray) -> float:
    """A numeric drift statistic of ``current`` against ``reference`` (PSI, KS, Wasserstein-1)."""
    if statistic == "psi":
        return psi(reference, current)
    if statistic == "ks":
        return float(ks_2samp(reference, current, method="asymp").statistic)
    return float(wasserstein_distance(reference, current))


def category_p_value(reference: pd.Series, current: pd.Series) -> float:
    """p-value of a chi-square test that two samples of a categorical share their category shares."""
    counts = pd.DataFrame(
        {"reference": reference.value_counts(), "current": current.value_counts()}
    ).fillna(0.0)
    counts = counts[counts.sum(axis=1) > 0]
    if counts.shape[0] < 2:
        return 1.0
    return float(chi2_contingency(counts.to_numpy().T).pvalue)


def performance(statistic: str, labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC, accuracy at 0.5, or expected calibration error of ``scores`` on ``labels``."""
    if statistic == "auc":
        return auc(labels, scores)
    if statistic == "accuracy":
        return float(np.mean((scores >= 0.5) == (labels > 0.5)))
    return expected_calibration_error(labels, np.clip(scores, 0.0, 1.0))


def _columns(features: Any) -> pd.DataFrame:
    """Features as a DataFrame (numpy columns named ``x0``, ``x1``...)."""
    if isinstance(features, pd.DataFrame):
        return features
    array = np.asarray(features, dtype=float).reshape(len(features), -1)
    return pd.DataFrame(array, columns=[f"x{j}" for j in range(array.shape[1])])


def _stack(chunks: Sequence[Any]) -> Any:
    if isinstance(chunks[0], pd.DataFrame):
        return pd.concat(chunks, ignore_index=True)
    return np.concatenate(chunks)


class Monitor:
    """One monitor's settings and its latest state (see the module docstring)."""

    def __init__(
        self,
        name: str,
        kind: str,
        statistic: str,
        threshold: float,
        window: float = 30.0,
        reference: str = "training",
        features: list[str] | None = None,
        alpha: float = 0.01,
        per_group: bool = False,
        min_rows: int = 30,
        every: float = 1.0,
    ) -> None:
        valid = PERFORMANCE_STATISTICS if kind == "performance" else DRIFT_STATISTICS
        if kind not in KINDS:
            raise ValueError(f"monitor {name!r}: unknown kind {kind!r}; known: {', '.join(KINDS)}")
        if statistic not in valid:
            raise ValueError(
                f"monitor {name!r} ({kind}): statistic must be one of {', '.join(valid)}"
            )
        self.name = name
        self.kind = kind
        self.statistic = statistic
        self.threshold = threshold
        self.window = window
        self.reference = reference
        self.features = features
        self.alpha = alpha
        self.per_group = per_group
        self.min_rows = min_rows
        self.every = every

    def crossed(self, value: float) -> bool:
        """Whether ``value`` is on the alarm side of the threshold."""
        if not np.isfinite(value):
            return False
        if self.kind == "performance" and self.statistic != "calibration":
            return value < self.threshold
        return value > self.threshold


class MonitorSet:
    """An agent's monitors with the data they watch: recent inputs and scores, arrived labels, references."""

    def __init__(self, monitors: Sequence[Monitor]) -> None:
        names = [m.name for m in monitors]
        if len(set(names)) != len(names):
            raise ValueError(f"monitor names must be unique, got {names}")
        self.monitors = list(monitors)
        self.span = max(m.window for m in self.monitors)

    def bind(self, agent: Agent) -> None:
        """Attach to a replication: empty windows, metrics declared at the first check."""
        self.agent = agent
        self.recorder = agent.sim.recorder
        self._inputs: list[tuple[float, Any, np.ndarray, np.ndarray | None]] = []
        self._labels: list[tuple[float, Any, np.ndarray, np.ndarray | None]] = []
        self._baseline: dict[str, Any] = {}
        self._reference: dict[str, Any] = {}
        self._next = {m.name: m.every for m in self.monitors}
        self._declared: set[str] = set()
        agent.sim.retrain_listeners.append(self._on_deploy)

    # -- what the agent hands over ------------------------------------------------------
    def saw(self, now: float, features: Any, scores: np.ndarray, groups: Any) -> None:
        """The agent decided on ``features`` with ``scores``."""
        self._inputs.append((now, features, scores, groups))
        if not self._baseline and now >= min(m.window for m in self.monitors):
            self._baseline = self._window(self._inputs, now, now + 1.0)

    def observed(self, now: float, features: Any, labels: np.ndarray, groups: Any) -> None:
        """Labelled rows arrived at the agent."""
        self._labels.append((now, features, labels, groups))

    def _on_deploy(self, agent: Agent) -> None:
        if agent is not self.agent:
            return
        rows = agent.data.rows()
        if rows["labels"].shape[0] == 0:
            return
        from feedbacksim.core.agent import model_scores

        self._reference = {
            "features": rows["features"],
            "scores": model_scores(agent.deployed, rows["features"]),
            "groups": rows["groups"],
        }

    @staticmethod
    def _window(chunks: list, now: float, span: float) -> dict[str, Any]:
        recent = [c for c in chunks if c[0] > now - span]
        if not recent:
            return {}
        groups = [c[3] for c in recent]
        return {
            "features": _stack([c[1] for c in recent]),
            "values": np.concatenate([c[2] for c in recent]),
            "groups": None if any(g is None for g in groups) else np.concatenate(groups),
        }

    # -- checks -------------------------------------------------------------------------
    def check(self, now: float) -> list[str]:
        """Run the monitors that are due; the names of those that alarmed."""
        alarms = []
        for monitor in self.monitors:
            if now < self._next[monitor.name]:
                continue
            self._next[monitor.name] = now + monitor.every
            values = self._statistics(monitor, now)
            if values is None:
                continue
            alarmed = self._alarmed(monitor, values)
            self._record(monitor, now, values, alarmed)
            if alarmed:
                alarms.append(monitor.name)
        # Keep what the longest window still needs.
        cut = now - self.span
        if self._inputs and self._inputs[0][0] <= cut:
            self._inputs = [c for c in self._inputs if c[0] > cut]
        if self._labels and self._labels[0][0] <= cut:
            self._labels = [c for c in self._labels if c[0] > cut]
        return alarms

    def _alarmed(self, monitor: Monitor, values: dict[str, float]) -> bool:
        for key, value in values.items():
            if key.startswith("categorical:"):
                if np.isfinite(value) and value < monitor.alpha:
                    return True
            elif monitor.crossed(value):
                return True
        return False

    def _statistics(self, monitor: Monitor, now: float) -> dict[str, float] | None:
        if monitor.kind == "performance":
            return self._performance(monitor, now)
        current = self._window(self._inputs, now, monitor.window)
        reference = self._reference if monitor.reference == "training" else self._baseline
        if not current or not reference or len(current["values"]) < monitor.min_rows:
            return None
        if monitor.kind == "prediction_drift":
            ref_scores = reference["scores"] if "scores" in reference else reference["values"]
            out = {"all": drift(monitor.statistic, ref_scores, current["values"])}
            if monitor.per_group and current["groups"] is not None:
                for g in np.unique(current["groups"]):
                    mine = current["values"][current["groups"] == g]
                    ref = ref_scores[reference["groups"] == g]
                    if mine.size >= monitor.min_rows and ref.size >= monitor.min_rows:
                        out[str(g)] = drift(monitor.statistic, ref, mine)
            return out
        cur, ref = _columns(current["features"]), _columns(reference["features"])
        out = {}
        for column in monitor.features or list(cur.columns):
            a, b = ref[column], cur[column]
            if isinstance(a.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(a):
                out[f"categorical:{column}"] = category_p_value(a, b)
            else:
                out[column] = drift(
                    monitor.statistic, a.to_numpy(dtype=float), b.to_numpy(dtype=float)
                )
        return out

    def _performance(self, monitor: Monitor, now: float) -> dict[str, float] | None:
        arrived = self._window(self._labels, now, monitor.window)
        agent = self.agent
        if not arrived or len(arrived["values"]) < monitor.min_rows or not agent.fitted:
            return None
        from feedbacksim.core.agent import model_scores

        labels = arrived["values"]
        scores = model_scores(agent.deployed, arrived["features"])
        out = {"all": performance(monitor.statistic, labels, scores)}
        if monitor.per_group and arrived["groups"] is not None:
            for g in np.unique(arrived["groups"]):
                mine = arrived["groups"] == g
                if mine.sum() >= monitor.min_rows:
                    out[str(g)] = performance(monitor.statistic, labels[mine], scores[mine])
        return out

    def _record(
        self, monitor: Monitor, now: float, values: dict[str, float], alarmed: bool
    ) -> None:
        metric = f"monitor:{monitor.name}"
        if metric not in self._declared:
            # Groups fixed at the first check: later keys (a group first seen later) are
            # left out of the metric (they still raise alarms).
            self.recorder.declare(metric, [k.removeprefix("categorical:") for k in values])
            self.recorder.declare(f"alarm:{monitor.name}")
            self._declared.add(metric)
            self._keys = getattr(self, "_keys", {})
            self._keys[metric] = list(values)
        keys = self._keys[metric]
        self.recorder.record(metric, now, [values.get(k, np.nan) for k in keys])
        self.recorder.record(f"alarm:{monitor.name}", now, float(alarmed))
        if alarmed:
            crossed = [
                f"{k.removeprefix('categorical:')}={v:.3g}"
                for k, v in values.items()
                if (v < monitor.alpha if k.startswith("categorical:") else monitor.crossed(v))
            ]
            self.recorder.event(
                now, "alarm", self.agent.name, f"{monitor.name}: {', '.join(crossed)}"
            )


def build_monitors(specs: Sequence[Any]) -> MonitorSet | None:
    """A :class:`MonitorSet` from an agent's ``monitors:`` specs (None when there are none)."""
    if not specs:
        return None
    return MonitorSet([Monitor(**dict(spec)) for spec in specs])
