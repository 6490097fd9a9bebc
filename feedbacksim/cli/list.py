"""``feedbacksim list``: every registered component with its parameters, defaults and doc."""

from __future__ import annotations

import argparse
import types
import typing
from typing import Any

from feedbacksim.cli.options import add_plugin_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``list`` subcommand."""
    parser = sub.add_parser("list", help="list registered components and their parameters")
    add_plugin_option(parser, "include the components that MODULE registers")
    parser.set_defaults(handler=handle)


def type_name(annotation: Any) -> str:
    """A short, readable name of a parameter's type (constraints left out)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None and args:
        if origin in (typing.Union, types.UnionType):
            return " | ".join(type_name(a) for a in args)
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_name(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def handle(args: argparse.Namespace) -> int:
    """Print one table per category: kind, parameters (type = default) and the summary."""
    from pydantic_core import PydanticUndefined
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from feedbacksim.cli.options import import_plugins
    from feedbacksim.core.registry import CATEGORIES, registry

    import_plugins(args.plugins)
    console = Console()
    components = registry.components()
    for category in CATEGORIES:
        table = Table(title=f"{category} components", show_lines=True)
        for column in ("kind", "parameters", "description"):
            table.add_column(column)
        for c in (c for c in components if c.category == category):
            lines = []
            for name, field in c.params_model.model_fields.items():
                default = "required" if field.default is PydanticUndefined else repr(field.default)
                lines.append(f"{name}: {type_name(field.annotation)} = {default}")
            table.add_row(escape(c.kind), escape("\n".join(lines) or "-"), escape(c.summary))
        if table.row_count:
            console.print(table)
    return 0
