"""Turning validated specs into live objects: environments, models, policies, agents, analyzers.

Models are found in the registry, or by dotted path: scikit-learn estimators under
``sklearn.`` always, any other module only when the scenario lists it under ``plugins:``.
"""

from __future__ import annotations

import importlib

from feedbacksim.analyzers.base import Analyzer
from feedbacksim.core.agent import Agent
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import Component, params_model_for, registry
from feedbacksim.scenario.schema import AgentSpec, ScenarioSpec


class ComponentNotAllowed(ValueError):
    """A dotted path that a scenario may not import."""


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


def build_environment(spec: ScenarioSpec) -> Environment:
    """The scenario's world with validated parameters."""
    return registry.get("environment", spec.environment.kind).build(spec.environment.params)


def build_agent(spec: AgentSpec, plugins: list[str]) -> Agent:
    """An agent with its model, policy, data window, retrain trigger and gate."""
    model_component = resolve_model(spec.model.kind, plugins)
    if model_component.kind in registry.kinds("model"):
        model = model_component.build(spec.model.params)
    else:  # a scikit-learn or plugin estimator by dotted path: its own keyword arguments
        model = model_component.cls(**spec.model.params)
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
    "params_model_for",
    "resolve_model",
]
