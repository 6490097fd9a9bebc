"""Command-line options shared by several commands (scenario loading, overrides).

Building a parser imports nothing of the layers: the scenario layer is imported when a
scenario is loaded or an override is read.
"""

from __future__ import annotations

import argparse
import importlib
from typing import TYPE_CHECKING, Any

from feedbacksim.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from feedbacksim.scenario.scenario import Scenario


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    """``--set path=value`` (repeatable), ``--plugin module`` (repeatable), ``--trust-plugins``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a key, e.g. agents.dispatcher.policy.epsilon=0.1 (value parsed as YAML)",
    )
    add_plugin_option(parser, "import MODULE and allow the scenario to use its components")
    parser.add_argument(
        "--trust-plugins",
        action="store_true",
        help="import every module the scenario lists under plugins: (they run code; "
        "without this flag only --plugin modules are imported)",
    )


def add_plugin_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--plugin MODULE`` (repeatable)."""
    parser.add_argument(
        "--plugin", dest="plugins", action="append", default=[], metavar="MODULE", help=help
    )


def import_plugins(modules: list[str]) -> None:
    """Import ``--plugin`` modules; one that cannot be imported is an invalid command (exit 2)."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a plugin's own import may raise anything
            raise ScenarioError(Problem(f"cannot import plugin module {module!r}: {exc}")) from None


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["a.b=1", "c=[1, 2]"]`` -> ``{"a.b": 1, "c": [1, 2]}``; values are YAML, read like a file's."""
    from feedbacksim.scenario.yaml_source import YamlSourceError, load_yaml_value

    overrides: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ScenarioError(Problem(f"--set expects PATH=VALUE, got {item!r}"))
        try:
            value = load_yaml_value(text, f"--set {path.strip()}")
        except YamlSourceError as exc:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise ScenarioError(
                Problem(f"--set {path.strip()}: cannot read the value {shown!r}: {exc.message}")
            ) from None
        overrides[path.strip()] = value
    return overrides


def load_scenario(
    path: str, args: argparse.Namespace, partial: bool = False, overrides: bool = True
) -> Scenario:
    """Load ``path`` and apply the command's ``--plugin``, ``--trust-plugins`` and ``--set``.

    A module the file lists under ``plugins:`` is imported only when it is given with
    ``--plugin`` or ``--trust-plugins`` is passed; ``partial`` (validate) checks the rest
    of such a file instead of refusing it.
    """
    from feedbacksim.scenario.scenario import load

    scenario = load(
        path,
        plugins=getattr(args, "plugins", []),
        trust_plugins=getattr(args, "trust_plugins", False),
        partial=partial,
    )
    changes = parse_overrides(getattr(args, "overrides", [])) if overrides else {}
    return scenario.with_overrides(changes, via="--set") if changes else scenario
