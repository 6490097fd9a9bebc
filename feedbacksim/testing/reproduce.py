"""The ``feedbacksim run`` command that reproduces a run of a scenario.

A run is reproducible from four things: the scenario file, the overrides applied to it
(``Scenario.overrides``, in order), the seed and the number of replications. Values are
written as YAML flow scalars, which is how ``--set`` reads them back, so the command
reruns exactly the same scenario.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from feedbacksim.scenario.scenario import read_scenario_file

if TYPE_CHECKING:
    from feedbacksim.run.results import Results
    from feedbacksim.scenario.scenario import Scenario


def format_value(value: Any) -> str:
    """``value`` as the text ``--set`` parses back to an equal value (a YAML flow scalar).

    Raises:
        ValueError: the value has no YAML form that reads back equal (e.g. a custom object).
    """
    plain = value.item() if hasattr(value, "item") and callable(value.item) else value
    try:
        text = yaml.safe_dump(plain, default_flow_style=True, width=float("inf"))
    except yaml.representer.RepresenterError:
        raise ValueError(f"cannot write {value!r} as a --set value") from None
    text = text.strip()
    text = text.removesuffix("...").strip()
    if yaml.safe_load(text) != plain:
        raise ValueError(f"{value!r} does not read back equal from --set text {text!r}")
    return text


def _display_path(source: Path) -> str:
    """``source`` relative to the working directory when it lies under it, else absolute."""
    absolute = source.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _extra_plugins(scenario: Scenario, source: Path) -> list[str]:
    """Plugins the scenario uses that its file does not list (given to ``load``)."""
    listed = read_scenario_file(source).get("plugins") or []
    return [p for p in scenario.spec.plugins if p not in listed]


def scenario_command(scenario: Scenario, seed: int, replications: int) -> str:
    """The shell command that runs ``scenario`` (its file plus its overrides) with this seed.

    Raises:
        ValueError: the scenario was not loaded from a file, so no command can name it.
    """
    source = scenario.source
    if source is None:
        raise ValueError(
            f"scenario {scenario.name!r} was not loaded from a file; "
            "load it with feedbacksim.load(path) to get a reproduction command"
        )
    args = ["feedbacksim", "run", _display_path(source)]
    for plugin in _extra_plugins(scenario, source):
        args += ["--plugin", plugin]
    for path, value in scenario.overrides.items():
        args += ["--set", f"{path}={format_value(value)}"]
    args += ["--seed", str(seed), "--replications", str(replications)]
    return shlex.join(args)


def reproduce_command(results: Results) -> str:
    """The command that reruns the scenario, seed and replications of ``results``.

    Raises:
        ValueError: the scenario has no file, or an override has no ``--set`` form.
    """
    return scenario_command(results.scenario, results.seed, results.replications)
