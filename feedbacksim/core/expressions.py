"""A small, restricted expression language for invariants and stop conditions.

Expressions are tokenized and parsed by hand into a tiny AST and evaluated with numpy;
Python's ``eval`` is never used.  Grammar, loosest binding first::

    expr    := expr 'or' expr | expr 'and' expr | 'not' expr
             | arith CMP arith            (CMP: < <= > >= == !=, not chained)
             | arith
    arith   := arith ('+'|'-') arith | arith ('*'|'/') arith | '-' arith | primary
    primary := NUMBER | 'true' | 'false' | '(' expr ')'
             | NAME | NAME '[' 'group' '=' (NAME|NUMBER) ']'
             | FUNC '(' expr (',' expr)* ')'

A bare ``NAME`` refers to a recorded metric (all groups); ``NAME[group=B]`` selects one
group, matched as a string against the group label.  ``min``/``max``/``mean``/``sum``
with one argument reduce over groups; ``min``/``max`` with several arguments and ``abs``
are elementwise.  A comparison whose operands are arrays is true only if it holds for
**all groups**.  Division by zero follows IEEE rules (``inf``/``nan``) without warnings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator

from feedbacksim.errors import suggest

__all__ = ["FUNCTIONS", "Condition", "Expression", "ExpressionError", "parse"]

FUNCTIONS: frozenset[str] = frozenset({"min", "max", "abs", "mean", "sum"})
MAX_LENGTH = 500
MAX_DEPTH = 50

_KEYWORDS = {"and", "or", "not", "true", "false"}
_COMPARE = {"<", "<=", ">", ">=", "==", "!="}
_BINARY_PREC = {"or": 1, "and": 2, **dict.fromkeys(_COMPARE, 4), "+": 5, "-": 5, "*": 6, "/": 6}
_NOT_PREC = 3
_TOKEN = re.compile(
    r"(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|<=|>=|==|!=|[<>+\-*/()\[\],=])"
    r"|(?P<ws>[ \t\r\n]+)",
    re.ASCII,
)


class ExpressionError(ValueError):
    """Invalid expression.  ``column`` is the 1-based column of the problem, if known."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"{message} (column {column})")


# --- AST -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Metric:
    name: str
    group: str | None


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # arithmetic, comparison, "and" or "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Num | Bool | Metric | Unary | Binary | Call


def _is_bool(node: Node) -> bool:
    if isinstance(node, Bool):
        return True
    if isinstance(node, Unary):
        return node.op == "not"
    return isinstance(node, Binary) and (node.op in _COMPARE or node.op in ("and", "or"))


