"""Agent: one deployed ML system — a model, a decision policy, its training data and a retrain trigger.

The model is any object with ``fit`` and ``predict_proba`` or ``predict`` (scikit-learn
protocol). A refit clones it with ``sklearn.base.clone`` and fits the clone on the training
window; an incremental update calls ``partial_fit`` with the rows observed since the last
update. A retrain that cannot happen — too few rows, one class, non-finite values, an
estimator that raises — keeps the deployed model and is logged as a ``retrain_skipped``
event with the reason; the run goes on.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from feedbacksim.core.cases import Batch, Decision, Observations
from feedbacksim.core.lazy_import import lazy_function
from feedbacksim.core.policies import Policy
from feedbacksim.core.seeding import named_generator
from feedbacksim.core.training_data import TrainingData, WindowKind

if TYPE_CHECKING:
    from feedbacksim.core.simulation import Simulation

# scikit-learn is imported when a model is first scored or refitted, not at start-up.
clone = lazy_function("sklearn.base", "clone")
is_classifier = lazy_function("sklearn.base", "is_classifier")
check_is_fitted = lazy_function("sklearn.utils.validation", "check_is_fitted")

RetrainMode = Literal["auto", "refit", "incremental"]


def model_scores(model: Any, features: np.ndarray) -> np.ndarray:
    """Scores of ``model`` on ``features``: P(positive class) for classifiers, else ``predict``."""
    if hasattr(model, "predict_proba") and is_classifier(model):
        return model.predict_proba(features)[:, -1]
    return np.asarray(model.predict(features), dtype=float)


class Scorer:
    """Scores of one deployed model, with scikit-learn's input validation once per deployment.

    A 1-row ``predict_proba`` of a logistic regression spends about 97% of its time
    validating the input (about 110 us against 2 us for the arithmetic). The first batch
    goes through ``predict_proba``; if the model is a binary scikit-learn
    ``LogisticRegression`` and the direct computation ``expit(X @ coef_.T + intercept_)``
    gives the very same scores on that batch, later batches of the same shape and dtype
    take the direct path (still checked for finite values; anything else falls back to
    ``predict_proba``, which raises as before). Every other model is always scored by
    :func:`model_scores`.
    """

    __slots__ = ("model", "_direct")

    def __init__(self, model: Any) -> None:
        self.model = model
        self._direct: bool | None = None  # undecided until the first batch

    def __call__(self, features: Any) -> np.ndarray:
        if self._direct and self._fits(features):
            return self._linear(features)
        scores = model_scores(self.model, features)
        if self._direct is None:
            self._direct = self._linear_model() and self._fits(features)
            if self._direct:
                self._direct = bool(np.array_equal(self._linear(features), scores))
        return scores

    def _linear_model(self) -> bool:
        if type(self.model).__name__ != "LogisticRegression":
            return False
        from sklearn.linear_model import LogisticRegression

        coef = getattr(self.model, "coef_", None)
        return (
            type(self.model) is LogisticRegression
            and isinstance(coef, np.ndarray)
            and coef.ndim == 2
            and coef.shape[0] == 1
            and len(self.model.classes_) == 2
        )

    def _fits(self, features: Any) -> bool:
        return (
            type(features) is np.ndarray
            and features.dtype == np.float64
            and features.ndim == 2
            and features.shape[1] == self.model.coef_.shape[1]
            and _all_finite(features)
        )

    def _linear(self, features: np.ndarray) -> np.ndarray:
        decision = features @ self.model.coef_.T + self.model.intercept_
        return _expit(decision.reshape(-1))


_expit = lazy_function("scipy.special", "expit")


def _all_finite(values: np.ndarray) -> bool:
    """Whether every value is finite (no NaN, no inf): ``np.isfinite(values).all()``, cheaper."""
    return np.count_nonzero(np.isfinite(values)) == values.size


def _unseeded(model: Any) -> bool:
    """Whether ``model`` has a ``random_state`` parameter left at None (numpy's global state)."""
    get_params = getattr(model, "get_params", None)
    return get_params is not None and get_params(deep=False).get("random_state", 0) is None


def is_fitted(model: Any) -> bool:
    """Whether ``model`` can predict (scikit-learn's own check)."""
    from sklearn.exceptions import NotFittedError

    try:
        check_is_fitted(model)
    except NotFittedError:
        return False
    except TypeError:  # not an estimator at all: assume it knows what it is doing
        return True
    return True


class Agent:
    """A deployed model with its policy, training data and retraining rule.

    Args:
        name: unique name within a scenario (used in events, seeds and override paths).
        model: the initial (possibly unfitted) estimator.
        policy: a :class:`~feedbacksim.core.policies.Policy`.
        window: which observed rows a refit trains on: ``all``, ``sliding`` or ``reservoir``.
        window_size: rows kept by a sliding or reservoir window.
        retrain_every: retrain when this much simulated time has passed since the last
            retrain (checked before each decision; ``None`` disables the schedule).
        retrain_after_rows: also retrain once this many new rows have arrived.
        min_samples: fewest training rows a refit accepts.
        mode: ``refit`` (clone and fit on the window), ``incremental`` (``partial_fit`` on
            new rows) or ``auto`` (incremental when the model has ``partial_fit`` and the
            window keeps all rows).
        unfitted_score: the score given to every case while no model is fitted yet.
        gate: optional deployment gate (:mod:`feedbacksim.core.gates`): ``holdout(times,
            unseen)`` names the rows held out of a challenger's fit once a champion is
            deployed, ``accept(champion, challenger, features, labels) -> (bool, reason)``
            judges it on them; a rejected challenger is logged and the champion stays.
        pretrain_samples: size of the unbiased historical sample of the true population
            the first model is fitted on before deployment (0: start unfitted).
        monitors: optional :class:`~feedbacksim.analyzers.monitors.MonitorSet`, checked before each
            decision; its alarms are events and metrics.
        on_alarm: names of monitors whose alarm triggers a retrain, at most once per
            ``alarm_cooldown`` time units since the last retrain.
        alarm_cooldown: the least time between the last retrain and an alarm's retrain.
    """

    def __init__(
        self,
        name: str,
        model: Any,
        policy: Policy,
        *,
        window: WindowKind = "all",
        window_size: int | None = None,
        retrain_every: float | None = 1.0,
        retrain_after_rows: int | None = None,
        min_samples: int = 1,
        mode: RetrainMode = "auto",
        unfitted_score: float = 0.5,
        gate: Any = None,
        pretrain_samples: int = 0,
        monitors: Any = None,
        on_alarm: Sequence[str] = (),
        alarm_cooldown: float = 0.0,
    ) -> None:
        self.name = name
        self.model = model
        self.policy = policy
        self.window = window
        self.window_size = window_size
        self.retrain_every = retrain_every
        self.retrain_after_rows = retrain_after_rows
        self.min_samples = min_samples
        self.mode = mode
        self.unfitted_score = unfitted_score
        self.gate = gate
        self.pretrain_samples = pretrain_samples
        self.monitors = monitors
        self.on_alarm = frozenset(on_alarm)
        self.alarm_cooldown = alarm_cooldown

    # -- lifecycle -------------------------------------------------------------------
    def bind(self, sim: Simulation, rng: np.random.Generator) -> None:
        """Attach to a replication: fresh training data, generator and retrain clock."""
        self.sim = sim
        self.rng = rng
        self.data = TrainingData(self.window, self.window_size, rng)
        # A copy: incremental updates change the deployed model in place, and the template
        # must stay as the scenario built it (a second run of the same Simulation, a gate's
        # champion).
        self.deployed = copy.deepcopy(self.model)
        self._scorer = Scorer(self.deployed)
        # Seeds for estimators left with ``random_state=None`` (which would read numpy's
        # global state): a stream of their own, so seeding them shifts no other draw.
        self._estimator_seeds = named_generator(sim.seed, f"estimator:{self.name}")
        self._fitted = is_fitted(self.model)
        self._incremental = self.mode == "incremental" or (
            self.mode == "auto" and hasattr(self.model, "partial_fit") and self.window == "all"
        )
        self._last_retrain = 0.0
        self._rows_at_retrain = 0
        # Rows observed (and the time) when the deployed model was fitted: the rows
        # observed since are the ones it never saw (a gate's held-out labels come from
        # them). A model fitted before the run saw none of this run's rows.
        self._deployed_seen = 0
        self._deployed_at = -np.inf
        self.retrains = 0
        if self.monitors is not None:
            self.monitors.bind(self)

    def pretrain(
        self, features: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None
    ) -> None:
        """Fit the first deployed model on historical data (kept in the training data)."""
        self.data.add(Observations(features, labels, groups), self.sim.now)
        self.retrain()

    @property
    def fitted(self) -> bool:
        """Whether a model is deployed (before the first successful fit every score is the default)."""
        return self._fitted

    # -- the loop --------------------------------------------------------------------
    def decide(self, batch: Batch) -> Decision:
        """Score the batch with the deployed model (retraining first if due) and act on it."""
        self.retrain_if_due()
        if self._fitted:
            if self._scorer.model is not self.deployed:
                self._scorer = Scorer(self.deployed)
            scores = self._scorer(batch.features)
        else:
            scores = np.full(len(batch), self.unfitted_score)
        if self.monitors is not None:
            self.monitors.saw(self.sim.clock.now, batch.features, scores, batch.groups)
        return self.policy.decide(scores, batch, self.rng)

    def retrain_if_due(self) -> bool:
        """Retrain now if the retrain rule says so; returns whether a new model was deployed.

        :meth:`decide` calls it first; :meth:`AgentView.serving_model` too, for a world whose
        cases respond to the deployed model before they are scored (strategic applicants), so
        that the cases face the model that will decide on them.
        """
        if self.monitors is not None and self._alarm_retrain_due():
            return self.retrain()
        every = self.retrain_every
        if every is not None and self.sim.clock.now - self._last_retrain >= every:
            return self.retrain()
        after = self.retrain_after_rows
        if after is not None and self.data.seen - self._rows_at_retrain >= after:
            return self.retrain()
        return False

    def _alarm_retrain_due(self) -> bool:
        """Run the monitors that are due; whether an ``on_alarm`` monitor alarmed past the cool-down."""
        now = self.sim.clock.now
        alarms = self.monitors.check(now)
        return (
            bool(self.on_alarm.intersection(alarms))
            and now - self._last_retrain >= self.alarm_cooldown
        )

    def observe(self, obs: Observations) -> None:
        """Add rows the environment let this agent see to its training data."""
        self.data.add(obs, self.sim.now)
        if self.monitors is not None:
            self.monitors.observed(self.sim.now, obs.features, obs.labels, obs.groups)

    def retrain(self) -> bool:
        """Retrain now; returns whether a new model was deployed."""
        now = self.sim.now
        self._last_retrain = now
        self._rows_at_retrain = self.data.seen
        if self._incremental and self._fitted and not self.data.frames:
            # Rows of a failed update are dropped with it (the event says why); retrying
            # them would fail the same way at every later update.
            start, stop = self.data.consume()
            n = stop - start
            if n <= 0:
                return False
            held_rows: dict[str, np.ndarray] = {}
            if self.gate is not None:
                # The newest rows are held out of the update and judge it; they stay
                # unconsumed, so the next update learns from them.
                cols = self.data.columns()
                times = cols["time"][start:stop]
                held = self.gate.holdout(times, np.ones(times.shape[0], dtype=bool))
                stop -= int(np.count_nonzero(held))  # the newest rows: the last ones
                self.data.consumed = stop
                end = start + held.shape[0]
                held_rows = {k: cols[k][stop:end] for k in ("features", "labels")}
            # With a gate the update goes to a copy, so that a rejected one is not deployed.
            model = copy.deepcopy(self.deployed) if self.gate is not None else self.deployed
            candidate, reason = self._partial_fit(model, start, stop)
        else:
            # A refit, or the first model of an incremental agent: ``fit`` on the window
            # (a classifier's first ``partial_fit`` would need every class up front).
            rows = self.data.rows()
            held_rows = {}
            if self.gate is not None and self._fitted:
                held = self.gate.holdout(rows["time"], self._unseen(rows["time"]))
                held_rows = {k: rows[k][held] for k in ("features", "labels")}
                rows = {k: v[~held] for k, v in rows.items()}
            n = rows["labels"].shape[0]
            candidate, reason = self._fit(clone(self.model), rows)
            if candidate is not None and self._incremental:
                self.data.consume()
        recorder = self.sim.recorder
        if candidate is None:
            recorder.event(now, "retrain_skipped", self.name, reason)
            return False
        if self.gate is not None and self._fitted:
            accepted, why = self.gate.accept(
                self.deployed, candidate, held_rows["features"], held_rows["labels"]
            )
            if not accepted:
                recorder.event(now, "deploy_rejected", self.name, why)
                return False
        self.deployed = candidate
        self._fitted = True
        self._deployed_seen, self._deployed_at = self.data.seen, now
        self.retrains += 1
        recorder.event(now, "retrain", self.name, f"rows={n}")
        on_deploy = getattr(self.policy, "on_deploy", None)
        if on_deploy is not None:  # policies whose parameters depend on the deployed model
            on_deploy(self)
        if self.sim.retrain_listeners:
            self.sim.after_retrain(self)
        return True

    def _unseen(self, times: np.ndarray) -> np.ndarray:
        """Mask of the training window's rows the deployed model was not fitted on.

        All and sliding windows keep rows in arrival order, so those are the last rows
        observed since the deployment; a reservoir keeps a sample in no order, so there
        they are the rows observed after the deployment's time (the rows observed at that
        very time count as seen: the gate errs towards the champion).
        """
        n = times.shape[0]
        if self.data.window == "reservoir":
            return times > self._deployed_at
        unseen = np.zeros(n, dtype=bool)
        unseen[n - min(n, self.data.seen - self._deployed_seen) :] = True
        return unseen

    def _partial_fit(self, model: Any, start: int, stop: int) -> tuple[Any, str]:
        """Incremental update of ``model`` on training rows ``start:stop``; as :meth:`_fit`.

        The per-step path of :meth:`retrain`: the finite-values check of :meth:`_fit`, on
        the new rows only, slicing only the columns the fit reads.
        """
        cols = self.data.columns()
        x, y = cols["features"][start:stop], cols["labels"][start:stop]
        if not (_all_finite(x) and _all_finite(y)):
            return None, "non-finite values (NaN or inf) in training data"
        try:
            if getattr(model, "uses_propensity", False):
                model.partial_fit(
                    x,
                    y,
                    propensity=cols["propensity"][start:stop],
                    min_propensity=cols["min_propensity"][start:stop],
                    rng=self.rng,
                )
            else:
                model.partial_fit(x, y)
        except Exception as exc:  # noqa: BLE001 - any estimator failure is an event, not a crash
            return None, f"fit raised {type(exc).__name__}: {exc}"
        return model, ""

    def _fit(self, model: Any, rows: dict[str, np.ndarray]) -> tuple[Any, str]:
        """Fit ``model`` on ``rows``; ``(model, "")`` or ``(None, reason)``."""
        x, y = rows["features"], rows["labels"]
        n = y.shape[0]
        if n < self.min_samples:
            return None, f"too few rows: {n} < min_samples {self.min_samples}"
        # DataFrame features (a user's Pipeline) may hold missing values on purpose: the
        # estimator decides, and an estimator that raises is an event like any other.
        finite_x = _all_finite(x) if isinstance(x, np.ndarray) else True
        if not (finite_x and _all_finite(y)):  # cheap next to any fit
            return None, "non-finite values (NaN or inf) in training data"
        if is_classifier(model) and np.unique(y).shape[0] < 2:
            return (
                None,
                f"one class in training labels ({n} rows, all {y[0]:g})" if n else "no rows",
            )
        if _unseeded(model):
            model.set_params(random_state=int(self._estimator_seeds.integers(2**31 - 1)))
        kwargs: dict[str, Any] = {}
        if getattr(model, "uses_propensity", False):
            kwargs = {
                "propensity": rows["propensity"],
                "min_propensity": rows["min_propensity"],
                "rng": self.rng,
            }
        try:
            model.fit(x, y, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any estimator failure is an event, not a crash
            return None, f"fit raised {type(exc).__name__}: {exc}"
        return model, ""


class AgentView:
    """What a world may know of an agent: its name, its decisions and the model it serves.

    A world holds views, never agents (``Environment.agents``), so that the agent's training
    data, retrain clock and policy state stay its own; everything a world may read is here.
    """

    __slots__ = ("_agent",)

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    @property
    def name(self) -> str:
        """The agent's name in the scenario."""
        return self._agent.name

    def decide(self, batch: Batch) -> Decision:
        """The agent's decision on ``batch`` (a retrain that is due happens first)."""
        return self._agent.decide(batch)

    @property
    def version(self) -> int:
        """How many models the agent has deployed in this replication (0: still the first)."""
        return self._agent.retrains

    @property
    def fitted(self) -> bool:
        """Whether a fitted model is deployed."""
        return self._agent.fitted

    def serving_model(self) -> Any:
        """The model that will decide on the next batch: a retrain that is due happens first."""
        self._agent.retrain_if_due()
        return self._agent.deployed

    def score(self, features: np.ndarray) -> np.ndarray:
        """The deployed model's scores on ``features`` (no retrain, no decision)."""
        return model_scores(self._agent.deployed, features)

    @property
    def threshold(self) -> float | None:
        """The policy's decision threshold, for worlds whose cases respond to it; else None."""
        threshold = getattr(self._agent.policy, "threshold", None)
        return float(threshold) if isinstance(threshold, int | float) else None

    def training_labels(self) -> np.ndarray:
        """The labels of the agent's training window (what its next refit trains on), read-only."""
        labels = self._agent.data.rows()["labels"].view()
        labels.flags.writeable = False
        return labels
