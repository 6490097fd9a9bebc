"""``feedbacksim schema``: the JSON Schema of scenario files, for editors' YAML language servers."""

from __future__ import annotations

import argparse
import importlib
import json

from feedbacksim.errors import Problem, ScenarioError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``schema`` subcommand."""
    parser = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    parser.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE",
        help="include the components that MODULE registers",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print the schema (every registered component's parameters included)."""
    from feedbacksim.schema import json_schema

    import_plugins(args.plugins)
    print(json.dumps(json_schema(), indent=2))
    return 0


def import_plugins(modules: list[str]) -> None:
    """Import ``--plugin`` modules; one that cannot be imported is an invalid command (exit 2)."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a plugin's own import may raise anything
            raise ScenarioError(Problem(f"cannot import plugin module {module!r}: {exc}")) from None
