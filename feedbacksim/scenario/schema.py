"""The scenario format as pydantic models: run settings, environment, agents, analyzers, sweep.

This layer checks the *shape* of a scenario (keys, types, ranges). Each component's own
parameters (``environment.params``, ``model.params``, a policy's or an analyzer's inline
keys) are checked against the component's declaration in the registry by
:mod:`feedbacksim.scenario.scenario`, which also turns every error into a :class:`Problem` with its
key path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from feedbacksim.core.expressions import Condition

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
    on_alarm: list[str] = Field(
        default_factory=list
    )  # monitor names (feedbacksim.analyzers.monitors)
    cooldown: Annotated[float, Field(ge=0)] = 0.0  # least time from a retrain to an alarm's


class DataSpec(Strict):
    """Which observed rows a refit trains on."""

    window: Literal["all", "sliding", "reservoir"] = "all"
    size: Annotated[int, Field(ge=1)] | None = None


class PretrainSpec(Strict):
    """Historical data the first model is fitted on: a sample of the true population."""

    samples: Annotated[int, Field(ge=0)] = 0


class MonitorSpec(Strict):
    """A production monitor of the agent (see :mod:`feedbacksim.analyzers.monitors`); names unique per scenario."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]
    kind: Literal["input_drift", "prediction_drift", "performance"]
    statistic: Literal["psi", "ks", "wasserstein", "auc", "accuracy", "calibration"]
    threshold: float
    window: Annotated[float, Field(gt=0)] = 30.0
    reference: Literal["training", "baseline"] = "training"
    features: list[str] | None = None
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01
    per_group: bool = False
    min_rows: Annotated[int, Field(ge=2)] = 30
    every: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _statistic_fits_kind(self) -> MonitorSpec:
        performance = self.statistic in ("auc", "accuracy", "calibration")
        if performance != (self.kind == "performance"):
            raise ValueError(
                f"statistic {self.statistic!r} does not fit kind {self.kind!r} (performance: "
                "auc, accuracy, calibration; drift: psi, ks, wasserstein)"
            )
        return self


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
    monitors: list[MonitorSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _alarms_name_monitors(self) -> AgentSpec:
        known = [m.name for m in self.monitors]
        unknown = [n for n in self.retrain.on_alarm if n not in known]
        if unknown:
            raise ValueError(
                f"retrain.on_alarm names no monitor of this agent: {unknown} (monitors: {known})"
            )
        return self


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

    @model_validator(mode="after")
    def _monitor_names_unique(self) -> ScenarioSpec:
        # Their metrics (monitor:<name>, alarm:<name>) share the trace.
        names = [m.name for a in self.agents for m in a.monitors]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"monitor names must be unique in a scenario; repeated: {twice}")
        return self


# -- JSON Schema for editors -----------------------------------------------------------
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """A JSON Schema of the scenario format, with every registered component's parameters.

    Each component category is a ``oneOf`` over its registered kinds (discriminated by
    ``kind``), each branch built from the component's parameter model, so an editor's
    YAML language server checks parameters as the loader does. A file with ``extends:``
    is partial (it only overrides keys of its parent), so for such files no top-level key
    is required and ``environment`` may omit its ``kind`` (the parent's applies); lists
    (``agents``, ``analyzers``) replace the parent's and are checked in full.
    """
    from pydantic import create_model
    from pydantic.json_schema import models_json_schema

    from feedbacksim.core.registry import registry

    def choice(category: str, inline: bool, fallback: Any) -> Any:
        branches = [_branch(c, inline) for c in registry.components() if c.category == category]
        if not branches:
            return fallback
        if len(branches) == 1:
            return branches[0]
        return Annotated[Union[tuple(branches)], Field(discriminator="kind")]  # noqa: UP007

    model_choice = choice("model", False, ComponentSpec)
    agent = create_model(
        "Agent",
        __base__=AgentSpec,
        model=(model_choice | DottedModelSpec, ...),
        policy=(choice("policy", True, InlineComponentSpec), ...),
        gate=(choice("gate", True, InlineComponentSpec) | None, None),
    )
    full = create_model(
        "Scenario",
        __base__=ScenarioSpec,
        environment=(choice("environment", False, ComponentSpec), ...),
        agents=(Annotated[list[agent], Field(min_length=1)], ...),  # type: ignore[valid-type]
        analyzers=(
            list[choice("analyzer", True, InlineComponentSpec)],
            Field(default_factory=list),
        ),
    )
    optional = {
        name: (field.annotation | None, None)
        for name, field in full.model_fields.items()
        if field.is_required() and name != "environment"
    }
    partial = create_model(
        "ScenarioExtension",
        __base__=full,
        **optional,
        environment=(PartialComponentSpec | None, None),
        extends=(str, ...),
    )
    keys, schema = models_json_schema([(full, "validation"), (partial, "validation")])
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "feedbacksim scenario",
        "description": "A feedbacksim scenario file (see docs/scenarios.md).",
        "type": "object",
        "if": {"required": ["extends"]},
        "then": keys[(partial, "validation")],
        "else": keys[(full, "validation")],
        "$defs": schema["$defs"],
    }


class DottedModelSpec(Strict):
    """A scikit-learn estimator (``sklearn.``) or a listed plugin's estimator, by dotted path."""

    kind: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")]
    params: dict[str, Any] = Field(default_factory=dict)


class PartialComponentSpec(Strict):
    """A component block of a file with ``extends:``: keys merge into the parent's."""

    kind: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


def _branch(component: Any, inline: bool) -> type[BaseModel]:
    """One ``oneOf`` branch: ``kind`` fixed to the component's, its parameters checked."""
    from pydantic import TypeAdapter, create_model

    kind = (Literal[component.kind], ...)
    name = f"{component.category}-{component.kind}"
    params_model = component.params_model
    try:
        TypeAdapter(params_model).json_schema()
    except Exception:  # a parameter type with no JSON Schema: accept any mapping
        params_model = None
    if inline:
        extra = {"name": (str | None, None)} if component.category == "analyzer" else {}
        if params_model is None:
            return create_model(name, __config__=ConfigDict(extra="allow"), kind=kind, **extra)
        return create_model(name, __base__=params_model, kind=kind, **extra)
    required = params_model is not None and any(
        f.is_required() for f in params_model.model_fields.values()
    )
    params = (
        (params_model, ...)
        if required
        else (params_model or dict[str, Any], Field(default_factory=dict))
    )
    return create_model(name, __config__=STRICT, kind=kind, params=params)
