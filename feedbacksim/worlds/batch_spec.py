"""Which scenarios a replication-axis kernel can reproduce: the world and its one agent.

Every single-agent kernel starts its ``supports`` check the same way: the world is the
kind it reproduces, still declares the metrics the kernel fills (a metric the world
gains and the kernel does not fill must send the scenario down the serial path), there
is one agent, and the world's ``agent`` parameter, when set, names it.
"""

from __future__ import annotations

from typing import Any

from feedbacksim.core.environment import Environment


def sole_agent(
    spec: Any, kind: str, world: type[Environment], metrics: tuple[str, ...]
) -> Any | None:
    """The agent of ``spec`` when it is the only one of a ``kind`` world that records
    ``metrics`` (in this order) and that the world's ``agent`` parameter, if any, names;
    otherwise None."""
    env = spec.environment
    if env.kind != kind or tuple(world.metrics) != metrics or len(spec.agents) != 1:
        return None
    agent = spec.agents[0]
    return agent if env.params.get("agent") in (None, agent.name) else None
