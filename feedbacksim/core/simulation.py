"""Simulation: one replication of a scenario — a simpy clock, a world, its agents, a recorder."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy
from simpy.core import URGENT, StopSimulation

from feedbacksim.core.agent import Agent
from feedbacksim.core.environment import Environment
from feedbacksim.core.seeding import as_seed_sequence, named_generator
from feedbacksim.core.trace import METRIC_SCALES, Recorder, Trace

if TYPE_CHECKING:
    from feedbacksim.core.expressions import Expression


class Simulation:
    """One replication, seeded from one ``SeedSequence``.

    The environment draws from the stream named ``environment`` and each agent from
    ``agent:<name>``, so adding an agent never changes the others' draws. ``horizon`` is
    in the world's time unit (days for the built-in worlds).

    ``stop_when`` (optional) is a condition over recorded metrics, checked once every time
    unit after the world's step (from t=0), on the latest recorded value of each metric;
    when it holds, the replication stops early with a ``stopped`` event. It is not
    checked before every metric it reads has been recorded once.
    """

    def __init__(
        self,
        environment: Environment,
        agents: Sequence[Agent],
        horizon: float,
        seed: int | np.random.SeedSequence | None = None,
        metadata: dict[str, Any] | None = None,
        stop_when: Expression | None = None,
    ) -> None:
        names = [a.name for a in agents]
        if len(set(names)) != len(names):
            raise ValueError(f"agent names must be unique, got {names}")
        self.environment = environment
        self.agents = list(agents)
        self.horizon = horizon
        self.seed = as_seed_sequence(seed)
        self.metadata = dict(metadata or {})
        self.retrain_listeners: list[Callable[[Agent], None]] = []
        self.stop_when = stop_when

    @property
    def now(self) -> float:
        """Current simulated time."""
        return self.clock.now

    def after_retrain(self, agent: Agent) -> None:
        """Called by an agent after it deployed a new model (online analyzers hook in here)."""
        for listener in self.retrain_listeners:
            listener(agent)

    def stop(self, reason: str) -> None:
        """End the replication at the current time (e.g. an online analyzer failed)."""
        self.recorder.event(self.now, "stopped", "simulation", reason)
        # Urgent, so that nothing else queued for this time runs after the stop. simpy has
        # no public call for an urgent, already-triggered event: this is what its own
        # ``run(until=...)`` does.
        stop = simpy.Event(self.clock)
        stop._ok, stop._value = True, None
        stop.callbacks.append(StopSimulation.callback)
        self.clock.schedule(stop, URGENT)

    def run(self) -> Trace:
        """Run to the horizon (or an early stop) and return the trace."""
        self.clock = simpy.Environment()
        self.recorder = Recorder()
        self.environment.bind(self, named_generator(self.seed, "environment"))
        for agent in self.agents:
            agent.bind(self, named_generator(self.seed, f"agent:{agent.name}"))
        self.environment.start()
        self.metadata.setdefault(METRIC_SCALES, self.environment.scales())
        for agent in self.agents:
            if agent.pretrain_samples:
                rng = named_generator(self.seed, f"pretrain:{agent.name}")
                agent.pretrain(*self.environment.history_sample(agent.pretrain_samples, rng))
        if self.stop_when is not None:
            self.clock.process(self._watch(self.stop_when))
        self.clock.run(until=self.horizon)
        return self.recorder.trace(self.metadata)

    def _latest(self, metric: str, group: str | None) -> np.ndarray:
        """The latest recorded value(s) of ``metric`` (all groups, or one)."""
        series = self.recorder.series(metric)
        values = series.values[-1]
        if group is None:
            return values
        if group not in series.groups:
            raise ValueError(
                f"stop_when: metric {metric!r} has no group {group!r}; groups: "
                f"{', '.join(series.groups)}"
            )
        return values[series.groups.index(group)]

    def _recorded(self, metric: str) -> bool:
        try:
            return self.recorder.series(metric).values.shape[0] > 0
        except KeyError:  # declared by the world later, or never
            return False

    def _watch(self, condition: Expression) -> Generator[simpy.Event, Any, None]:
        """Check ``condition`` once per time unit (after the world's step) and stop when it holds."""
        metrics = condition.metrics()
        while True:
            if all(self._recorded(m) for m in metrics) and condition.evaluate(self._latest):
                self.stop(f"stop_when: {condition.source}")
                return
            yield self.clock.timeout(1.0)
