"""A scenario as a ``gymnasium.Env``: one agent's decisions are the caller's, the world is feedbacksim's.

``make("scenarios/bandit.yaml")`` builds the scenario's world and agents as a run would.
Whenever the world asks the controlled agent to decide, the episode pauses: the batch of
cases the world hands over is the observation, and the caller's action replaces what the
agent's policy would have done. The world then turns that action into outcomes, changes
its state because of it (the feedback loop), lets the agent observe what the world allows
(selective, delayed labels) and retrains it on its schedule, exactly as in a run.

* **Observation**: the batch's features, ``Box(shape=(cases, features))``.
* **Action**, from the batch: ``Discrete(cases)`` when the batch has one unit to allocate
  (a pull, a patrol), ``MultiDiscrete([capacity + 1] * cases)`` for several units (units
  beyond the capacity are dropped in case order), ``MultiBinary(cases)`` for yes/no
  decisions on every case (loans).
* **Reward**: the scenario's ``reward:`` block, an expression over the world's metrics.
* **info**: the simulated time, the world's latest value of every recorded metric (ground
  truth the agent never sees), the batch's groups and ``policy_action``, what the
  scenario's own policy would do. Passing ``info["policy_action"]`` back at every step
  reproduces a ``feedbacksim run`` replication: ``reset(seed=s)`` is replication 0 of a
  run with seed ``s``.
* ``truncated`` at the horizon; ``terminated`` when the scenario's ``stop_when`` stops it.

The world runs in a helper thread that hands control back and forth with the caller, so
exactly one of them runs at a time and the trace is deterministic. gymnasium is the
optional extra ``feedbacksim[gym]``.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.core.cases import Batch, Decision
from feedbacksim.errors import ScenarioError

if TYPE_CHECKING:
    from feedbacksim.core.agent import Agent
    from feedbacksim.core.simulation import Simulation
    from feedbacksim.scenario.scenario import Scenario

GYM_MISSING = 'feedbacksim.gym needs gymnasium: pip install "feedbacksim[gym]"'

try:
    import gymnasium
    from gymnasium import spaces
except ImportError:  # pragma: no cover - exercised only without the extra
    gymnasium = None  # type: ignore[assignment]
    spaces = None  # type: ignore[assignment]


class _Abort(BaseException):
    """Raised inside the world's thread to end an episode that the caller abandoned."""


def action_space_for(batch: Batch) -> Any:
    """The gymnasium space of decisions on ``batch`` (see the module docstring)."""
    n = len(batch)
    if batch.capacity is None:
        return spaces.MultiBinary(n)
    if batch.capacity == 1:
        return spaces.Discrete(n)
    return spaces.MultiDiscrete(np.full(n, batch.capacity + 1))


def _as_actions(action: Any, batch: Batch) -> np.ndarray:
    """The caller's action as the ``actions`` array of a Decision on ``batch``."""
    n = len(batch)
    if batch.capacity == 1:
        actions = np.zeros(n, dtype=np.int64)
        actions[int(action)] = 1
        return actions
    actions = np.asarray(action, dtype=np.int64).reshape(n)
    if batch.capacity is None:
        return (actions > 0).astype(np.int8)
    # Several units: keep at most ``capacity`` of them, in case order.
    kept = np.clip(batch.capacity - (np.cumsum(actions) - actions), 0, None)
    return np.minimum(actions, kept)


def _from_actions(actions: np.ndarray, batch: Batch) -> Any:
    """A Decision's actions as the caller's action (the inverse of :func:`_as_actions`)."""
    if batch.capacity == 1:
        return int(np.argmax(actions))
    if batch.capacity is None:
        return (np.asarray(actions) > 0).astype(np.int8)
    return np.asarray(actions, dtype=np.int64)


