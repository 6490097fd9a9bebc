"""Scenario: a validated description of a world, its agents and analyzers — loaded, overridden, run.

``feedbacksim.load(path)`` reads a YAML file (``extends:`` resolved), checks it against the
format (:mod:`feedbacksim.scenario.schema`) and each component's declared parameters, and returns
a :class:`Scenario`. Every problem is collected into one :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from feedbacksim.core.expressions import parse
from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.scenario.components import build_agent, build_analyzers, build_environment
from feedbacksim.scenario.schema import ScenarioSpec
from feedbacksim.scenario.sources import (
    KeyPath,
    Origin,
    SourceMap,
    deep_merge,
    read_source,
    read_text,
)
from feedbacksim.scenario.validation import validate

if TYPE_CHECKING:
    import numpy as np

    from feedbacksim.analyzers.base import Analyzer
    from feedbacksim.core.simulation import Simulation
    from feedbacksim.run.results import Results


# -- reading files ---------------------------------------------------------------------
def read_scenario_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's mapping with ``extends:`` resolved (mappings merge deeply, lists replace)."""
    return read_source(path)[0]


# -- overrides -------------------------------------------------------------------------
def set_path(data: dict[str, Any], path: str, value: Any) -> KeyPath:
    """Set ``value`` at dotted ``path``; list items by name (``agents.dispatcher.policy``) or index.

    Missing intermediate mappings are created (validation then rejects keys the format does
    not know); a path through a scalar, or to an agent that does not exist, is an error.

    Returns:
        The key path that was set, with list items by index.
    """
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ScenarioError(Problem(f"invalid override path {path!r}", override=path))
    node: Any = data
    keypath: list[Any] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part, path)
            keypath.append(index)
            if last:
                node[index] = value
                break
            node = node[index]
        elif isinstance(node, dict):
            keypath.append(part)
            if last:
                node[part] = value
                break
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            where = ".".join(parts[:i])
            raise ScenarioError(
                Problem(f"cannot set {path!r}: {where} is not a mapping", where, override=path)
            )
    return tuple(keypath)


def _list_index(items: list[Any], part: str, path: str) -> int:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return index
    if part.isdigit() and int(part) < len(items):
        return int(part)
    names = [item.get("name") for item in items if isinstance(item, dict) and "name" in item]
    raise ScenarioError(Problem(f"no item named {part!r} (known: {names})", override=path))


# -- the Scenario object ---------------------------------------------------------------
class Scenario:
    """A validated scenario: build simulations from it, override it, run it.

    Use :func:`load` or :meth:`from_dict` rather than the constructor.
    """

    #: The run layer's entry point behind :meth:`run`. ``import feedbacksim`` sets it: the
    #: scenario layer never imports the run layer, the package wires the facade.
    runner: ClassVar[Callable[..., Results] | None] = None

    def __init__(
        self,
        data: dict[str, Any],
        spec: ScenarioSpec,
        source: Path | None = None,
        sources: SourceMap | None = None,
    ) -> None:
        self.data = data
        self.spec = spec
        self.source = source
        self.sources = sources or SourceMap()
        # Dotted-path overrides applied since the file was loaded, in order, so that a run
        # can be reproduced as ``feedbacksim run <source> --set path=value ...``.
        self.overrides: dict[str, Any] = {}

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        source: str | os.PathLike[str] | None = None,
        sources: SourceMap | None = None,
    ) -> Scenario:
        """Validate ``data`` (a scenario mapping with ``extends`` already resolved).

        Args:
            data: the scenario as plain data.
            source: the file it came from, named in problems.
            sources: the origin of each key (problems then carry lines); see :func:`load`.
        """
        file = str(source) if source else None
        spec, problems = validate(data, sources, file)
        if problems or spec is None:
            raise ScenarioError(problems)
        return cls(data, spec, Path(source) if source else None, sources)

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.spec.name

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new Scenario with dotted-path ``overrides`` applied and validated like the file.

        Problems in an overridden value name the override path instead of a line.
        """
        data = copy.deepcopy(self.data)
        sources = self.sources.copy()
        for path, value in overrides.items():
            keypath = set_path(data, path, value)
            sources.replace(keypath, {keypath: Origin(override=path)})
        scenario = Scenario.from_dict(data, self.source, sources)
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
        from feedbacksim.core.simulation import Simulation

        spec = self.spec
        base_dir = self.source.parent if self.source else None
        return Simulation(
            build_environment(spec, base_dir),
            [build_agent(a, spec.plugins, base_dir) for a in spec.agents],
            spec.horizon,
            seed,
            metadata={"scenario": spec.name, "replication": replication},
            stop_when=None if spec.stop_when is None else parse(spec.stop_when),
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
        if Scenario.runner is None:
            raise RuntimeError("import feedbacksim to run a scenario")
        return Scenario.runner(
            self,
            replications=self.spec.replications if replications is None else replications,
            seed=self.spec.seed if seed is None else seed,
            **runner_options,
        )


def load(path: str | os.PathLike[str], plugins: Sequence[str] = ()) -> Scenario:
    """Read, resolve and validate a scenario file; ``plugins`` adds to its ``plugins:`` list.

    Raises:
        ScenarioError: every problem of the file (and the files it extends), each with
            its file, line, column and key path.
    """
    data, sources = read_source(path)
    listed = data.get("plugins")
    if plugins and (listed is None or isinstance(listed, list)):
        data["plugins"] = [*(listed or []), *plugins]
    return Scenario.from_dict(data, path, sources)


def loads(text: str, source: str | os.PathLike[str] = "<string>") -> Scenario:
    """Like :func:`load` for YAML ``text``; ``source`` names it in problems and anchors ``extends:``."""
    data, sources = read_text(text, source)
    return Scenario.from_dict(data, source, sources)


__all__ = [
    "Scenario",
    "deep_merge",
    "load",
    "loads",
    "read_scenario_file",
    "set_path",
    "validate",
]
