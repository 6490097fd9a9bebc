"""Tests for the restricted expression language."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedbacksim.core.expressions import FUNCTIONS, Expression, ExpressionError, parse

GROUPS = ["A", "B", "C"]
VALUES = {
    "patrol_share": np.array([0.2, 0.5, 0.95]),
    "approval_rate": np.array([0.6, 0.4, 0.7]),
    "accuracy": np.array([0.8]),
}


def lookup(metric: str, group: str | None) -> np.ndarray:
    values = VALUES[metric]
    if group is None:
        return values
    return values[GROUPS.index(group)] if len(values) > 1 else values[int(group)]


def ev(source: str):
    return parse(source).evaluate(lookup)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("8 / 4 / 2", 1.0),
        ("-2 * 3", -6.0),
        ("- -2", 2.0),
        ("2 - -1", 3.0),
        ("1.5e2 + .5 + 3.", 153.5),
        ("1e-2", 0.01),
        ("abs(-3)", 3.0),
        ("max(patrol_share)", 0.95),
        ("min(patrol_share)", 0.2),
        ("sum(patrol_share)", pytest.approx(1.65)),
        ("mean(approval_rate)", pytest.approx(17 / 30)),
        ("approval_rate[group=B]", 0.4),
        ("accuracy", 0.8),
        ("accuracy[group=0] * 10", 8.0),
        ("max(approval_rate[group=A], approval_rate[group=B])", 0.6),
        ("max(patrol_share) - min(patrol_share)", pytest.approx(0.75)),
    ],
)
def test_arithmetic(source: str, expected: float) -> None:
    result = ev(source)
    assert isinstance(result, float)
    assert result == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("max(patrol_share) <= 0.9", False),
        ("max(patrol_share) <= 0.95", True),
        ("patrol_share < 1", True),  # all groups
        ("patrol_share < 0.9", False),  # not all groups
        ("patrol_share >= 0.2", True),
        ("approval_rate[group=B] < approval_rate[group=A]", True),
        ("1 < 2 and 2 < 1", False),
        ("1 < 2 or 2 < 1", True),
        ("not 1 < 2", False),
        ("not (1 < 2) or true", True),
        ("true and not false", True),
        ("false or true and false", False),  # and binds tighter
        ("not false and false", False),  # not binds tighter than and
        ("1 + 1 == 2", True),
        ("1 != 1", False),
        ("(1 < 2) == (3 < 4)", True),
        ("abs(approval_rate[group=A] - approval_rate[group=B]) <= 0.2 + 1e-9", True),
        ("min(patrol_share, 0.5) <= 0.5", True),
        ("approval_rate / patrol_share > 0.7", True),
    ],
)
def test_boolean(source: str, expected: bool) -> None:
    result = ev(source)
    assert type(result) is bool
    assert result is expected


def test_elementwise_results_are_arrays() -> None:
    np.testing.assert_allclose(ev("-patrol_share + 1"), [0.8, 0.5, 0.05])
    np.testing.assert_allclose(ev("min(patrol_share, approval_rate)"), [0.2, 0.4, 0.7])
    np.testing.assert_allclose(ev("abs(patrol_share - 0.5)"), [0.3, 0.0, 0.45])
    np.testing.assert_allclose(ev("patrol_share * accuracy"), [0.16, 0.4, 0.76])


def test_division_by_zero_is_silent_ieee() -> None:
    assert ev("1 / 0") == np.inf
    assert ev("0 / 0 == 0 / 0") is False


def test_metrics_and_references() -> None:
    expr = parse("max(patrol_share) <= 0.9 and approval_rate[group=B] > mean(approval_rate)")
    assert expr.metrics() == {"patrol_share", "approval_rate"}
    assert expr.references() == {
        ("patrol_share", None),
        ("approval_rate", "B"),
        ("approval_rate", None),
    }
    assert parse("1 + 2").metrics() == set()
    assert parse("x[group=0]").references() == {("x", "0")}


def test_expression_value_semantics() -> None:
    assert parse("a < 1") == Expression("a < 1")
    assert hash(parse("a < 1")) == hash(Expression("a < 1"))
    assert parse("a < 1").is_boolean
    assert not parse("a + 1").is_boolean
    assert frozenset({"min", "max", "abs", "mean", "sum"}) == FUNCTIONS


def test_lookup_receives_group_labels() -> None:
    calls: list[tuple[str, str | None]] = []

    def recording(metric: str, group: str | None) -> np.ndarray:
        calls.append((metric, group))
        return np.array([1.0])

    parse("a[group=B] + a[group=0] + a").evaluate(recording)
    assert calls == [("a", "B"), ("a", "0"), ("a", None)]


# --- vectorized evaluation --------------------------------------------------------------

SERIES_EXPRESSIONS = [
    "max(patrol_share) <= 0.9",
    "patrol_share < 0.8",
    "abs(approval_rate[group=A] - approval_rate[group=B]) < 0.1 or mean(patrol_share) > 0.5",
    "not (min(approval_rate) > 0.3) and true",
    "approval_rate[group=C] * 2 - sum(patrol_share) / 3",
    "max(approval_rate[group=A], approval_rate[group=B], 0.5)",
    "min(patrol_share, approval_rate) + accuracy",
    "-patrol_share",
    "accuracy >= 0.5",
    "(1 < 2) != (patrol_share[group=B] > 0.5)",
]


@pytest.mark.parametrize("source", SERIES_EXPRESSIONS)
def test_series_matches_pointwise(source: str) -> None:
    rng = np.random.default_rng(1234)
    n_times = 40
    series = {
        "patrol_share": rng.random((n_times, 3)),
        "approval_rate": rng.random((n_times, 3)),
        "accuracy": rng.random((n_times, 1)),
    }

    def lookup_series(metric: str, group: str | None) -> np.ndarray:
        values = series[metric]
        if group is None:
            return values
        return values[:, [GROUPS.index(group)]]

    expr = parse(source)
    vectorized = expr.evaluate_series(lookup_series)
    assert vectorized.shape[0] == n_times
    for t in range(n_times):

        def lookup_t(metric: str, group: str | None, t: int = t) -> np.ndarray:
            row = series[metric][t]
            return row if group is None else row[GROUPS.index(group)]

        pointwise = expr.evaluate(lookup_t)
        if isinstance(pointwise, bool):
            assert vectorized.dtype == bool
            assert bool(vectorized[t]) is pointwise
        else:
            np.testing.assert_allclose(vectorized[t], pointwise)


def test_series_shapes() -> None:
    data = np.arange(12, dtype=float).reshape(4, 3)

    def lookup_series(metric: str, group: str | None) -> np.ndarray:
        return data if group is None else data[:, [int(group)]]

    assert parse("x + 1").evaluate_series(lookup_series).shape == (4, 3)
    assert parse("max(x)").evaluate_series(lookup_series).shape == (4,)
    assert parse("x[group=1]").evaluate_series(lookup_series).shape == (4,)
    result = parse("x > 2").evaluate_series(lookup_series)
    assert result.dtype == bool
    assert result.tolist() == [False, True, True, True]
    assert parse("2 > 1 and x[group=0] >= 0").evaluate_series(lookup_series).shape == (4,)


def test_series_without_metrics_has_one_time_step() -> None:
    assert parse("1 < 2").evaluate_series(lambda m, g: None).tolist() == [True]
    assert parse("1 + 2").evaluate_series(lambda m, g: None).tolist() == [3.0]


def test_not_not() -> None:
    assert ev("not not true") is True
    assert ev("not not 1 < 2 and true") is True


def test_series_misaligned_metrics() -> None:
    def lookup_series(metric: str, group: str | None) -> np.ndarray:
        return np.zeros((3, 2)) if metric == "a" else np.zeros((4, 2))

    with pytest.raises(ExpressionError, match="not aligned"):
        parse("a + b").evaluate_series(lookup_series)


def test_incompatible_group_counts() -> None:
    with pytest.raises(ExpressionError, match="cannot combine"):
        parse("a + b").evaluate(lambda m, g: np.zeros(2) if m == "a" else np.zeros(3))


# --- rejections -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fragment", "column"),
    [
        ("a.b > 1", "attribute access", 2),
        ("max(x).real", "attribute access", 7),
        ("len(x) > 1", "unknown function 'len'", 1),
        ("maen(x) > 1", "did you mean 'mean'?", 1),
        ("x + mx(y)", "did you mean 'max'?", 5),
        ("__import__('os')", "names starting with '_'", 1),
        ("_private > 1", "names starting with '_'", 1),
        ("x[group=_b]", "names starting with '_'", 9),
        ("lambda: 1", "lambda is not allowed", 1),
        ("(lambda x: x)(1)", "lambda is not allowed", 2),
        ("x == 'a'", "string literals are not allowed", 6),
        ('x == "a"', "string literals are not allowed", 6),
        ("x[0] > 1", "subscripts are not allowed", 3),
        ("x[group=A][group=B]", "subscripts are not allowed", 11),
        ("max(x)[0]", "subscripts are not allowed", 7),
        ("x[kind=A]", "subscripts are not allowed", 3),
        ("x ** 2", "'**' (power) is not allowed", 3),
        ("a < b < c", "chained comparisons", 7),
        ("a == b != c", "chained comparisons", 8),
        ("x @ 2", "unexpected character '@'", 3),
        ("x; y", "unexpected character ';'", 2),
        ("1 and 2", "'and' expects boolean operands", 3),
        ("(a < 1) + 1", "'+' expects numeric operands", 9),
        ("(a < 1) < 2", "'<' expects numeric operands", 9),
        ("not x", "'not' expects boolean operands", 1),
        ("a + not b < 1", "'not' must be parenthesized", 5),
        ("max(a < 1)", "'max()' expects numeric operands", 1),
        ("mean(a, b)", "mean() takes exactly one argument", 1),
        ("abs(a, b)", "abs() takes exactly one argument", 1),
        ("max()", "max() needs an argument", 4),
        ("max > 1", "'max' is a function", 1),
        ("a b", "unexpected 'b'", 3),
        ("(a", "expected ')', found end of expression", 3),
        ("a +", "unexpected end of expression", 4),
        ("3(1)", "only the functions", 2),
        ("a[group=]", "expected a group label", 9),
        ("", "empty expression", 1),
        ("   ", "empty expression", 1),
        ("x > é", "unexpected character 'é'", 5),
        ("a and", "unexpected end of expression", 6),
    ],
)
def test_rejections(source: str, fragment: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert fragment in str(info.value)
    assert info.value.column == column
    assert f"(column {column})" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_too_long() -> None:
    parse("x + " * 124 + "x")  # 500 characters
    with pytest.raises(ExpressionError, match="longer than 500 characters"):
        parse("x + " * 125 + "x")


def test_too_deep() -> None:
    parse("(" * 50 + "x" + ")" * 50)
    with pytest.raises(ExpressionError, match="nested deeper than 50"):
        parse("(" * 51 + "x" + ")" * 51)
    with pytest.raises(ExpressionError, match="nested deeper than 50"):
        parse("-" * 60 + "1")
    with pytest.raises(ExpressionError, match="nested deeper than 50"):
        parse("not " * 60 + "true")
    with pytest.raises(ExpressionError, match="nested deeper than 50"):
        parse("abs(" * 60 + "x" + ")" * 60)


def test_non_string_source() -> None:
    with pytest.raises(ExpressionError, match="must be a string"):
        parse(123)  # type: ignore[arg-type]


# --- fuzzing ----------------------------------------------------------------------------

ALPHABET = st.sampled_from(
    list("abxyz_019.eE+-*/<>=!()[], \t'\"@")
    + ["group", "and", "or", "not", "true", "false", "max", "mean", "lambda", "**", "é"]
)


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.one_of(st.text(max_size=80), st.lists(ALPHABET, max_size=40).map("".join)))
def test_parse_never_crashes(source: str) -> None:
    try:
        expr = parse(source)
    except ExpressionError:
        return
    assert isinstance(expr, Expression)
    result = expr.evaluate(lambda metric, group: np.array([0.5, 1.5]) if group is None else 1.0)
    assert isinstance(result, (bool, float, np.ndarray))
