"""Command-line options shared by several commands (scenario loading, overrides)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import yaml

from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.scenario.scenario import Scenario, load


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    """``--set path=value`` (repeatable) and ``--plugin module`` (repeatable)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a key, e.g. agents.dispatcher.policy.epsilon=0.1 (value parsed as YAML)",
    )
    add_plugin_option(parser, "allow the scenario to import components from MODULE")


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
    """``["a.b=1", "c=[1, 2]"]`` -> ``{"a.b": 1, "c": [1, 2]}``; values are YAML scalars or flow lists."""
    overrides: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ScenarioError(Problem(f"--set expects PATH=VALUE, got {item!r}"))
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ScenarioError(
                Problem(f"--set {path}: cannot parse value {text!r}: {exc}", keypath=path)
            ) from None
        overrides[path.strip()] = value
    return overrides


def load_scenario(path: str, args: argparse.Namespace) -> Scenario:
    """Load ``path`` and apply the command's ``--plugin`` and ``--set`` options."""
    scenario = load(path, plugins=getattr(args, "plugins", []))
    overrides = parse_overrides(getattr(args, "overrides", []))
    return scenario.with_overrides(overrides) if overrides else scenario