# --- tokenizer and parser --------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    column: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        col = pos + 1
        match = _TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            if char in "'\"":
                raise ExpressionError("string literals are not allowed", col)
            if char == ".":
                prev = tokens[-1] if tokens else None
                if prev is not None and (prev.kind == "name" or prev.text in (")", "]")):
                    raise ExpressionError("attribute access ('.') is not allowed", col)
            raise ExpressionError(f"unexpected character {char!r}", col)
        kind, text = match.lastgroup or "", match.group()
        pos = match.end()
        if kind == "ws":
            continue
        if text == "**":
            raise ExpressionError("'**' (power) is not allowed", col)
        if kind == "name" and text == "lambda":
            raise ExpressionError("lambda is not allowed", col)
        if kind == "name" and text.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed: {text!r}", col)
        tokens.append(_Token(kind, text, col))
    tokens.append(_Token("end", "", len(source) + 1))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, text: str) -> _Token:
        tok = self.advance()
        if tok.kind != "op" or tok.text != text:
            raise ExpressionError(f"expected {text!r}, found {_describe(tok)}", tok.column)
        return tok

    def nest(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels", tok.column)

    def parse(self) -> Node:
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"unexpected {_describe(tok)}", tok.column)
        return node

    def expr(self, min_prec: int) -> Node:
        tok = self.peek()
        if tok.kind == "name" and tok.text == "not":
            if min_prec > _NOT_PREC:
                raise ExpressionError("'not' must be parenthesized here", tok.column)
            self.advance()
            self.nest(tok)
            operand = self.expr(_NOT_PREC)
            self.depth -= 1
            left: Node = Unary("not", _check(operand, True, "not", tok))
        else:
            left = self.unary()
        while True:
            tok = self.peek()
            op = tok.text if tok.kind in ("op", "name") else ""
            prec = _BINARY_PREC.get(op)
            if prec is None or prec < min_prec:
                return left
            self.advance()
            right = self.expr(prec + 1)
            if op in ("and", "or"):
                left = Binary(op, _check(left, True, op, tok), _check(right, True, op, tok))
            elif op in _COMPARE:
                if op in ("<", "<=", ">", ">=") or not (_is_bool(left) and _is_bool(right)):
                    _check(left, False, op, tok)
                    _check(right, False, op, tok)
                left = Binary(op, left, right)
                nxt = self.peek()
                if nxt.text in _COMPARE and nxt.kind == "op":
                    raise ExpressionError(
                        "chained comparisons are not supported; combine them with 'and'",
                        nxt.column,
                    )
            else:
                left = Binary(op, _check(left, False, op, tok), _check(right, False, op, tok))

    def unary(self) -> Node:
        tok = self.peek()
        if tok.text == "-" and tok.kind == "op":
            self.advance()
            self.nest(tok)
            operand = self.unary()
            self.depth -= 1
            return Unary("-", _check(operand, False, "-", tok))
        node = self.primary()
        nxt = self.peek()
        if nxt.text == "[":
            raise ExpressionError(
                "subscripts are not allowed (only metric[group=...] selects a group)", nxt.column
            )
        if nxt.text == "(":
            raise ExpressionError("only the functions " + _fnames() + " can be called", nxt.column)
        return node

    def primary(self) -> Node:
        tok = self.advance()
        if tok.kind == "num":
            return Num(float(tok.text))
        if tok.text == "(":
            self.nest(tok)
            node = self.expr(0)
            self.depth -= 1
            self.expect(")")
            return node
        if tok.kind != "name":
            raise ExpressionError(f"unexpected {_describe(tok)}", tok.column)
        name = tok.text
        if name in ("true", "false"):
            return Bool(name == "true")
        if name in _KEYWORDS:
            raise ExpressionError(f"unexpected keyword {name!r}", tok.column)
        nxt = self.peek()
        if nxt.text == "(":
            return self.call(tok)
        if name in FUNCTIONS:
            raise ExpressionError(f"{name!r} is a function; call it as {name}(...)", tok.column)
        if nxt.text == "[":
            return Metric(name, self.selector())
        return Metric(name, None)

    def call(self, name_tok: _Token) -> Node:
        name = name_tok.text
        if name not in FUNCTIONS:
            hint = suggest(name, FUNCTIONS) or f"; allowed functions: {_fnames()}"
            raise ExpressionError(f"unknown function {name!r}{hint}", name_tok.column)
        open_tok = self.advance()
        if self.peek().text == ")":
            raise ExpressionError(f"{name}() needs an argument", open_tok.column)
        self.nest(open_tok)
        args = [self.expr(0)]
        while self.peek().text == ",":
            self.advance()
            args.append(self.expr(0))
        self.depth -= 1
        self.expect(")")
        for arg in args:
            _check(arg, False, f"{name}()", name_tok)
        if len(args) > 1 and name not in ("min", "max"):
            raise ExpressionError(f"{name}() takes exactly one argument", name_tok.column)
        return Call(name, tuple(args))

    def selector(self) -> str:
        self.advance()  # "["
        key = self.advance()
        if key.text != "group" or key.kind != "name":
            raise ExpressionError(
                "subscripts are not allowed (only metric[group=...] selects a group), "
                f"found {_describe(key)}",
                key.column,
            )
        self.expect("=")
        value = self.advance()
        if value.kind not in ("name", "num"):
            raise ExpressionError(
                f"expected a group label after 'group=', found {_describe(value)}", value.column
            )
        self.expect("]")
        return value.text


def _describe(tok: _Token) -> str:
    return "end of expression" if tok.kind == "end" else repr(tok.text)


def _fnames() -> str:
    return ", ".join(sorted(FUNCTIONS))


def _check(node: Node, want_bool: bool, where: str, tok: _Token) -> Node:
    if _is_bool(node) != want_bool:
        kind = "boolean" if want_bool else "numeric"
        raise ExpressionError(f"{where!r} expects {kind} operands", tok.column)
    return node


# --- evaluation ------------------------------------------------------------------------

_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_REDUCE: dict[str, Callable[..., Any]] = {
    "min": np.min,
    "max": np.max,
    "mean": np.mean,
    "sum": np.sum,
}


