"""Turning validated specs into live objects: environments, models, policies, agents, analyzers.

Models are found in the registry, or by dotted path: scikit-learn estimators under
``sklearn.`` always, any other module only when the scenario lists it under ``plugins:``.
An estimator's parameters may hold other estimators, written as ``{kind: <dotted path>,
params: {...}}`` under the same allow-list, so a ``Pipeline`` with a ``ColumnTransformer``
is written in YAML: lists of ``[name, estimator, ...]`` become the tuples scikit-learn
expects. A ``skops`` model is loaded from its file with its trusted types.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from feedbacksim.analyzers.base import Analyzer
from feedbacksim.analyzers.monitors import build_monitors
from feedbacksim.core.agent import Agent
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import Component, params_model_for, registry
from feedbacksim.models.saved import SavedModel
from feedbacksim.scenario.schema import AgentSpec, ScenarioSpec


class ComponentNotAllowed(ValueError):
    """A dotted path that a scenario may not import."""


def _is_estimator(value: Any) -> bool:
    """Whether ``value`` is a scikit-learn estimator (scikit-learn imported only if loaded)."""
    base = sys.modules.get("sklearn.base")
    return base is not None and isinstance(value, base.BaseEstimator)


def resolve_model(kind: str, plugins: list[str]) -> Component:
    """The model component ``kind``: registered, a scikit-learn estimator, or from a listed plugin.

    A dotted path is imported only under ``sklearn.`` or a module listed in ``plugins``,
    never through a private name (a part starting with ``_``), and must name an
    estimator class (a ``BaseEstimator`` with ``fit``).

    Raises:
        KeyError: an unknown registered kind.
        ComponentNotAllowed: a dotted path that may not be imported, or not an estimator.
    """
    if kind in registry.kinds("model") or "." not in kind:
        return registry.get("model", kind)
    module_name, _, attr = kind.rpartition(".")
    if any(not part or part.startswith("_") for part in kind.split(".")):
        raise ComponentNotAllowed(f"model {kind!r}: private or empty names are not allowed")
    top = module_name.split(".")[0]
    allowed = top == "sklearn" or any(
        module_name == p or module_name.startswith(p + ".") for p in plugins
    )
    if not allowed:
        raise ComponentNotAllowed(
            f"model {kind!r}: module {module_name!r} is not allowed; list it under 'plugins:' "
            f"(or pass --plugin {module_name}) to import it"
        )
    from sklearn.base import BaseEstimator

    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ComponentNotAllowed(f"model {kind!r} cannot be imported: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator) and hasattr(cls, "fit")):
        raise ComponentNotAllowed(
            f"model {kind!r} is not a scikit-learn estimator class (a BaseEstimator with fit)"
        )
    return Component("model", kind, cls)


def _is_estimator_spec(value: Any) -> bool:
    """Whether ``value`` is a nested ``{kind: <dotted path>, params: {...}}`` estimator."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("kind"), str)
        and "." in value["kind"]
        and set(value) <= {"kind", "params"}
    )


def estimator_params(params: Any, plugins: list[str]) -> Any:
    """``params`` with every nested estimator spec built (same allow-list as a model's ``kind``).

    A list ``[name, estimator, ...]`` (a ``Pipeline`` step, a ``ColumnTransformer``
    transformer) becomes a tuple.

    Raises:
        ComponentNotAllowed: a nested kind that may not be imported, or its parameters
            are not the estimator's.
    """
    if _is_estimator_spec(params):
        cls = resolve_model(params["kind"], plugins).cls
        try:
            return cls(**estimator_params(params.get("params", {}), plugins))
        except TypeError as exc:
            raise ComponentNotAllowed(f"{params['kind']}: {exc}") from None
    if isinstance(params, dict):
        return {k: estimator_params(v, plugins) for k, v in params.items()}
    if isinstance(params, list):
        items = [estimator_params(v, plugins) for v in params]
        step = len(items) in (2, 3) and isinstance(items[0], str)
        if step and (_is_estimator(items[1]) or items[1] in ("drop", "passthrough")):
            return tuple(items)
        return items
    return params


def build_environment(
    spec: ScenarioSpec, base_dir: str | os.PathLike[str] | None = None
) -> Environment:
    """The scenario's world with validated parameters (``base_dir``: where its relative paths start)."""
    component = registry.get("environment", spec.environment.kind)
    context = (
        {"base_dir": base_dir} if "base_dir" in getattr(component.cls, "context_params", ()) else {}
    )
    return component.build(spec.environment.params, **context)


def build_agent(
    spec: AgentSpec, plugins: list[str], base_dir: str | os.PathLike[str] | None = None
) -> Agent:
    """An agent with its model, policy, data window, retrain trigger and gate."""
    model_component = resolve_model(spec.model.kind, plugins)
    if model_component.kind in registry.kinds("model"):
        model = model_component.build(spec.model.params)
        if isinstance(model, SavedModel):
            model = model.load(base_dir)
    else:  # a scikit-learn or plugin estimator by dotted path: its own keyword arguments
        model = model_component.cls(**estimator_params(spec.model.params, plugins))
    policy = registry.get("policy", spec.policy.kind).build(spec.policy.params())
    gate = None
    if spec.gate is not None:
        gate = registry.get("gate", spec.gate.kind).build(spec.gate.params())
    return Agent(
        spec.name,
        model,
        policy,
        window=spec.data.window,
        window_size=spec.data.size,
        retrain_every=spec.retrain.every,
        retrain_after_rows=spec.retrain.after_rows,
        min_samples=spec.retrain.min_samples,
        mode=spec.retrain.mode,
        unfitted_score=spec.unfitted_score,
        gate=gate,
        pretrain_samples=spec.pretrain.samples,
        monitors=build_monitors(spec.monitors),
        on_alarm=spec.retrain.on_alarm,
        alarm_cooldown=spec.retrain.cooldown,
    )


def build_analyzers(spec: ScenarioSpec) -> list[Analyzer]:
    """The scenario's analyzers; names default to ``kind`` and are made unique with a suffix."""
    analyzers = []
    taken: set[str] = set()
    for a in spec.analyzers:
        params = a.params()
        base = params.pop("name", None) or a.kind
        name, suffix = base, 1
        while name in taken:
            suffix += 1
            name = f"{base}-{suffix}"
        taken.add(name)
        analyzers.append(registry.get("analyzer", a.kind).build(params, name=name))
    return analyzers


__all__ = [
    "ComponentNotAllowed",
    "build_agent",
    "build_analyzers",
    "build_environment",
    "estimator_params",
    "params_model_for",
    "resolve_model",
]
