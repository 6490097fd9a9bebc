"""Simulation: one replication of a scenario — a simpy clock, a world, its agents, a recorder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import simpy
from simpy.core import URGENT, StopSimulation

from feedbacksim.agent import Agent
from feedbacksim.environment import Environment
from feedbacksim.seeding import as_seed_sequence, named_generator
from feedbacksim.trace import Recorder, Trace


class Simulation:
    """One replication, seeded from one ``SeedSequence``.

    The environment draws from the stream named ``environment`` and each agent from
    ``agent:<name>``, so adding an agent never changes the others' draws. ``horizon`` is
    in the world's time unit (days for the built-in worlds).
    """

    def __init__(
        self,
        environment: Environment,
        agents: Sequence[Agent],
        horizon: float,
        seed: int | np.random.SeedSequence | None = None,
        metadata: dict[str, Any] | None = None,
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
        for agent in self.agents:
            if agent.pretrain_samples:
                rng = named_generator(self.seed, f"pretrain:{agent.name}")
                agent.pretrain(*self.environment.population_sample(agent.pretrain_samples, rng))
        self.clock.run(until=self.horizon)
        return self.recorder.trace(self.metadata)
