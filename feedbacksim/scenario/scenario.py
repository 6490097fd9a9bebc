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
from feedbacksim.core.lazy_import import UpwardCall
from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.scenario.components import build_agent, build_analyzers, build_environment
from feedbacksim.scenario.schema import MAX_REPLICATIONS, ScenarioSpec
from feedbacksim.scenario.sources import (
    Origin,
    SourceMap,
    deep_merge,
    read_source,
    read_text,
    set_path,
)
from feedbacksim.scenario.validation import check, validate

if TYPE_CHECKING:
    import numpy as np

    from feedbacksim.analyzers.base import Analyzer
    from feedbacksim.core.simulation import Simulation
    from feedbacksim.run.results import Results


# -- reading files ---------------------------------------------------------------------
def read_scenario_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's mapping with ``extends:`` resolved (mappings merge deeply, lists replace)."""
    return read_source(path)[0]


# -- plugins ----------------------------------------------------------------------------
def _untrusted_problems(
    data: dict[str, Any], sources: SourceMap | None, file: str | None, modules: list[str]
) -> list[Problem]:
    """One problem per listed plugin module that was not trusted (so not imported)."""
    listed = data.get("plugins") or []
    out = []
    for module in modules:
        index = listed.index(module)
        origin = (sources or SourceMap()).origin(("plugins", index))
        out.append(
            Problem(
                f"module {module!r} is code, and is not imported unless you trust it: "
                f"pass --plugin {module} (or --trust-plugins)",
                f"plugins.{index}",
                origin.file or file,
                origin.line,
                origin.column,
            )
        )
    return out


# -- the Scenario object ---------------------------------------------------------------
class Scenario:
    """A validated scenario: build simulations from it, override it, run it.

    Use :func:`load` or :meth:`from_dict` rather than the constructor.
    """

    #: The run layer's entry point behind :meth:`run`, imported on first use: the scenario
    #: layer never imports the run layer.
    runner: ClassVar[Callable[..., Results]] = UpwardCall("feedbacksim.run.runner:run_scenario")

    def __init__(
        self,
        data: dict[str, Any],
        spec: ScenarioSpec,
        source: Path | None = None,
        sources: SourceMap | None = None,
        trusted: Sequence[str] | None = None,
        unchecked: Sequence[str] = (),
    ) -> None:
        self.data = data
        self.spec = spec
        self.source = source
        self.sources = sources or SourceMap()
        # The plugin modules it may import (None: every module it lists), and what could
        # not be checked because a listed module was not trusted (then it cannot run).
        self.trusted = None if trusted is None else list(trusted)
        self.unchecked = list(unchecked)
        # Dotted-path overrides applied since the file was loaded, in order, so that a run
        # can be reproduced as ``feedbacksim run <source> --set path=value ...``.
        self.overrides: dict[str, Any] = {}

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        source: str | os.PathLike[str] | None = None,
        sources: SourceMap | None = None,
        trusted: Sequence[str] | None = None,
        partial: bool = False,
    ) -> Scenario:
        """Validate ``data`` (a scenario mapping with ``extends`` already resolved).

        Args:
            data: the scenario as plain data.
            source: the file it came from, named in problems.
            sources: the origin of each key (problems then carry lines); see :func:`load`.
            trusted: the plugin modules it may import (None: every one it lists).
            partial: accept a scenario that lists untrusted plugins, checking everything
                else (``unchecked`` names the rest); it can be validated, not run.
        """
        file = str(source) if source else None
        checked = check(data, sources, file, trusted)
        problems = checked.problems
        if checked.untrusted and not partial:
            problems = [*problems, *_untrusted_problems(data, sources, file, checked.untrusted)]
        if problems or checked.spec is None:
            raise ScenarioError(problems)
        return cls(
            data,
            checked.spec,
            Path(source) if source else None,
            sources,
            trusted,
            checked.unchecked,
        )

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.spec.name

    def with_overrides(
        self, overrides: Mapping[str, Any], via: str = "(python overrides)"
    ) -> Scenario:
        """A new Scenario with dotted-path ``overrides`` applied and validated like the file.

        Problems in an overridden value name the override path instead of a line, and
        ``via`` says how it was given (the CLI passes ``--set``). ``extends`` cannot be
        overridden: it is resolved when the file is read.
        """
        data = copy.deepcopy(self.data)
        sources = self.sources.copy()
        for path, value in overrides.items():
            keypath = set_path(data, path, value, via)
            sources.replace(keypath, {keypath: Origin(override=path, via=via)})
        scenario = Scenario.from_dict(
            data, self.source, sources, self.trusted, partial=bool(self.unchecked)
        )
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

        if self.unchecked:
            raise ScenarioError(
                f"scenario {self.name!r} was only partly checked (untrusted plugins); "
                "load it trusting its plugins to run it"
            )
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
        n = self.spec.replications if replications is None else replications
        if not 1 <= n <= MAX_REPLICATIONS:
            raise ScenarioError(
                Problem(f"must be between 1 and {MAX_REPLICATIONS:,}, found {n}", "replications")
            )
        return Scenario.runner(
            self,
            replications=n,
            seed=self.spec.seed if seed is None else seed,
            **runner_options,
        )


def load(
    path: str | os.PathLike[str],
    plugins: Sequence[str] = (),
    trust_plugins: bool = True,
    partial: bool = False,
) -> Scenario:
    """Read, resolve and validate a scenario file; ``plugins`` adds to its ``plugins:`` list.

    A module under ``plugins:`` is code that runs when it is imported. From Python the
    file's modules are imported (you chose to load it); with ``trust_plugins=False``
    (what the command line does unless ``--trust-plugins`` is given) only the modules in
    ``plugins`` are, and a file listing any other is an error, or with ``partial`` a
    scenario whose ``unchecked`` names what could not be checked (it cannot run).

    Raises:
        ScenarioError: every problem of the file (and the files it extends), each with
            its file, line, column and key path.
    """
    data, sources = read_source(path)
    listed = data.get("plugins")
    if plugins and (listed is None or isinstance(listed, list)):
        data["plugins"] = [*(listed or []), *(p for p in plugins if p not in (listed or []))]
    trusted = None if trust_plugins else list(plugins)
    return Scenario.from_dict(data, path, sources, trusted, partial)


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