class _Evaluator:
    """Evaluates a node; ``series`` mode works on ``(n_times, n_groups)`` arrays."""

    def __init__(self, lookup: Callable[[str, str | None], Any], series: bool) -> None:
        self.lookup = lookup
        self.series = series
        self.n_times: int | None = None

    def metric(self, node: Metric) -> np.ndarray:
        value = np.asarray(self.lookup(node.name, node.group), dtype=float)
        if not self.series:
            return value.reshape(-1)
        if value.ndim == 1:
            value = value.reshape(-1, 1)
        if value.ndim != 2:
            raise ExpressionError(f"metric {node.name!r}: expected a 2-D (time, group) array")
        if self.n_times is None:
            self.n_times = value.shape[0]
        elif value.shape[0] != self.n_times:
            raise ExpressionError(f"metric {node.name!r} is not aligned with the other metrics")
        return value

    def all_groups(self, value: Any) -> Any:
        if self.series:
            return np.all(value, axis=1) if np.ndim(value) == 2 else value
        return bool(np.all(value))

    def eval(self, node: Node) -> Any:
        if isinstance(node, (Num, Bool)):
            return node.value
        if isinstance(node, Metric):
            return self.metric(node)
        if isinstance(node, Unary):
            value = self.eval(node.operand)
            return np.negative(value) if node.op == "-" else np.logical_not(value)
        if isinstance(node, Binary):
            if node.op in ("and", "or"):
                left, right = self.eval(node.left), self.eval(node.right)
                return (np.logical_and if node.op == "and" else np.logical_or)(left, right)
            try:
                result = _ARITH[node.op](self.eval(node.left), self.eval(node.right))
            except ValueError as exc:  # incompatible group counts
                raise ExpressionError(f"cannot combine operands of {node.op!r}: {exc}") from exc
            return self.all_groups(result) if node.op in _COMPARE else result
        args = [self.eval(arg) for arg in node.args]
        if node.func == "abs":
            return np.abs(args[0])
        if len(args) > 1:
            func = np.minimum if node.func == "min" else np.maximum
            try:
                result = args[0]
                for arg in args[1:]:
                    result = func(result, arg)
            except ValueError as exc:
                raise ExpressionError(f"cannot combine arguments of {node.func}(): {exc}") from exc
            return result
        value = args[0]
        if self.series and np.ndim(value) == 2:
            return _REDUCE[node.func](value, axis=1, keepdims=True)
        return _REDUCE[node.func](value) if np.size(value) else np.nan


def _collect(node: Node, out: set[tuple[str, str | None]]) -> None:
    if isinstance(node, Metric):
        out.add((node.name, node.group))
    elif isinstance(node, Unary):
        _collect(node.operand, out)
    elif isinstance(node, Binary):
        _collect(node.left, out)
        _collect(node.right, out)
    elif isinstance(node, Call):
        for arg in node.args:
            _collect(arg, out)


@dataclass(frozen=True)
class Expression:
    """A parsed expression; construct with :func:`parse` (or ``Expression(source)``)."""

    source: str
    root: Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise ExpressionError(f"expression must be a string, got {type(self.source).__name__}")
        if len(self.source) > MAX_LENGTH:
            raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
        if not self.source.strip():
            raise ExpressionError("empty expression", 1)
        object.__setattr__(self, "root", _Parser(self.source).parse())

    @property
    def is_boolean(self) -> bool:
        """Whether the expression yields a truth value (a comparison or logic)."""
        return _is_bool(self.root)

    def references(self) -> set[tuple[str, str | None]]:
        """Return the ``(metric, group)`` pairs referenced; group is None for all groups."""
        out: set[tuple[str, str | None]] = set()
        _collect(self.root, out)
        return out

    def metrics(self) -> set[str]:
        """Return the names of the metrics referenced."""
        return {name for name, _ in self.references()}

    def evaluate(self, lookup: Callable[[str, str | None], Any]) -> np.ndarray | float | bool:
        """Evaluate at one point in time.

        Args:
            lookup: ``lookup(metric, group)`` returns the metric's current values: for
                ``group=None`` an array over all groups, else a 0-d/1-element value.

        Returns:
            A Python bool for boolean expressions (comparisons hold for all groups), a
            float for single-valued arithmetic, else an array over groups.
        """
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = _Evaluator(lookup, series=False).eval(self.root)
        if self.is_boolean:
            return bool(np.all(value))
        arr = np.asarray(value, dtype=float)
        return float(arr.reshape(-1)[0]) if arr.size == 1 else arr

    def evaluate_series(self, lookup_series: Callable[[str, str | None], Any]) -> np.ndarray:
        """Evaluate at every time step at once (no Python loop over time).

        Args:
            lookup_series: ``lookup_series(metric, group)`` returns a 2-D array
                ``(n_times, n_groups)``, or ``(n_times, 1)`` for one group; all metrics
                must share the time axis.

        Returns:
            A ``(n_times,)`` bool array for boolean expressions; for arithmetic a
            ``(n_times,)`` float array when single-valued, else ``(n_times, n_groups)``.
            With no metric referenced, ``n_times`` is 1.
        """
        evaluator = _Evaluator(lookup_series, series=True)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = np.asarray(evaluator.eval(self.root))
        n_times = evaluator.n_times or 1
        if self.is_boolean:
            return np.broadcast_to(value.astype(bool), (n_times,)).copy()
        value = value.astype(float)
        if value.ndim == 2 and value.shape[1] == 1:
            return value[:, 0]
        return value if value.ndim == 2 else np.broadcast_to(value, (n_times,)).copy()


def parse(source: str) -> Expression:
    """Parse ``source`` into an :class:`Expression`.

    Raises:
        ExpressionError: with the offending token and its column.
    """
    return Expression(source)


def _parse_condition(value: str) -> str:
    parse(value)
    return value


Condition = Annotated[str, AfterValidator(_parse_condition)]
"""A component parameter holding a condition: validated by :func:`parse` when a scenario loads.

Declare ``condition: Condition`` in a component's ``__init__``; a component that reads
metrics through it reports them with ``parse(condition).metrics()`` in ``required_metrics``.
"""
