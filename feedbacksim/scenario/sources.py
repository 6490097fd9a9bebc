"""Where every value of a scenario came from: file and line, or a ``--set`` override.

A scenario is read with :func:`feedbacksim.scenario.yaml_source.load_yaml` (safe, positions kept)
and its ``extends:`` chain is merged here: mappings merge deeply, lists and scalars
replace. The merge keeps a :class:`SourceMap` beside the data, so a problem found in the
resolved scenario points at the file (and line) that defined the offending key: the
child when it overrode the key, else the parent. Overrides (``--set``,
``Scenario.with_overrides``) mark what they replaced as coming from the override.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.scenario.yaml_source import Located, YamlSourceError, load_yaml, load_yaml_text

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Origin:
    """Where a value was defined: a file position, or the override path that set it."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    override: str | None = None


class SourceMap:
    """Origins by key path (list items by index); lookups fall back to the nearest ancestor."""

    def __init__(self, origins: dict[KeyPath, Origin] | None = None) -> None:
        self.origins: dict[KeyPath, Origin] = dict(origins or {})

    def copy(self) -> SourceMap:
        """An independent copy."""
        return SourceMap(self.origins)

    def origin(self, keypath: KeyPath) -> Origin:
        """Origin of ``keypath``, else of its nearest known ancestor, else an empty Origin."""
        keys = tuple(keypath)
        while True:
            if keys in self.origins:
                return self.origins[keys]
            if not keys:
                return Origin()
            keys = keys[:-1]

    def replace(self, prefix: KeyPath, origins: Mapping[KeyPath, Origin]) -> None:
        """Forget everything under ``prefix`` and take ``origins`` (full key paths) instead."""
        n = len(prefix)
        for key in [k for k in self.origins if k[:n] == prefix]:
            del self.origins[key]
        self.origins.update(origins)

    def under(self, prefix: KeyPath) -> dict[KeyPath, Origin]:
        """The origins of ``prefix`` and everything under it."""
        n = len(prefix)
        return {k: v for k, v in self.origins.items() if k[:n] == prefix}


def _problem(
    path: Path, message: str, line: int | None = None, column: int | None = None
) -> ScenarioError:
    return ScenarioError(Problem(message, file=str(path), line=line, column=column))


def read_source(
    path: str | os.PathLike[str], _chain: tuple[Path, ...] = ()
) -> tuple[dict[str, Any], SourceMap]:
    """The file's mapping with ``extends:`` resolved, and the origin of every key.

    Raises:
        ScenarioError: the file (or a file it extends) is missing, unreadable, not UTF-8,
            not valid YAML, uses a disallowed tag, or the ``extends:`` chain has a cycle.
    """
    path = Path(path)
    try:
        located = load_yaml(path)
    except YamlSourceError as exc:
        raise _problem(path, exc.message, exc.line, exc.column) from None
    except (OSError, ValueError) as exc:  # e.g. a name the OS refuses
        raise _problem(path, f"cannot read file: {exc}") from None
    return _resolve_extends(located, path, _chain)


def read_text(text: str, path: str | os.PathLike[str]) -> tuple[dict[str, Any], SourceMap]:
    """Like :func:`read_source` for YAML ``text`` said to come from ``path`` (``extends:``
    is relative to it)."""
    path = Path(path)
    try:
        located = load_yaml_text(text, str(path))
    except YamlSourceError as exc:
        raise _problem(path, exc.message, exc.line, exc.column) from None
    return _resolve_extends(located, path, ())


def _resolve_extends(
    located: Located, path: Path, _chain: tuple[Path, ...]
) -> tuple[dict[str, Any], SourceMap]:
    data: dict[str, Any] = located.data
    sources = SourceMap(
        {k: Origin(str(path), line, col) for k, (line, col) in located.positions.items()}
    )
    if "extends" not in data:
        return data, sources
    parent = data["extends"]
    line, column = located.positions[("extends",)]
    if not isinstance(parent, str) or not parent.strip():
        raise _problem(path, f"extends: expected a file name, found {parent!r}", line, column)
    parent_path = path.parent / parent
    resolved = _resolve(path)
    if _resolve(parent_path) in (*_chain, resolved):
        cycle = " -> ".join(str(p) for p in (*_chain, resolved, _resolve(parent_path)))
        raise _problem(path, f"extends: cycle: {cycle}", line, column)
    if not _is_file(parent_path):
        raise _problem(
            path,
            f"extends: file not found: {parent_path} (paths are relative to this file)",
            line,
            column,
        )
    base, base_sources = read_source(parent_path, (*_chain, resolved))
    child = {k: v for k, v in data.items() if k != "extends"}
    del sources.origins[("extends",)]
    return merge(base, base_sources, child, sources)


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return path.absolute()


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def merge(
    base: Mapping[str, Any],
    base_sources: SourceMap,
    override: Mapping[str, Any],
    override_sources: SourceMap,
) -> tuple[dict[str, Any], SourceMap]:
    """``override`` merged into ``base``, with origins: mappings merge, everything else replaces."""
    sources = base_sources.copy()
    data = _merge_into(copy.deepcopy(dict(base)), override, (), sources, override_sources)
    return data, sources


def _merge_into(
    out: dict[str, Any],
    override: Mapping[str, Any],
    prefix: KeyPath,
    sources: SourceMap,
    override_sources: SourceMap,
) -> dict[str, Any]:
    for key, value in override.items():
        keypath = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            if keypath in override_sources.origins:
                sources.origins[keypath] = override_sources.origins[keypath]
            out[key] = _merge_into(dict(out[key]), value, keypath, sources, override_sources)
        else:
            out[key] = copy.deepcopy(value)
            sources.replace(keypath, override_sources.under(keypath))
    return out


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base``: mappings merge recursively, everything else replaces."""
    return merge(base, SourceMap(), override, SourceMap())[0]
