"""Arbitrary documents fed to the loader: it either loads them or raises ScenarioError.

Two kinds of input: random nested mappings, lists and scalars, and mutations of the
shipped scenarios (a key dropped or renamed, a value replaced by one of another type, a
list item duplicated or removed), which stay close to valid files and so reach the deep
checks (components, parameters, metrics, extends).
"""

from __future__ import annotations

import copy
import types
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedbacksim.errors import ScenarioError
from feedbacksim.scenario import Scenario, components, loads, validation
from feedbacksim.scenario.yaml_source import load_yaml

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SHIPPED = {p: load_yaml(p).data for p in sorted(SCENARIOS.glob("*.yaml"))}
KEYS = sorted(
    {"name", "horizon", "kind", "params", "agents", "policy", "model", "epsilon", "metric"}
    | {"extends", "plugins", "stop_when", "analyzers", "environment", "incident_rates"}
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["policing", "runaway", "max(patrol_share) > 0.5", "__import__", "1e15"])
)
keys = st.sampled_from(KEYS) | st.text(min_size=1, max_size=10)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=20,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in ``node`` (list items by index)."""
    out = [prefix] if prefix else []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, value in items:
        out.extend(paths(value, (*prefix, key)))
    return out


def mutate(data: dict[str, Any], draw: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(data)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = draw(st.sampled_from(["drop", "rename", "replace", "wrap", "duplicate"]))
        if action == "drop":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(keys)] = parent.pop(key)
        elif action == "replace":
            parent[key] = draw(documents)
        elif action == "wrap":
            parent[key] = [parent[key]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return data


def no_imports(name: str, package: str | None = None) -> types.ModuleType:
    """Random plugin names must not import whatever module happens to have that name."""
    raise ImportError(f"fuzzing: {name!r} not imported")


@st.composite
def inputs(draw: Any) -> tuple[str, Path]:
    path, data = draw(st.sampled_from(sorted(SHIPPED.items())))
    kind = draw(st.sampled_from(["mutation", "mutation", "document", "text"]))
    if kind == "text":
        return draw(st.text(max_size=200)), path
    document = mutate(data, draw) if kind == "mutation" else draw(documents)
    return yaml.safe_dump(document, allow_unicode=True), path


@pytest.mark.slow
@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(inputs())
def test_loader_loads_or_raises_scenario_error(case):
    text, path = case
    fake = types.SimpleNamespace(import_module=no_imports)
    with (
        mock.patch.object(validation, "importlib", fake),
        mock.patch.object(components, "importlib", fake),
    ):
        try:
            scenario = loads(text, path)
        except ScenarioError as exc:
            assert exc.problems and all(p.message for p in exc.problems)
        else:
            assert isinstance(scenario, Scenario)
