"""The scenario format as pydantic models: run settings, environment, agents, analyzers, sweep.

This layer checks the *shape* of a scenario (keys, types, ranges). Each component's own
parameters (``environment.params``, ``model.params``, a policy's or an analyzer's inline
keys) are checked against the component's declaration in the registry by
:mod:`feedbacksim.scenario`, which also turns every error into a :class:`Problem` with its
key path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from feedbacksim.expressions import Condition

MAX_HORIZON = 1e9  # simulated time units; beyond this a run could not finish
MAX_REPLICATIONS = 1_000_000
MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"

# Values are taken as written: a quoted "3" is not a number, 1 is not true.
STRICT = ConfigDict(extra="forbid", strict=True)


class Strict(BaseModel):
    """Base: unknown keys are errors, and no value is coerced to another type."""

    model_config = STRICT


class ComponentSpec(Strict):
    """A component chosen by ``kind`` with its ``params``."""

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class InlineComponentSpec(BaseModel):
    """A component chosen by ``kind`` whose parameters are the other keys of the mapping."""

    model_config = ConfigDict(extra="allow", strict=True)
    kind: str

    def params(self) -> dict[str, Any]:
        """Every key but ``kind``."""
        return dict(self.model_extra or {})


class RetrainSpec(Strict):
    """When the agent retrains."""

    every: Annotated[float, Field(gt=0)] | None = 1.0
    after_rows: Annotated[int, Field(ge=1)] | None = None
    min_samples: Annotated[int, Field(ge=1)] = 1
    mode: Literal["auto", "refit", "incremental"] = "auto"


class DataSpec(Strict):
    """Which observed rows a refit trains on."""

    window: Literal["all", "sliding", "reservoir"] = "all"
    size: Annotated[int, Field(ge=1)] | None = None


class PretrainSpec(Strict):
    """Historical data the first model is fitted on: a sample of the true population."""

    samples: Annotated[int, Field(ge=0)] = 0


class AgentSpec(Strict):
    """One deployed ML system."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]
    model: ComponentSpec
    policy: InlineComponentSpec
    retrain: RetrainSpec = Field(default_factory=RetrainSpec)
    data: DataSpec = Field(default_factory=DataSpec)
    pretrain: PretrainSpec = Field(default_factory=PretrainSpec)
    gate: InlineComponentSpec | None = None
    unfitted_score: float = 0.5


class ScenarioSpec(Strict):
    """A whole scenario file after ``extends`` is resolved."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    horizon: Annotated[float, Field(gt=0, le=MAX_HORIZON)]
    replications: Annotated[int, Field(ge=1, le=MAX_REPLICATIONS)] = 1
    seed: Annotated[int, Field(ge=0)] = 0
    environment: ComponentSpec
    agents: Annotated[list[AgentSpec], Field(min_length=1)]
    analyzers: list[InlineComponentSpec] = Field(default_factory=list)
    stop_when: Condition | None = None
    sweep: dict[str, Any] = Field(default_factory=dict)
    plugins: list[Annotated[str, Field(pattern=MODULE_PATTERN)]] = Field(default_factory=list)
    extends: str | None = None
