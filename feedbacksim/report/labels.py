"""Words for axes: metric units and time units from the world, parameter descriptions from the registry.

A figure's axis says what it measures in the world's own terms: ``patrol share
(probability)`` over ``time (days)`` rather than a column name, and a swept parameter by
its declared description (the ``Args:`` entry of the component's docstring) rather than
its dotted path.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any

_ARG = re.compile(r"^(\s*)([A-Za-z_]\w*)\s*(?:\([^)]*\))?:\s*(.*)$")


def _environment_class(scenario: dict[str, Any]) -> type | None:
    from feedbacksim.core.registry import registry

    kind = (scenario.get("environment") or {}).get("kind")
    try:
        return registry.get("environment", str(kind)).cls
    except KeyError:
        return None


def time_unit(scenario: dict[str, Any]) -> str:
    """The world's time unit (``days`` unless the environment class declares another)."""
    cls = _environment_class(scenario)
    return getattr(cls, "time_unit", "days") if cls is not None else "days"


def metric_unit(scenario: dict[str, Any], metric: str) -> str | None:
    """The unit the world declares for ``metric`` (``Environment.metric_units``), if any."""
    cls = _environment_class(scenario)
    return getattr(cls, "metric_units", {}).get(metric) if cls is not None else None


def metric_description(scenario: dict[str, Any], metric: str) -> str:
    """The world's one-line description of ``metric`` (``Environment.metrics``), or ``""``."""
    cls = _environment_class(scenario)
    return getattr(cls, "metrics", {}).get(metric, "") if cls is not None else ""


def metric_label(scenario: dict[str, Any], metric: str) -> str:
    """``patrol share (probability)``: the metric's name in words and its declared unit."""
    unit = metric_unit(scenario, metric)
    words = metric.replace("_", " ")
    return f"{words} ({unit})" if unit else words


def docstring_args(cls: type) -> dict[str, str]:
    """The ``Args:`` section of a Google-style class docstring: name -> description (one line)."""
    doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    inside, indent, current = False, None, None
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            inside, indent, current = True, None, None
            continue
        if not inside:
            continue
        if not line.strip():
            current = None
            continue
        match = _ARG.match(line)
        depth = len(line) - len(line.lstrip())
        if indent is None and match:
            indent = depth
        if match and depth == indent:
            current = match.group(2)
            out[current] = match.group(3).strip()
        elif indent is not None and depth > indent and current:
            out[current] += " " + line.strip()
        else:
            inside = False
    return out


def _component(scenario: dict[str, Any], parts: list[str]) -> tuple[str, str, list[str]] | None:
    """``(category, kind, remaining parts after params)`` of the component a path points into."""
    if len(parts) >= 3 and parts[0] == "environment" and parts[1] == "params":
        return "environment", str((scenario.get("environment") or {}).get("kind")), parts[2:]
    if len(parts) >= 4 and parts[0] == "agents":
        agents = scenario.get("agents") or []
        agent = next((a for a in agents if str(a.get("name")) == parts[1]), None)
        if agent is None and parts[1].isdigit() and int(parts[1]) < len(agents):
            agent = agents[int(parts[1])]
        if agent is None:
            return None
        section = parts[2]
        category = {"model": "model", "policy": "policy", "gate": "gate"}.get(section)
        spec = agent.get(section)
        if category is None or not isinstance(spec, dict):
            return None
        rest = parts[3:]
        if rest and rest[0] == "params":
            rest = rest[1:]
        return category, str(spec.get("kind")), rest
    return None


def parameter_description(scenario: dict[str, Any], path: str) -> str | None:
    """The declared description of the parameter at dotted ``path``, when the registry has one.

    ``environment.params.incident_rates.0`` gives the description of ``incident_rates``
    (with ``[0]`` appended); a path outside a component's parameters gives None.
    """
    from feedbacksim.core.registry import registry

    parts = path.split(".")
    found = _component(scenario, parts)
    if found is None or not found[2]:
        return None
    category, kind, rest = found
    try:
        cls = registry.get(category, kind).cls
    except KeyError:
        return None
    text = docstring_args(cls).get(rest[0])
    if not text:
        return None
    text = text.split(". ")[0].rstrip(".")
    index = "".join(f"[{p}]" for p in rest[1:])
    return f"{rest[0]}{index}: {text}"


def axis_label(scenario: dict[str, Any] | None, paths: tuple[str, ...], width: int = 60) -> str:
    """An axis label for swept ``paths``: each parameter's description, wrapped to ``width``."""
    words = []
    for path in paths:
        described = parameter_description(scenario or {}, path)
        words.append(described or path)
    return "\n".join(textwrap.wrap(" + ".join(words), width)) or " + ".join(paths)
