"""Tests for position-aware, safe YAML loading."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feedbacksim.errors import suggest
from feedbacksim.scenario.yaml_source import (
    Located,
    YamlSourceError,
    format_keypath,
    load_yaml,
    load_yaml_text,
)

SCENARIO = """\
name: predictive policing
world:
  kind: city
  groups: [A, B]
analyzers:
  - kind: invariant
    condition: "max(patrol_share) <= 0.9"
  - kind: drift
    params:
      window: 10
"""


def test_data_matches_safe_load() -> None:
    located = load_yaml_text(SCENARIO, "s.yaml")
    assert located.data == yaml.safe_load(SCENARIO)
    assert located.path == "s.yaml"


def test_positions_of_nested_keys_and_items() -> None:
    located = load_yaml_text(SCENARIO)
    assert located.positions[()] == (1, 1)
    assert located.positions[("name",)] == (1, 1)
    assert located.positions[("world",)] == (2, 1)
    assert located.positions[("world", "kind")] == (3, 3)
    assert located.positions[("world", "groups")] == (4, 3)
    assert located.positions[("world", "groups", 0)] == (4, 12)
    assert located.positions[("world", "groups", 1)] == (4, 15)
    assert located.positions[("analyzers", 0)] == (6, 5)
    assert located.positions[("analyzers", 0, "condition")] == (7, 5)
    assert located.positions[("analyzers", 1, "params", "window")] == (10, 7)


def test_position_falls_back_to_ancestor() -> None:
    located = load_yaml_text(SCENARIO)
    assert located.position(("analyzers", 1, "params", "missing")) == (9, 5)
    assert located.position(["analyzers", 7]) == (5, 1)
    assert located.position(("nope", "deeper")) == (1, 1)
    assert Located(data={}).position(("x",)) == (1, 1)


def test_located_error_names_keypath() -> None:
    located = load_yaml_text(SCENARIO, "s.yaml")
    err = located.error(("analyzers", 0, "condition"), "bad condition")
    assert str(err) == "s.yaml:7:5: analyzers[0].condition: bad condition"
    assert (err.path, err.line, err.column) == ("s.yaml", 7, 5)


def test_format_keypath() -> None:
    assert format_keypath(("a", 0, "b", 1)) == "a[0].b[1]"
    assert format_keypath(()) == "<top level>"


def test_scalar_resolution_is_pyyamls() -> None:
    text = (
        "a: 1e15\nb: 1.0e+15\nc: 0x1F\nd: yes\ne: ~\nf: .inf\ng: '12'\n"
        "h: 2024-01-31\ni: 2001-12-14t21:59:43.10-05:00\nj: 1_000\nk: =\nl: !!str 12\n"
    )
    data = load_yaml_text(text).data
    assert data["a"] == "1e15"
    assert data["b"] == 1e15
    assert data["c"] == 31
    assert data["d"] is True
    assert data["e"] is None
    assert data["f"] == float("inf")
    assert data["g"] == "12"
    assert data["h"] == "2024-01-31"  # timestamps stay strings
    assert data["i"] == "2001-12-14t21:59:43.10-05:00"
    assert data["j"] == 1000
    assert data["k"] == "="
    assert data["l"] == "12"


def test_anchors_and_aliases() -> None:
    data = load_yaml_text("base: &b {x: 1}\nother: *b\n").data
    assert data == {"base": {"x": 1}, "other": {"x": 1}}


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3, 2, "YAML syntax error"),
        ("a:\n  b: 1\n c: 2\n", 3, 2, "YAML syntax error"),
        ('a: "unterminated\n', 2, 1, "YAML syntax error"),
        ("a: 1\n\tb: 2\n", 2, 1, "YAML syntax error"),
    ],
)
def test_syntax_errors(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(YamlSourceError) as info:
        load_yaml_text(text, "bad.yaml")
    err = info.value
    assert fragment in err.message
    assert (err.line, err.column) == (line, column)
    assert str(err).startswith(f"bad.yaml:{line}:{column}: ")


@pytest.mark.parametrize(
    ("text", "tag", "line"),
    [
        ("a: 1\ncmd: !!python/object/apply:os.system ['echo hi']\n", "!!python/object/apply", 2),
        ("x: !!python/name:os.system\n", "!!python/name:os.system", 1),
        ("x: !!python/object:os.system {}\n", "!!python/object:os.system", 1),
        ("a:\n  b: !foo bar\n", "!foo", 2),
        ("a: !foo {x: 1}\n", "!foo", 1),
        ("a: !!binary aGVsbG8=\n", "!!binary", 1),
        ("a: !!set {x, y}\n", "!!set", 1),
        ("a: !!str [1, 2]\n", "!!str", 1),
        ("!!python/object:os.system {}\n", "!!python/object:os.system", 1),
    ],
)
def test_unsafe_and_custom_tags_refused(text: str, tag: str, line: int) -> None:
    with pytest.raises(YamlSourceError) as info:
        load_yaml_text(text)
    assert tag in info.value.message
    assert "not allowed" in info.value.message
    assert info.value.line == line


def test_bad_explicit_scalar() -> None:
    with pytest.raises(YamlSourceError, match=r"cannot read 'abc' as !!int") as info:
        load_yaml_text("n: !!int abc\n")
    assert (info.value.line, info.value.column) == (1, 4)


def test_duplicate_keys() -> None:
    with pytest.raises(YamlSourceError) as info:
        load_yaml_text("a: 1\nb:\n  c: 1\n  c: 2\n", "d.yaml")
    assert "duplicate key 'c'" in info.value.message
    assert "first defined on line 3" in info.value.message
    assert "b: " in info.value.message
    assert (info.value.line, info.value.column) == (4, 3)
    with pytest.raises(YamlSourceError, match="duplicate key 'a'"):
        load_yaml_text("{a: 1, a: 2}")


def test_merge_key_rejected() -> None:
    with pytest.raises(YamlSourceError, match="merge keys"):
        load_yaml_text("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")


def test_recursive_alias_rejected() -> None:
    with pytest.raises(YamlSourceError, match="recursive alias"):
        load_yaml_text("a: &x [1, *x]\n")


def test_alias_bomb_rejected() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(YamlSourceError, match="too many nodes"):
        load_yaml_text("\n".join(lines) + "\n")


def test_complex_key_rejected() -> None:
    with pytest.raises(YamlSourceError, match="keys must be plain scalars"):
        load_yaml_text("? [a, b]\n: 1\n")


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("- a\n- b\n", "found a sequence", 1),
        ("just a string\n", "found a scalar", 1),
        ("# only a comment\n---\n42\n", "found a scalar", 3),
        ("", "document is empty", 1),
        ("# nothing\n", "document is empty", 1),
    ],
)
def test_top_level_must_be_mapping(text: str, fragment: str, line: int) -> None:
    with pytest.raises(YamlSourceError) as info:
        load_yaml_text(text)
    assert fragment in info.value.message
    assert info.value.line == line


def test_multiple_documents() -> None:
    with pytest.raises(YamlSourceError, match="multiple YAML documents") as info:
        load_yaml_text("a: 1\n---\nb: 2\n")
    assert info.value.line == 2
    with pytest.raises(YamlSourceError, match="multiple YAML documents"):
        load_yaml_text("---\na: 1\n...\n---\nb: 2\n")


def test_control_character() -> None:
    with pytest.raises(YamlSourceError, match="not allowed in YAML") as info:
        load_yaml_text("a: 1\nb: x\x07y\n")
    assert (info.value.line, info.value.column) == (2, 5)


def test_deep_nesting_is_an_error() -> None:
    with pytest.raises(YamlSourceError):
        load_yaml_text("a: " + "[" * 5000 + "]" * 5000)


def test_load_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    located = load_yaml(path)
    assert located.path == str(path)
    assert located.data["world"]["groups"] == ["A", "B"]
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_yaml(str(bom)).data == {"a": 1}


def test_load_yaml_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nname: caf\xe9 ol\xc3\xa9\n")
    with pytest.raises(YamlSourceError) as info:
        load_yaml(path)
    err = info.value
    assert "not valid UTF-8" in err.message
    assert "0xe9" in err.message
    assert (err.line, err.column) == (2, 10)
    assert str(err).startswith(f"{path}:2:10: ")


def test_load_yaml_non_utf8_column_counts_characters(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_bytes("é: ".encode() + b"\xff\n")
    with pytest.raises(YamlSourceError) as info:
        load_yaml(path)
    assert (info.value.line, info.value.column) == (1, 4)


def test_load_yaml_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(YamlSourceError, match="file not found") as info:
        load_yaml(missing)
    assert str(info.value) == f"{missing}: file not found"


def test_load_yaml_directory(tmp_path: Path) -> None:
    with pytest.raises(YamlSourceError, match="cannot read file"):
        load_yaml(tmp_path)


def test_error_is_value_error_and_picklable() -> None:
    err = YamlSourceError("f.yaml", 3, 4, "boom")
    assert isinstance(err, ValueError)
    assert str(err) == "f.yaml:3:4: boom"
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.path, clone.line, clone.column, clone.message) == ("f.yaml", 3, 4, "boom")
    assert str(YamlSourceError(None, 1, 2, "x")) == "<string>:1:2: x"


def test_suggest() -> None:
    assert suggest("condtion", ["condition", "kind"]) == " (did you mean 'condition'?)"
    assert suggest("zzz", ["condition", "kind"]) is None
    assert suggest("maen", iter(["min", "max", "mean"])) == " (did you mean 'mean'?)"


YAML_ALPHABET = st.sampled_from(
    list("ab: -[]{},\n\t'\"#&*!?|>%@`~.01")
    + ["!!python/object:os.system", "!foo", "<<", "---", "...", "  ", "\n  ", "yes", "1e3"]
)


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.one_of(st.text(max_size=80), st.lists(YAML_ALPHABET, max_size=40).map("".join)))
def test_random_text_loads_or_raises_yaml_source_error(text: str) -> None:
    try:
        located = load_yaml_text(text, "fuzz.yaml")
    except YamlSourceError as err:
        assert err.path == "fuzz.yaml"
        assert err.line is not None and err.line >= 1
        assert err.column is not None and err.column >= 1
        return
    assert isinstance(located.data, dict)
    for keypath, (line, column) in located.positions.items():
        assert isinstance(keypath, tuple)
        assert line >= 1 and column >= 1
