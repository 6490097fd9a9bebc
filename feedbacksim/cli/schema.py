"""``feedbacksim schema``: the JSON Schema of scenario files, for editors' YAML language servers."""

from __future__ import annotations

import argparse
import json

from feedbacksim.cli.options import add_plugin_option, import_plugins


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``schema`` subcommand."""
    parser = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    add_plugin_option(parser, "include the components that MODULE registers")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print the schema (every registered component's parameters included)."""
    from feedbacksim.scenario.schema import json_schema

    import_plugins(args.plugins)
    print(json.dumps(json_schema(), indent=2))
    return 0