class FeedbackEnv(gymnasium.Env if gymnasium is not None else object):  # type: ignore[misc]
    """A scenario's world with one agent's decisions left to the caller (see the module doc)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, scenario: Scenario, agent: str | None = None) -> None:
        if gymnasium is None:
            raise ScenarioError(GYM_MISSING)
        from feedbacksim.core.expressions import parse

        spec = scenario.spec
        if spec.reward is None:
            raise ScenarioError(
                f"{scenario.name}: a gymnasium environment needs the scenario's reward: block "
                '(e.g. reward: {expression: "sum(discovered)"})'
            )
        names = [a.name for a in spec.agents]
        self.agent_name = agent or spec.reward.agent or names[0]
        if self.agent_name not in names:
            raise ScenarioError(f"no agent named {self.agent_name!r}; agents: {names}")
        self.scenario = scenario
        self.reward_expression = parse(spec.reward.expression)
        self.reward_change = spec.reward.change
        self._thread: threading.Thread | None = None
        self._simulation: Simulation | None = None
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._outbox: queue.Queue[tuple[str, Any, Any]] = queue.Queue()
        # The spaces come from the world's first batch (worlds hand over fixed-size batches).
        observation, _ = self.reset(seed=spec.seed)
        batch = self._batch
        self.observation_space = spaces.Box(-np.inf, np.inf, observation.shape, np.float64)
        self.action_space = action_space_for(batch)
        self._shape = (len(batch), batch.capacity)
        self.close()

    # -- the world's side --------------------------------------------------------------
    def _decide(self, agent: Agent, batch: Batch) -> Decision:
        """The controlled agent's ``decide``: hand the batch to the caller and wait."""
        from feedbacksim.core.agent import Agent as AgentClass

        own = AgentClass.decide(agent, batch)  # retrain, score, the policy's own draw
        self._outbox.put(("decide", batch, own))
        action = self._inbox.get()
        if action is _Abort:
            raise _Abort
        actions = _as_actions(action, batch)
        if np.array_equal(actions, own.actions):
            return own
        if batch.capacity is None:
            propensity = actions.astype(float)
        else:
            propensity = actions / float(batch.capacity)
        return Decision(own.scores, actions, propensity)

    def _run(self, sim: Simulation) -> None:
        try:
            sim.run()
        except _Abort:
            return
        except BaseException as exc:  # a world or estimator failure: give it to the caller
            self._outbox.put(("error", exc, None))
            return
        self._outbox.put(("done", None, None))

    # -- the caller's side -------------------------------------------------------------
    @property
    def _sim(self) -> Simulation:
        """The episode's simulation (after :meth:`reset`)."""
        if self._simulation is None:
            raise RuntimeError("call reset() first")
        return self._simulation

    def _latest(self, metric: str, group: str | None) -> np.ndarray:
        series = self._sim.recorder.series(metric)
        values = series.values[-1] if series.values.shape[0] else np.zeros(len(series.groups))
        return values if group is None else values[series.groups.index(group)]

    def _metrics(self) -> dict[str, np.ndarray]:
        out = {}
        for name in self._sim.environment.metrics:
            try:
                series = self._sim.recorder.series(name)
            except KeyError:
                continue
            if series.values.shape[0]:
                out[name] = np.array(series.values[-1], dtype=float)
        return out

    def _score(self) -> float:
        try:
            value = self.reward_expression.evaluate(self._latest)
        except (KeyError, IndexError, ValueError):  # a metric not recorded yet
            return 0.0
        value = float(np.asarray(value, dtype=float).sum())
        return value if np.isfinite(value) else 0.0

    def _wait(self) -> tuple[str, Any, Any]:
        kind, batch, own = self._outbox.get()
        if kind == "error":
            raise batch
        return kind, batch, own

    def _observation(self, batch: Batch) -> np.ndarray:
        return np.array(batch.features, dtype=np.float64, copy=True)  # the caller keeps it

    def _info(self, batch: Batch | None, own: Decision | None) -> dict[str, Any]:
        info: dict[str, Any] = {"time": float(self._sim.now), "metrics": self._metrics()}
        if batch is not None and own is not None:
            info["policy_action"] = _from_actions(own.actions, batch)
            info["groups"] = None if batch.groups is None else np.asarray(batch.groups)
        return info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: replication 0 of a run with ``seed`` (default: the scenario's)."""
        from feedbacksim.core.seeding import replication_sequences

        if gymnasium is not None and hasattr(super(), "reset"):
            super().reset(seed=seed)
        self.close()
        run_seed = self.scenario.spec.seed if seed is None else int(seed)
        sim = self.scenario.build(replication_sequences(run_seed, 1)[0], replication=0)
        controlled = next(a for a in sim.agents if a.name == self.agent_name)
        controlled.decide = lambda batch: self._decide(controlled, batch)  # type: ignore[method-assign]
        self._simulation, self._inbox, self._outbox = sim, queue.Queue(), queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(sim,), daemon=True)
        self._thread.start()
        kind, batch, own = self._wait()
        if kind != "decide":
            raise ScenarioError(f"{self.scenario.name}: agent {self.agent_name!r} never decides")
        self._batch, self._own, self._done = batch, own, False
        self._previous = self._score()
        return self._observation(batch), self._info(batch, own)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` to the pending batch and run the world to the next decision."""
        if self._thread is None or self._done:
            raise RuntimeError("call reset() before step() (the episode is over)")
        self._inbox.put(action)
        kind, batch, own = self._wait()
        score = self._score()
        reward = score - self._previous if self.reward_change else score
        self._previous = score
        if kind == "done":
            self._done = True
            self._thread.join()
            self._thread = None
            events = self._sim.recorder.trace({}).events_frame()
            stopped = bool((events["kind"] == "stopped").any()) if len(events) else False
            terminal = np.zeros(self.observation_space.shape, dtype=np.float64)
            return terminal, float(reward), stopped, not stopped, self._info(None, None)
        self._batch, self._own = batch, own
        return self._observation(batch), float(reward), False, False, self._info(batch, own)

    def trace(self) -> Any:
        """The trace recorded so far (the whole replication once the episode is over)."""
        return self._sim.recorder.trace(self._sim.metadata)

    def close(self) -> None:
        """Abandon the running episode, if any (its thread ends at once)."""
        thread = getattr(self, "_thread", None)
        if thread is not None and thread.is_alive():
            self._inbox.put(_Abort)
            thread.join()
        self._thread = None


def make(
    path: str | os.PathLike[str],
    agent: str | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    plugins: tuple[str, ...] = (),
) -> FeedbackEnv:
    """A ``gymnasium.Env`` of the scenario at ``path``, the caller deciding for ``agent``."""
    from feedbacksim.scenario.scenario import load

    if gymnasium is None:
        raise ScenarioError(GYM_MISSING)
    scenario = load(path, plugins=plugins)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    return FeedbackEnv(scenario, agent)
