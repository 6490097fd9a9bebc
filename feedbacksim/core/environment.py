"""Environment: the world an agent is deployed in, built on simpy.

A world keeps its state in numpy arrays and advances it in simpy processes (arrivals,
label delays, shocks, drifts). It asks agents for decisions on *batches* of cases, turns
decisions into outcomes, changes its own state because of them (the performative effect),
and decides what each agent may observe and when. Ground truth never leaves the
environment except through recorded metrics.

A subclass declares the metrics it records in ``metrics`` (name -> description) and
implements :meth:`start`, which declares the metrics' groups and starts its processes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import simpy

from feedbacksim.core.agent import AgentView, model_scores
from feedbacksim.core.cases import Batch, Decision, Observations
from feedbacksim.core.seeding import named_generator

if TYPE_CHECKING:
    from feedbacksim.core.agent import Agent
    from feedbacksim.core.simulation import Simulation


MAX_ARRAY_CELLS = 50_000_000  # about 400 MB of float64 in one world array


def step_every_unit(step: Callable[[], None], horizon: float) -> None:
    """Call ``step()`` at times 0, 1, 2, ... before ``horizon`` on a clock of its own: one
    simpy event per time unit, as ``Environment.every(1.0, step)`` does in a replication
    (the replication-axis kernels advance every replication in each call)."""
    clock = simpy.Environment()

    def loop() -> Generator[simpy.Event, Any, None]:
        while True:
            step()
            yield clock.timeout(1.0)

    clock.process(loop())
    clock.run(until=horizon)


class Environment:
    """Base class of every world.

    Class attributes:
        metrics: the metrics the world records, name -> one-line description. Scenario
            validation checks analyzers against it.
        time_unit: what one unit of simulated time is (axis labels of reports).
        metric_units: the unit of each metric that has one, name -> unit (e.g.
            ``"probability"``, ``"incidents per day"``); axis labels of reports.
        metric_scales: the natural scale of a metric, in its own units, for metrics that
            have one whatever the world's parameters: 1 for a share or a probability (the
            width of its range [0, 1]) and for a ratio to the truth. Analyzers judge
            relative tolerances in it (docs/analyzers.md); a world whose scale depends on
            its parameters overrides :meth:`scales`.
        model_needs: what the world needs of an agent's model (``classifier``: with
            ``predict_proba``; ``regressor``; ``scorer``: either), checked at load by
            :mod:`feedbacksim.scenario.capabilities`; ``None``: no check.
        model_kinds: the registered model kinds of feedbacksim that can serve this world
            (empty: any that meets ``model_needs``).
    """

    kind: ClassVar[str] = ""
    metrics: ClassVar[dict[str, str]] = {}
    time_unit: ClassVar[str] = "days"
    metric_units: ClassVar[dict[str, str]] = {}
    metric_scales: ClassVar[dict[str, float]] = {}
    model_needs: ClassVar[str | None] = None
    model_kinds: ClassVar[tuple[str, ...]] = ()

    # Set by the framework (not by a scenario): whether this run is the open-loop twin.
    open_loop: bool = False

    def bind(self, sim: Simulation, rng: np.random.Generator) -> None:
        """Attach to a replication: its simpy clock, recorder, agents and random stream."""
        self.sim = sim
        self.rng = rng
        self.recorder = sim.recorder
        self._clock = sim.clock  # cached for the per-step record path
        self._record = sim.recorder.record
        self._agents: dict[str, Agent] = {a.name: a for a in sim.agents}
        self.agents: dict[str, AgentView] = {a.name: AgentView(a) for a in sim.agents}
        if type(self).on_deploy is not Environment.on_deploy:
            sim.retrain_listeners.append(lambda agent: self.on_deploy(self.agents[agent.name]))

    def start(self) -> None:
        """Declare the recorded metrics and start the world's simpy processes."""
        raise NotImplementedError

    def scales(self) -> dict[str, float]:
        """Each metric's natural scale in its own units (``metric_scales`` by default)."""
        return dict(self.metric_scales)

    # -- helpers for subclasses ----------------------------------------------------------
    @property
    def now(self) -> float:
        """Current simulated time."""
        return self.sim.clock.now

    def process(self, generator: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start a simpy process."""
        return self.sim.clock.process(generator)

    def timeout(self, delay: float) -> simpy.Timeout:
        """A simpy event ``delay`` time units from now."""
        return self.sim.clock.timeout(delay)

    def every(self, interval: float, step: Any, start: float = 0.0) -> simpy.Process:
        """Call ``step()`` every ``interval`` time units from ``start`` on (one simpy event per call)."""

        def loop() -> Generator[simpy.Event, Any, None]:
            if start > 0:
                yield self.sim.clock.timeout(start)
            timeout = self.sim.clock.timeout
            while True:
                step()
                yield timeout(interval)

        return self.process(loop())

    def decide(self, agent: AgentView, batch: Batch) -> Decision:
        """Ask ``agent`` for a decision on ``batch``."""
        return agent.decide(batch)

    def deliver(self, agent: AgentView, obs: Observations, delay: float = 0.0) -> None:
        """Let ``agent`` observe ``obs``, now or after ``delay`` (a simpy timeout, no process)."""
        if len(obs) == 0:
            return
        observe = self._agents[agent.name].observe
        if delay <= 0:
            observe(obs)
        else:
            self.sim.clock.timeout(delay).callbacks.append(lambda _event: observe(obs))

    def on_deploy(self, agent: AgentView) -> None:
        """Called after ``agent`` deploys a new model, in worlds that override it."""

    def stream(self, name: str) -> np.random.Generator:
        """A generator of the world's own for ``name`` (e.g. measurement samples), from the
        replication's seed, so that drawing from it never shifts the world's other draws."""
        return named_generator(self.sim.seed, f"environment:{name}")

    def declare(self, metric: str, groups: Sequence[Any] | None = None) -> None:
        """Declare a recorded metric and its group labels (``None`` for an ungrouped metric)."""
        if metric not in self.metrics:
            raise ValueError(
                f"{type(self).__name__} records {metric!r} but does not list it in metrics"
            )
        self.recorder.declare(metric, groups)

    def record(self, metric: str, values: Any) -> None:
        """Record ``values`` (one per group) of ``metric`` at the current time."""
        self._record(metric, self._clock.now, values)

    def event(self, kind: str, detail: str = "") -> None:
        """Log a world event (a shock, a policy change...)."""
        self.recorder.event(self.now, kind, self.kind or type(self).__name__, detail)

    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """A fresh labelled sample ``(features, labels, groups)`` of the true population.

        Worlds with a population of cases implement it; it is ground truth, used to measure
        a model's real quality and to pretrain agents on unbiased historical data.
        """
        raise NotImplementedError(f"{type(self).__name__} has no population to sample")

    def history_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Unbiased labelled history the first model is fitted on (``pretrain``); by default
        :meth:`population_sample` (a table world draws it from the rows that arrive, keeping
        its held-out rows for ground truth only)."""
        return self.population_sample(n, rng)

    @classmethod
    def array_cells(cls, params: dict[str, Any]) -> dict[str, int]:
        """The array elements the world holds at once, by the parameters that size them.

        Keys name the parameters (``"n_users * n_items"``); validation refuses a scenario
        whose count exceeds :data:`MAX_ARRAY_CELLS` before anything is allocated. Worlds
        whose arrays grow with their parameters override it.
        """
        return {}

    @classmethod
    def has_population(cls) -> bool:
        """Whether the world implements :meth:`population_sample` (ground-truth measurements need it)."""
        return cls.population_sample is not Environment.population_sample

    def evaluate_model(self, agent: Agent, n: int, rng: np.random.Generator) -> dict[str, float]:
        """Ground-truth quality of ``agent``'s deployed model on a fresh population sample of ``n``.

        Returns :func:`feedbacksim.core.quality.model_quality` (AUC, accuracy, log loss, Brier
        score, ECE, RMSE; NaN where a metric does not apply or no model is fitted yet).
        """
        from feedbacksim.core.quality import model_quality

        features, labels, _ = self.population_sample(n, rng)
        if not agent.fitted:
            return model_quality(labels[:0], labels[:0])
        return model_quality(labels, model_scores(agent.deployed, features))
