"""Scenario: a validated description of a world, its agents and analyzers — loaded, overridden, run.

``feedbacksim.load(path)`` reads a YAML file (``extends:`` resolved), checks it against the
format (:mod:`feedbacksim.schema`) and each component's declared parameters, and returns
a :class:`Scenario`. Every problem is collected into one :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import yaml

from feedbacksim.components import (
    ComponentNotAllowed,
    build_agent,
    build_analyzers,
    build_environment,
    estimator_params_check,
    import_plugins,
    resolve_model,
)
from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.registry import registry
from feedbacksim.schema import ScenarioSpec
from feedbacksim.sweep import sweep_problems

if TYPE_CHECKING:
    import numpy as np

    from feedbacksim.analyzers.base import Analyzer
    from feedbacksim.results import Results
    from feedbacksim.simulation import Simulation


# -- reading files ---------------------------------------------------------------------
def read_scenario_file(
    path: str | os.PathLike[str], _chain: tuple[Path, ...] = ()
) -> dict[str, Any]:
    """The file's mapping with ``extends:`` resolved (mappings merge deeply, lists replace)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(Problem("scenario file not found", file=str(path)))
    resolved = path.resolve()
    if resolved in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, resolved))
        raise ScenarioError(Problem(f"extends cycle: {cycle}", keypath="extends", file=str(path)))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError(Problem(f"cannot read YAML: {exc}", file=str(path))) from None
    if not isinstance(data, dict):
        raise ScenarioError(Problem("a scenario file must be a mapping", file=str(path)))
    parent = data.get("extends")
    if parent is None:
        return data
    base = read_scenario_file(path.parent / str(parent), (*_chain, resolved))
    merged = deep_merge(base, {k: v for k, v in data.items() if k != "extends"})
    return merged


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base``: mappings merge recursively, everything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- overrides -------------------------------------------------------------------------
def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path``; agents are addressed by name (``agents.dispatcher.policy``).

    Missing intermediate mappings are created (validation then rejects keys the format does
    not know); a path through a scalar, or to an agent that does not exist, is an error.
    """
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ScenarioError(Problem(f"invalid override path {path!r}", keypath=path))
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            index = _list_index(node, part, where)
            if last:
                node[index] = value
                return
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise ScenarioError(
                Problem(
                    f"cannot set {path!r}: {'.'.join(parts[:i])} is not a mapping", keypath=path
                )
            )


def _list_index(items: list[Any], part: str, where: str) -> int:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return index
    if part.isdigit() and int(part) < len(items):
        return int(part)
    names = [item.get("name") for item in items if isinstance(item, dict) and "name" in item]
    raise ScenarioError(Problem(f"no item named {part!r} (known: {names})", keypath=where))


# -- validation ------------------------------------------------------------------------
def _keypath(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """A pydantic error location as a dotted path, with agent names instead of list indices."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list):
            entry = node[item] if item < len(node) else None
            parts.append(
                str(entry.get("name", item))
                if isinstance(entry, dict) and parts == ["agents"]
                else str(item)
            )
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def _pydantic_problems(
    exc: pydantic.ValidationError, prefix: str, data: dict[str, Any]
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        tail = ".".join(map(str, err["loc"])) if prefix else _keypath(err["loc"], data)
        path = f"{prefix}.{tail}" if prefix and tail else (prefix or tail)
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] not in ("missing", "extra_forbidden"):
            message += f" (found {err.get('input')!r})"
        problems.append(Problem(message, keypath=path))
    return problems


