"""Load YAML safely while remembering where every key and list item came from.

The file is composed into a node tree with PyYAML's ``SafeLoader`` (never a full or
unsafe loader) and plain Python data is built from the nodes, so that errors can name
file, line, column and key path.  Compared with ``yaml.safe_load``:

* Only plain tags are accepted: mappings, sequences, strings, ints, floats, bools and
  null.  Any other tag (``!!python/...``, ``!!binary``, ``!!set``, ``!!omap``, custom
  ``!foo``) is an error naming the tag and its line; nothing is ever constructed from it.
* Timestamps (``2024-01-31``) stay **strings**, exactly as written.
* Merge keys (``<<``) are **rejected**; write the keys out.  Anchors and aliases work
  (recursive aliases and alias "bombs" are rejected).
* Duplicate keys in a mapping are an error (PyYAML would silently keep the last).
* The file must hold exactly one document, and its top level must be a mapping.
* A bare ``=`` (YAML 1.1's ``!!value``) is the string ``"="``.

Scalar resolution is otherwise PyYAML's own (YAML 1.1): ``yes``/``on`` are booleans,
``1e15`` is the *string* ``"1e15"`` (a float needs a dot and a signed exponent, e.g.
``1.0e+15``), ``0x1F`` is 31.  That is kept as is, not "fixed".
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from feedbacksim.errors import suggest

__all__ = [
    "Located",
    "suggest",  # now in feedbacksim.errors; kept here for the old import path
    "YamlSourceError",
    "format_keypath",
    "load_yaml",
    "load_yaml_text",
]

KeyPath = tuple[Any, ...]

_T = "tag:yaml.org,2002:"
_MAX_DEPTH = 200
_MAX_ALIAS_NODES = 100_000


class YamlSourceError(ValueError):
    """A problem in a YAML source, located by file, line and column (1-based)."""

    def __init__(
        self, path: str | None, line: int | None, column: int | None, message: str
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<string>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.line, self.column, self.message))


def format_keypath(keypath: Sequence[Any]) -> str:
    """Render a key path like ``('analyzers', 0, 'condition')`` as ``analyzers[0].condition``."""
    out = ""
    for part in keypath:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<top level>"


@dataclass
class Located:
    """Plain YAML data plus the 1-based ``(line, column)`` of every key path.

    For a mapping entry the position is that of its key; for a list item, of the item.
    """

    data: Any
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    path: str | None = None

    def position(self, keypath: Sequence[Any]) -> tuple[int, int]:
        """Position of ``keypath``, else of its nearest known ancestor, else ``(1, 1)``."""
        keys = tuple(keypath)
        while True:
            if keys in self.positions:
                return self.positions[keys]
            if not keys:
                return (1, 1)
            keys = keys[:-1]

    def error(self, keypath: Sequence[Any], message: str) -> YamlSourceError:
        """Build (not raise) a :class:`YamlSourceError` located at ``keypath``."""
        line, column = self.position(keypath)
        return YamlSourceError(self.path, line, column, f"{format_keypath(keypath)}: {message}")


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_T) :] if tag.startswith(_T) else tag


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.constructor = yaml.SafeLoader("")
        self.active: set[int] = set()
        self.seen: set[int] = set()
        self.repeats = 0

    def fail(self, node: yaml.Node, keypath: KeyPath, message: str) -> YamlSourceError:
        line, column = _mark(node)
        where = f"{format_keypath(keypath)}: " if keypath else ""
        return YamlSourceError(self.path, line, column, where + message)

    def build(self, node: yaml.Node, keypath: KeyPath) -> Any:
        if id(node) in self.active:
            raise self.fail(node, keypath, "recursive alias is not allowed")
        if len(self.active) >= _MAX_DEPTH:
            raise self.fail(node, keypath, f"nesting deeper than {_MAX_DEPTH} levels")
        if id(node) in self.seen:
            self.repeats += 1
            if self.repeats > _MAX_ALIAS_NODES:
                raise self.fail(node, keypath, "aliases expand to too many nodes")
        self.seen.add(id(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, keypath)
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, keypath, _T + "seq", "a sequence")
                items = []
                for index, item in enumerate(node.value):
                    self.positions[keypath + (index,)] = _mark(item)
                    items.append(self.build(item, (*keypath, index)))
                return items
            return self.scalar(node, keypath)
        finally:
            self.active.discard(id(node))

    def check_tag(self, node: yaml.Node, keypath: KeyPath, allowed: str, what: str) -> None:
        if node.tag != allowed:
            raise self.fail(node, keypath, f"tag {_tag_name(node.tag)!r} is not allowed on {what}")

    def mapping(self, node: yaml.MappingNode, keypath: KeyPath) -> dict[Any, Any]:
        self.check_tag(node, keypath, _T + "map", "a mapping")
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _T + "merge":
                raise self.fail(key_node, keypath, "merge keys ('<<') are not supported")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, keypath, "mapping keys must be plain scalars")
            key = self.scalar(key_node, keypath)
            if key in result:
                first = self.positions[keypath + (key,)][0]
                raise self.fail(
                    key_node, keypath, f"duplicate key {key!r} (first defined on line {first})"
                )
            self.positions[keypath + (key,)] = _mark(key_node)
            result[key] = self.build(value_node, (*keypath, key))
        return result

    def scalar(self, node: yaml.ScalarNode, keypath: KeyPath) -> Any:
        tag = node.tag
        try:
            if tag in (_T + "str", _T + "timestamp", _T + "value"):
                return str(node.value)
            if tag == _T + "null":
                return None
            if tag == _T + "bool":
                return self.constructor.construct_yaml_bool(node)
            if tag == _T + "int":
                return self.constructor.construct_yaml_int(node)
            if tag == _T + "float":
                return self.constructor.construct_yaml_float(node)
        except (ValueError, KeyError, yaml.YAMLError) as exc:
            raise self.fail(
                node, keypath, f"cannot read {node.value!r} as {_tag_name(tag)}: {exc}"
            ) from None
        raise self.fail(node, keypath, f"tag {_tag_name(tag)!r} is not allowed")


def _line_col(text: str, index: int) -> tuple[int, int]:
    index = max(0, min(index, len(text)))
    start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - start + 1


def _compose(text: str, path: str | None) -> yaml.Node | None:
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        if not loader.check_node():
            return None
        node = loader.get_node()
        if not loader.check_event(yaml.StreamEndEvent):
            mark = loader.peek_event().start_mark
            raise YamlSourceError(
                path,
                mark.line + 1,
                mark.column + 1,
                "multiple YAML documents in one file are not supported",
            )
        return node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = "; ".join(str(m) for m in (exc.context, exc.problem) if m) or "invalid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSourceError(path, line, column, f"YAML syntax error: {message}") from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_col(text, exc.position)
        message = f"character {chr(exc.character)!r} is not allowed in YAML"
        raise YamlSourceError(path, line, column, message) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(path, 1, 1, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlSourceError(path, 1, 1, "YAML nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_text(text: str, path: str | None = None) -> Located:
    """Parse YAML ``text`` (``path`` is only used in messages).

    Raises:
        YamlSourceError: on syntax errors, disallowed tags, duplicate keys, several
            documents, or a top level that is not a mapping.
    """
    node = _compose(text, path)
    if node is None:
        raise YamlSourceError(path, 1, 1, "the document is empty; expected a mapping")
    if not isinstance(node, yaml.MappingNode):
        found = "a sequence" if isinstance(node, yaml.SequenceNode) else "a scalar"
        line, column = _mark(node)
        raise YamlSourceError(
            path, line, column, f"the top level must be a mapping (key: value), found {found}"
        )
    builder = _Builder(path)
    builder.positions[()] = _mark(node)
    data = builder.build(node, ())
    return Located(data=data, positions=builder.positions, path=path)


def load_yaml(path: str | os.PathLike[str]) -> Located:
    """Read and parse a UTF-8 YAML file (a leading BOM is allowed).

    Raises:
        YamlSourceError: if the file is missing/unreadable, not UTF-8 (located at the
            first bad byte), or invalid as described in :func:`load_yaml_text`.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise YamlSourceError(name, None, None, "file not found") from None
    except OSError as exc:
        raise YamlSourceError(name, None, None, f"cannot read file: {exc.strerror}") from None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start]
        line = prefix.count(b"\n") + 1
        column = len(prefix[prefix.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        message = f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        raise YamlSourceError(name, line, column, message) from None
    return load_yaml_text(text, name)
