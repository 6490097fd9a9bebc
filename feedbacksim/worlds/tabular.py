"""Your labelled table as a world: cases drawn from it, labels hidden until an action reveals them.

A CSV or Parquet file (a path relative to the scenario file) or a pandas DataFrame is
split once, with ``split_seed``, into the *arrivals* part and a *held-out* part
(``holdout`` of the rows). Each step ``cases_per_step`` cases arrive: a seeded bootstrap of
the arrivals part (weighted by the declared shifts), or, with ``time_column``, the next
rows in the order of that column (cycling). The agent sees a batch whose features are a
DataFrame with the table's ``features`` columns and dtypes (text columns become pandas
categoricals with the table's categories), so a scikit-learn ``Pipeline`` with a
``ColumnTransformer`` runs on it unchanged; groups (``group`` column, optional) come with
the batch as integer codes.

The label (``label`` column; ``positive`` is the value counted as 1) stays hidden. The
decision's consequences are declared: ``reveals`` says which cases' labels the agent
observes (``acted``: action > 0, e.g. approved loans, reviewed posts; ``not_acted``;
``always``), ``label_delay`` after what delay (a number, or ``{distribution: exponential,
mean: m}`` / ``{distribution: uniform, low: a, high: b}``), and ``treatment_effect`` how an
action changes the outcome (acted-on cases' probability of a positive label moves by that
amount). ``shifts`` (see :mod:`feedbacksim.worlds.table_shifts`) change who arrives, their
labels and their features over time.

Ground truth is measured on the held-out part under the current shifts (its rows weighted,
labels flipped in expectation, features moved by the strategic response to the deployed
model), for all cases and per group, every ``measure_every`` steps: ``holdout_auc``,
``holdout_accuracy``. ``population_sample`` draws from the held-out part the same way; the
first model's historical data (``pretrain``) is drawn from the arrivals part, unshifted.

Open loop: every arrival's label is observed, whatever the decision.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.lazy_import import lazy_function, lazy_module
from feedbacksim.core.quality import weighted_auc
from feedbacksim.core.registry import register
from feedbacksim.worlds.table_shifts import (
    FeedbackShift,
    ShiftState,
    StrategicShift,
    parse_shifts,
    strategic_move,
)

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported on first use: start-up stays light
logit = lazy_function("scipy.special", "logit")

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
DELAYS = ("exponential", "uniform")
PACKAGED = "feedbacksim:"  # prefix of a table shipped in feedbacksim/data (german_credit.csv)


@functools.lru_cache(maxsize=8)
def _read_table(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """The table at ``path`` (cached per file version: replications do not read it again)."""
    if path.endswith((".parquet", ".pq")):
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise ImportError(
                f"reading {path} needs pyarrow: pip install 'feedbacksim[parquet]'"
            ) from exc
    return pd.read_csv(path)


def read_table(data: str | pd.DataFrame, base_dir: str | os.PathLike[str] | None) -> pd.DataFrame:
    """A table from a DataFrame or a CSV/Parquet path (relative paths from ``base_dir``)."""
    if isinstance(data, pd.DataFrame):
        return data
    path = Path(data)
    if data.startswith(PACKAGED):  # a table shipped with feedbacksim (feedbacksim/data/)
        path = Path(str(resources.files("feedbacksim") / "data" / data[len(PACKAGED) :]))
    elif not path.is_absolute():
        path = Path(base_dir or ".") / path
    if not path.is_file():
        raise FileNotFoundError(f"table {data!r} not found (looked for {path})")
    stat = path.stat()
    return _read_table(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def check_delay(delay: float | dict[str, Any]) -> None:
    """Raise ``ValueError`` unless ``delay`` is a number >= 0 or a known distribution."""
    if isinstance(delay, (int, float)):
        if delay < 0:
            raise ValueError("label_delay must be >= 0")
        return
    kind = delay.get("distribution")
    expected = {"exponential": {"mean"}, "uniform": {"low", "high"}}
    if kind not in expected:
        raise ValueError(f"label_delay.distribution must be one of {DELAYS}, got {kind!r}")
    keys = set(delay) - {"distribution"}
    if keys != expected[kind]:
        raise ValueError(f"label_delay ({kind}) needs exactly {sorted(expected[kind])}")
    values = [delay[k] for k in sorted(keys)]
    if not all(isinstance(v, (int, float)) and v >= 0 for v in values):
        raise ValueError("label_delay parameters must be numbers >= 0")
    if kind == "uniform" and not delay["low"] <= delay["high"]:
        raise ValueError("label_delay: low must be <= high")


@register("environment", "tabular")
class TabularWorld(Environment):
    """Your labelled table (CSV, Parquet, DataFrame) as a world with selective, delayed labels and shifts.

    Args:
        data: the table: a CSV or Parquet path (relative to the scenario file;
            ``feedbacksim:german_credit.csv`` for a table shipped with feedbacksim) or a
            pandas DataFrame (from Python).
        label: the label column.
        positive: the label value counted as positive (1).
        features: the columns the agent sees (default: every column but the label, the
            group and the time column).
        group: optional group column (metrics per group; integer codes in batches).
        time_column: arrivals in the order of this column (cycling) instead of a bootstrap.
        cases_per_step: cases arriving each step.
        holdout: share of the table held out for ground truth (never arrives).
        split_seed: seed of the arrivals/held-out split (the same in every replication).
        reveals: whose label the agent observes: ``acted`` (action > 0), ``not_acted``
            or ``always``.
        label_delay: steps until a revealed label arrives: a number, or a distribution
            (``{distribution: exponential, mean: m}``, ``{distribution: uniform, low, high}``).
        treatment_effect: change of an acted-on case's probability of a positive label.
        shifts: covariate, prior, concept, strategic and feedback shifts with schedules
            (:mod:`feedbacksim.worlds.table_shifts`).
        measure_every: steps between ground-truth measurements on the held-out part.
        agent: the deciding agent's name (default: the scenario's first agent).
        base_dir: where relative paths start (set by the framework: the scenario's folder).
    """

    context_params = ("base_dir",)
    model_needs = "classifier"  # predict_proba: scores are P(positive label)
    metrics = {
        "acceptance_rate": "share of the step's arrivals of the group that were acted on (action > 0; last value when none arrived)",
        "positive_rate": "share of the step's arrivals of the group whose (hidden) label is positive, after shifts",
        "arrival_share": "share of the step's arrivals from the group",
        "observed_positive_rate": "positive share of the labels the agent has observed so far, per group (0 before the first)",
        "observed_rows": "labels the agent has observed so far, per group",
        "holdout_auc": "AUC of the deployed model on the held-out part under the current shifts (groups: all, then each group; 0.5 before a model)",
        "holdout_accuracy": "accuracy at score 0.5 of the deployed model on the held-out part under the current shifts (groups: all, then each group)",
        "holdout_positive_rate": "positive share of the held-out part under the current shifts (groups: all, then each group)",
        "strategic_move": "mean move of each mutable feature of the step's arrivals (groups: the features; 0 without a strategic shift)",
    }
    open_loop_doc = "every arrival's label is observed, acted on or not"

    def __init__(
        self,
        data: str | pd.DataFrame,
        label: str,
        positive: str | int | float | bool = 1,
        features: list[str] | None = None,
        group: str | None = None,
        time_column: str | None = None,
        cases_per_step: Annotated[int, Field(ge=1)] = 50,
        holdout: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.3,
        split_seed: Annotated[int, Field(ge=0)] = 0,
        reveals: Literal["acted", "not_acted", "always"] = "acted",
        label_delay: Annotated[float, Field(ge=0)] | dict[str, Any] = 0.0,
        treatment_effect: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0,
        shifts: list[dict[str, Any]] = [],  # noqa: B006
        measure_every: Annotated[float, Field(gt=0)] = 5.0,
        agent: str | None = None,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.data = data
        self.label = label
        self.positive = positive
        self.features = features
        self.group = group
        self.time_column = time_column
        self.cases_per_step = cases_per_step
        self.holdout = holdout
        self.split_seed = split_seed
        self.reveals = reveals
        self.label_delay = label_delay
        self.treatment_effect = treatment_effect
        self.shifts = shifts
        self.measure_every = measure_every
        self.agent = agent
        self.base_dir = base_dir
        self._prepared = False

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        check_delay(params["label_delay"])
        parse_shifts(params["shifts"])

    @classmethod
    def check_data(cls, params: dict[str, Any], base_dir: str | None) -> None:
        """Check the table's columns against the parameters (raises ``ValueError``)."""
        world = cls(**params, base_dir=base_dir)
        world.prepare()

    # -- the table, split once ------------------------------------------------------------
    def prepare(self) -> None:
        """Read and split the table, type its columns, build the shifts (once per world)."""
        if self._prepared:
            return
        table = read_table(self.data, self.base_dir)
        columns = list(table.columns)
        for name, what in ((self.label, "label"), (self.group, "group")):
            if name is not None and name not in columns:
                raise ValueError(f"{what} column {name!r} is not in the table: {columns}")
        if self.time_column is not None and self.time_column not in columns:
            raise ValueError(f"time_column {self.time_column!r} is not in the table: {columns}")
        skip = {self.label, self.group, self.time_column}
        features = self.features or [c for c in columns if c not in skip]
        repeated = sorted({c for c in features if features.count(c) > 1})
        if repeated:
            raise ValueError(f"feature columns named more than once: {repeated}")
        missing = [c for c in features if c not in columns]
        if missing:
            raise ValueError(f"feature columns not in the table: {missing}")
        if self.label in features:
            raise ValueError(f"the label column {self.label!r} cannot be a feature")
        self.shift_list = parse_shifts(self.shifts, columns)
        frame = table[features].copy()
        for column in features:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                frame[column] = frame[column].astype("category")
        mutable = {f for s in self.shift_list if isinstance(s, StrategicShift) for f in s.mutable}
        for column in sorted(mutable):
            if column not in features or not pd.api.types.is_numeric_dtype(frame[column]):
                raise ValueError(f"mutable feature {column!r} must be a numeric feature column")
            frame[column] = frame[column].astype(float)
        # Strategic gradients: a central difference a tenth of the feature's spread wide.
        self._steps = {c: 0.1 * (float(frame[c].std()) or 1.0) for c in mutable}
        labels = (table[self.label] == self.positive).to_numpy(dtype=float)
        if np.unique(labels).shape[0] < 2:
            raise ValueError(
                f"label column {self.label!r} has no rows equal to positive={self.positive!r} "
                "or no other rows"
            )
        if self.group is not None:
            codes, names = pd.factorize(table[self.group], sort=True)
            self.group_names = [str(n) for n in names]
        else:
            codes, self.group_names = np.zeros(len(table), dtype=np.int64), ["all"]
        n = len(table)
        held = np.zeros(n, dtype=bool)
        order = np.random.default_rng(self.split_seed).permutation(n)
        held[order[: max(1, int(round(self.holdout * n)))]] = True
        if held.all():
            raise ValueError("holdout leaves no rows to arrive")
        live = np.flatnonzero(~held)
        if self.time_column is not None:
            live = live[np.argsort(table[self.time_column].to_numpy()[live], kind="stable")]
        hold = np.flatnonzero(held)
        self.live = (frame.iloc[live].reset_index(drop=True), labels[live], codes[live])
        self.hold = (frame.iloc[hold].reset_index(drop=True), labels[hold], codes[hold])
        self.feature_columns = features
        self.mutable = sorted(mutable)
        # Shifts may select rows by any column of the table (the group, a column not shown).
        self._live_shifts = ShiftState(self.shift_list, table.iloc[live], self.live[1])
        self._hold_shifts = ShiftState(self.shift_list, table.iloc[hold], self.hold[1])
        self._feedback = [s for s in self.shift_list if isinstance(s, FeedbackShift)]
        for shift in self._feedback:
            for column in shift.change:
                if column not in features or not pd.api.types.is_numeric_dtype(frame[column]):
                    raise ValueError(f"feedback change {column!r} must be a numeric feature column")
        self._prepared = True

    # -- ground truth -----------------------------------------------------------------------
    def _moved(self, frame: pd.DataFrame, t: float) -> tuple[pd.DataFrame, dict[str, float]]:
        """``frame`` after the strategic response to the deployed model (unchanged without one)."""
        decider = getattr(self, "decider", None)
        if not self.mutable or decider is None or not decider.fitted:
            return frame, {}
        model = decider.serving_model()  # no retrain happens here that is not due anyway

        def model_logit(x: pd.DataFrame) -> np.ndarray:
            if hasattr(model, "decision_function"):  # the logit itself, exact for a linear model
                return np.asarray(model.decision_function(x), dtype=float).reshape(-1)
            return logit(np.clip(model.predict_proba(x)[:, -1], 1e-12, 1 - 1e-12))

        return strategic_move(model_logit, frame, self.shift_list, t, self._steps)

    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """``n`` held-out cases under the current shifts: moved features, labels, group codes."""
        self.prepare()
        t = self.sim.clock.now if hasattr(self, "sim") else 0.0
        frame, labels, codes = self.hold
        weights, flip = self._hold_shifts.at(t)
        who = rng.choice(labels.shape[0], size=n, p=weights / weights.sum())
        y = np.abs(labels[who] - (rng.random(n) < flip[who]))
        features, _ = self._moved(frame.iloc[who].reset_index(drop=True), t)
        return features, y, codes[who]

    def history_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """``n`` cases of the arrivals part, unshifted and all labelled: the first model's history."""
        self.prepare()
        frame, labels, codes = self.live
        who = rng.integers(0, labels.shape[0], n)
        return frame.iloc[who].reset_index(drop=True), labels[who], codes[who]

    def holdout_truth(self, t: float) -> dict[str, Any]:
        """The held-out part at ``t`` as weighted rows: features, labels, weights, group codes.

        A row whose label flips with probability q counts twice: with its label at weight
        ``w (1 - q)`` and with the other label at weight ``w q`` (the expectation, no draw).
        """
        frame, labels, codes = self.hold
        weights, flip = self._hold_shifts.at(t)
        features, _ = self._moved(frame, t)
        if flip.any():
            return {
                "features": pd.concat([features, features], ignore_index=True),
                "labels": np.concatenate([labels, 1.0 - labels]),
                "weights": np.concatenate([weights * (1 - flip), weights * flip]),
                "groups": np.concatenate([codes, codes]),
                "rows": np.concatenate([np.arange(len(labels))] * 2),
            }
        return {
            "features": features,
            "labels": labels,
            "weights": weights,
            "groups": codes,
            "rows": np.arange(len(labels)),
        }

    # -- simulation -------------------------------------------------------------------------
    def start(self) -> None:
        self.prepare()
        self.decider = self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        g = len(self.group_names)
        self.n_groups = g
        per_group = ["all", *self.group_names]
        for metric in ("holdout_auc", "holdout_accuracy", "holdout_positive_rate"):
            self.declare(metric, per_group)
        for metric in (
            "acceptance_rate",
            "positive_rate",
            "arrival_share",
            "observed_positive_rate",
            "observed_rows",
        ):
            self.declare(metric, self.group_names)
        self.declare("strategic_move", self.mutable or ["none"])
        self._last = {m: np.zeros(g) for m in ("acceptance_rate", "positive_rate")}
        self._observed = np.zeros((2, g))  # labels observed, positives observed
        self._holdout_scores: np.ndarray | None = None
        self._presence = np.ones(self.live[1].shape[0])
        self._cursor = 0
        self._returning: list[tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]] = []
        self._measure_rng = self.rng.spawn(1)[0]
        self.sim.retrain_listeners.append(self._after_deploy)
        self.every(1.0, self.step)
        self.every(self.measure_every, self.measure)

    def _arrivals(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the arrivals part that arrive now and their label-flip probabilities."""
        k = self.cases_per_step
        n = self.live[1].shape[0]
        weights, flip = self._live_shifts.at(t, self._presence if self._feedback else None)
        if self.time_column is not None:
            rows = (self._cursor + np.arange(k)) % n
            self._cursor = (self._cursor + k) % n
        else:
            cdf = np.cumsum(weights)
            rows = np.searchsorted(cdf, self.rng.random(k) * cdf[-1], side="right")
            rows = np.minimum(rows, n - 1)
        return rows, flip[rows]

    def _delays(self, n: int) -> np.ndarray:
        delay = self.label_delay
        if isinstance(delay, (int, float)):
            return np.full(n, float(delay))
        if delay["distribution"] == "exponential":
            return self.rng.exponential(delay["mean"], n)
        return self.rng.uniform(delay["low"], delay["high"], n)

    def step(self) -> None:
        """One step: cases arrive (strategically moved), the agent decides, labels are scheduled."""
        t = self.now
        rng = self.rng
        frame, labels, codes = self.live
        rows, flip = self._arrivals(t)
        batch_frame = frame.iloc[rows].reset_index(drop=True)
        y = np.abs(labels[rows] - (rng.random(rows.shape[0]) < flip))
        groups = codes[rows]
        due = [r for r in self._returning if r[3][0] <= t]
        if due:  # denied cases that come back, changed
            self._returning = [r for r in self._returning if r[3][0] > t]
            batch_frame = pd.concat([batch_frame, *(r[0] for r in due)], ignore_index=True)
            y = np.concatenate([y, *(r[1] for r in due)])
            groups = np.concatenate([groups, *(r[2] for r in due)])
            rows = np.concatenate([rows, np.full(sum(len(r[1]) for r in due), -1)])
        self.decider.serving_model()  # a due retrain first: cases respond to the model that decides
        batch_frame, moves = self._moved(batch_frame, t)
        decision = self.decide(self.decider, Batch(batch_frame, groups))
        acted = decision.actions > 0
        if self.treatment_effect:
            effect = self.treatment_effect
            u = rng.random(y.shape[0])
            y = np.where(acted & (effect > 0) & (y < 0.5) & (u < effect), 1.0, y)
            y = np.where(acted & (effect < 0) & (y > 0.5) & (u < -effect), 0.0, y)
        self._reveal(batch_frame, y, groups, acted, decision.propensity)
        if self._feedback:
            self._denied(batch_frame, y, groups, rows, ~acted, t)

        counts = np.bincount(groups, minlength=self.n_groups).astype(float)
        self._rate("acceptance_rate", np.bincount(groups, acted, self.n_groups), counts)
        self._rate("positive_rate", np.bincount(groups, y, self.n_groups), counts)
        self.record("arrival_share", counts / max(counts.sum(), 1.0))
        observed, positives = self._observed
        with np.errstate(invalid="ignore", divide="ignore"):
            self.record("observed_positive_rate", np.where(observed > 0, positives / observed, 0.0))
        self.record("observed_rows", observed)
        self.record("strategic_move", [moves.get(f, 0.0) for f in self.mutable] or [0.0])

    def _rate(self, metric: str, numerator: np.ndarray, denominator: np.ndarray) -> None:
        last = self._last[metric]
        defined = denominator > 0
        last[defined] = numerator[defined] / denominator[defined]
        self.record(metric, last)

    def _reveal(
        self,
        frame: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray,
        acted: np.ndarray,
        propensity: np.ndarray,
    ) -> None:
        """Deliver the labels the decision reveals, after their delays."""
        if self.open_loop or self.reveals == "always":
            seen = np.ones_like(acted)
        else:
            seen = acted if self.reveals == "acted" else ~acted
        index = np.flatnonzero(seen)
        if index.size == 0:
            return
        open_loop = self.open_loop or self.reveals == "always"
        p = np.ones(index.size) if open_loop else propensity[index]
        if self.reveals == "not_acted" and not open_loop:
            p = 1.0 - p
        delays = self._delays(index.size)
        # One delivery per distinct delay (whole steps for a distribution: a label arrives
        # at the first step on or after its time).
        if not isinstance(self.label_delay, (int, float)):
            delays = np.ceil(delays)
        for d in np.unique(delays):
            part = index[delays == d]
            obs = Observations(
                frame.iloc[part].reset_index(drop=True), y[part], groups[part], p[delays == d]
            )
            self.deliver(self.decider, obs, delay=float(d))
            if d > 0:
                self.timeout(float(d)).callbacks.append(self._counter(groups[part], y[part]))
            else:
                self._count(groups[part], y[part])

    def _counter(self, groups: np.ndarray, labels: np.ndarray) -> Callable[[Any], None]:
        """A simpy callback that counts these labels when they arrive."""
        return lambda _event: self._count(groups, labels)

    def _count(self, groups: np.ndarray, labels: np.ndarray) -> None:
        self._observed += [
            np.bincount(groups, minlength=self.n_groups),
            np.bincount(groups, labels, self.n_groups),
        ]

    def _denied(
        self,
        frame: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray,
        rows: np.ndarray,
        denied: np.ndarray,
        t: float,
    ) -> None:
        """Population feedback: denied cases leave (their kind grows rarer) or come back changed."""
        for shift in self._feedback:
            s = shift.schedule.intensity(t)
            if s == 0.0:
                continue
            u = self.rng.random(y.shape[0])
            back = denied & (u < s * shift.returns)
            leave = denied & ~back & (u < s * (shift.returns + shift.leave)) & (rows >= 0)
            np.multiply.at(self._presence, rows[leave], 1.0 - shift.leave)
            if back.any():
                changed = frame.iloc[np.flatnonzero(back)].reset_index(drop=True).copy()
                for column, amount in shift.change.items():
                    changed[column] = changed[column] + amount
                when = np.full(int(back.sum()), t + shift.delay)
                self._returning.append((changed, y[back], groups[back], when))

    def _after_deploy(self, agent: Any) -> None:
        if agent.name == self.decider.name:
            self._holdout_scores = None

    def measure(self) -> None:
        """Ground truth on the held-out part: AUC, accuracy and positive rate, overall and per group."""
        t = self.now
        truth = self.holdout_truth(t)
        labels, weights, groups = truth["labels"], truth["weights"], truth["groups"]
        g = self.n_groups
        masks = [np.ones(labels.shape[0], dtype=bool)] + [groups == k for k in range(g)]
        rate = [
            np.average(labels[m], weights=weights[m]) if weights[m].sum() else 0.0 for m in masks
        ]
        self.record("holdout_positive_rate", rate)
        if not self.decider.fitted:
            self.record("holdout_auc", np.full(g + 1, 0.5))
            self.record("holdout_accuracy", np.full(g + 1, 0.5))
            return
        n = self.hold[1].shape[0]
        if self.mutable:  # the held-out cases respond to the deployed model too
            per_row = self.decider.score(truth["features"].iloc[:n])
        else:  # scores change only with the model: kept until the next deployment
            if self._holdout_scores is None:
                self._holdout_scores = self.decider.score(self.hold[0])
            per_row = self._holdout_scores
        scores = per_row[truth["rows"]]
        right = (scores >= 0.5) == (labels > 0.5)
        self.record("holdout_auc", [weighted_auc(labels[m], scores[m], weights[m]) for m in masks])
        self.record(
            "holdout_accuracy",
            [
                np.average(right[m], weights=weights[m]) if weights[m].sum() else np.nan
                for m in masks
            ],
        )