def validate(data: dict[str, Any]) -> tuple[ScenarioSpec | None, list[Problem]]:
    """The validated spec and every problem found (the spec is None when the shape is wrong)."""
    try:
        spec = ScenarioSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        return None, _pydantic_problems(exc, "", data)
    problems: list[Problem] = sweep_problems(spec.sweep)
    try:
        import_plugins(spec.plugins)
    except ImportError as exc:
        problems.append(Problem(f"cannot import plugin: {exc}", keypath="plugins"))

    def check(component: Any, params: dict[str, Any], where: str) -> None:
        try:
            component.validate(params)
        except pydantic.ValidationError as exc:
            problems.extend(_pydantic_problems(exc, where, data))
        except ValueError as exc:
            problems.append(Problem(str(exc), keypath=where))

    def lookup(category: str, kind: str, where: str) -> Any:
        try:
            return registry.get(category, kind)
        except KeyError as exc:
            problems.append(Problem(str(exc.args[0]), keypath=where))
            return None

    env = lookup("environment", spec.environment.kind, "environment.kind")
    if env is not None:
        check(env, spec.environment.params, "environment.params")
        # Optional cross-component check of a world (e.g. one prior count per region).
        check_scenario = getattr(env.cls, "check_scenario", None)
        if check_scenario is not None and not problems:
            try:
                check_scenario(spec)
            except ValueError as exc:
                problems.append(Problem(str(exc), keypath="environment.params"))
    names = [a.name for a in spec.agents]
    for agent in spec.agents:
        where = f"agents.{agent.name}"
        if names.count(agent.name) > 1:
            problems.append(
                Problem(f"duplicate agent name {agent.name!r}", keypath=f"{where}.name")
            )
        try:
            model = resolve_model(agent.model.kind, spec.plugins)
            estimator_params_check(model, agent.model.params)
        except (KeyError, ComponentNotAllowed) as exc:
            problems.append(Problem(str(exc.args[0]), keypath=f"{where}.model.kind"))
        except pydantic.ValidationError as exc:
            problems.extend(_pydantic_problems(exc, f"{where}.model.params", data))
        except ValueError as exc:
            problems.append(Problem(str(exc), keypath=f"{where}.model.params"))
        policy = lookup("policy", agent.policy.kind, f"{where}.policy.kind")
        if policy is not None:
            check(policy, agent.policy.params(), f"{where}.policy")
        if agent.data.window != "all" and agent.data.size is None:
            problems.append(
                Problem(f"a {agent.data.window} window needs a size", keypath=f"{where}.data.size")
            )
        if agent.gate is not None:
            gate = lookup("gate", agent.gate.kind, f"{where}.gate.kind")
            if gate is not None:
                check(gate, agent.gate.params(), f"{where}.gate")
    recorded = set(env.cls.metrics) if env is not None else None
    for i, analyzer in enumerate(spec.analyzers):
        where = f"analyzers.{i}"
        component = lookup("analyzer", analyzer.kind, f"{where}.kind")
        if component is None:
            continue
        params = {k: v for k, v in analyzer.params().items() if k != "name"}
        check(component, params, where)
        if recorded is not None and not problems:
            instance = component.build(params, name=analyzer.params().get("name"))
            missing = sorted(instance.required_metrics() - recorded)
            if missing:
                problems.append(
                    Problem(
                        f"metric(s) {missing} are not recorded by the {spec.environment.kind} world; "
                        f"it records {sorted(recorded)}",
                        keypath=where,
                    )
                )
    return spec, problems


# -- the Scenario object ---------------------------------------------------------------
class Scenario:
    """A validated scenario: build simulations from it, override it, run it.

    Use :func:`load` or :meth:`from_dict` rather than the constructor.
    """

    def __init__(
        self, data: dict[str, Any], spec: ScenarioSpec, source: Path | None = None
    ) -> None:
        self.data = data
        self.spec = spec
        self.source = source
        # Dotted-path overrides applied since the file was loaded, in order, so that a run
        # can be reproduced as ``feedbacksim run <source> --set path=value ...``.
        self.overrides: dict[str, Any] = {}

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], source: str | os.PathLike[str] | None = None
    ) -> Scenario:
        """Validate ``data`` (a scenario mapping with ``extends`` already resolved)."""
        spec, problems = validate(data)
        if problems or spec is None:
            file = str(source) if source else None
            raise ScenarioError(
                [Problem(p.message, p.keypath, file, p.line, p.column) for p in problems]
            )
        return cls(data, spec, Path(source) if source else None)

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.spec.name

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new Scenario with dotted-path ``overrides`` applied and validated like the file."""
        data = copy.deepcopy(self.data)
        for path, value in overrides.items():
            set_path(data, path, value)
        scenario = Scenario.from_dict(data, self.source)
        # A path set again moves to the end, so replaying the dict in order gives this data.
        kept = {k: v for k, v in self.overrides.items() if k not in overrides}
        scenario.overrides = {**kept, **copy.deepcopy(dict(overrides))}
        return scenario

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (what the manifest stores)."""
        return copy.deepcopy(self.data)

    def build(
        self, seed: int | np.random.SeedSequence | None = None, replication: int = 0
    ) -> Simulation:
        """One replication's Simulation (fresh environment and agents)."""
        from feedbacksim.simulation import Simulation

        spec = self.spec
        return Simulation(
            build_environment(spec),
            [build_agent(a, spec.plugins) for a in spec.agents],
            spec.horizon,
            seed,
            metadata={"scenario": spec.name, "replication": replication},
        )

    def analyzers(self) -> list[Analyzer]:
        """Fresh analyzer instances."""
        return build_analyzers(self.spec)

    def run(
        self,
        replications: int | None = None,
        seed: int | None = None,
        **runner_options: Any,
    ) -> Results:
        """Run ``replications`` replications (default: the scenario's) from ``seed``."""
        from feedbacksim.runner import run_scenario

        return run_scenario(
            self,
            replications=replications or self.spec.replications,
            seed=self.spec.seed if seed is None else seed,
            **runner_options,
        )


def load(path: str | os.PathLike[str], plugins: Sequence[str] = ()) -> Scenario:
    """Read, resolve and validate a scenario file; ``plugins`` adds to its ``plugins:`` list."""
    data = read_scenario_file(path)
    if plugins:
        data["plugins"] = [*data.get("plugins", []), *plugins]
    return Scenario.from_dict(data, path)
