"""Validation of a resolved scenario: every problem at once, each with its file, line and key.

The shape of the whole document is checked against :class:`~feedbacksim.scenario.schema.ScenarioSpec`;
then each block that has the right shape is checked against its component's declaration in
the registry (environment and model ``params:``, a policy's, gate's or analyzer's inline
keys), the metrics that analyzers and ``stop_when`` read are checked against what the
environment records, and the environment may check its agents (``check_agent``). A
problem in one block never hides the problems of another.

Key paths use agent names (``agents.dispatcher.policy.kind``); a :class:`SourceMap`
gives each problem the file and line that defined the offending key, or the ``--set``
override that put it there.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from feedbacksim.core.expressions import ExpressionError, parse
from feedbacksim.core.registry import Component, registry
from feedbacksim.errors import Problem, suggest
from feedbacksim.scenario.capabilities import spec_problem
from feedbacksim.scenario.components import (
    ComponentNotAllowed,
    estimator_params,
    resolve_model,
)
from feedbacksim.scenario.schema import (
    MODULE_PATTERN,
    AgentSpec,
    ComponentSpec,
    DataSpec,
    InlineComponentSpec,
    RetrainSpec,
    ScenarioSpec,
)
from feedbacksim.scenario.sources import KeyPath, SourceMap

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_MODULE = re.compile(MODULE_PATTERN)
# A YAML 1.1 float needs a dot and a signed exponent: 1e15 and 1.0e15 are strings.
_UNREAD_NUMBER = re.compile(r"^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)[eE][-+]?\d+$")

_EXPECTED = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "none_required": "null",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def validate(
    data: Any, sources: SourceMap | None = None, file: str | None = None
) -> tuple[ScenarioSpec | None, list[Problem]]:
    """The validated spec (None when the document's shape is wrong) and every problem found.

    Args:
        data: the scenario mapping, ``extends:`` resolved.
        sources: where each key came from (from :func:`feedbacksim.scenario.sources.read_source`);
            without it, problems carry key paths but no lines.
        file: the file named by problems whose origin is unknown.
    """
    checker = _Checker(data, sources or SourceMap(), file)
    spec = checker.run()
    return spec, checker.sorted_problems()


def found(value: Any) -> str:
    """How a value found in a scenario is described in messages."""
    if isinstance(value, str):
        text = f"the string {value!r}"
        if _UNREAD_NUMBER.match(value.strip()):
            text += (
                " (YAML reads a number written without a dot or without a sign in its "
                "exponent as a string: write e.g. 1.0e+15)"
            )
        return text
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"{value!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    """The model/list/dict type behind Annotated, Optional and unions (first structured member)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            structured = [
                m
                for m in members
                if typing.get_origin(m) in (list, dict)
                or (inspect.isclass(m) and issubclass(m, pydantic.BaseModel))
            ]
            annotation = (structured or members)[0]
        else:
            return annotation


def _keys_at(model: type[pydantic.BaseModel], loc: KeyPath) -> list[str]:
    """The keys the model allows at ``loc`` (a data location), for did-you-mean."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return []
            annotation = field.annotation
        elif origin is list and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
    annotation = _unwrap(annotation)
    if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
        return list(annotation.model_fields)
    return []


def _data_loc(loc: tuple[Any, ...], value: Any, error_type: str) -> KeyPath:
    """A pydantic error location as a path through the data (union branch tags dropped)."""
    out: list[Any] = []
    node = value
    for i, part in enumerate(loc):
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            out.append(part)
            node = node[part]
        elif error_type == "missing" and i == len(loc) - 1 and isinstance(node, Mapping):
            out.append(part)
    return tuple(out)


def render_keypath(loc: KeyPath, data: Any) -> str:
    """A key path as users write it: dotted, with list items named when they have a name."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            item = node[part] if 0 <= part < len(node) else None
            name = item.get("name") if isinstance(item, Mapping) else None
            names = [i.get("name") for i in node if isinstance(i, Mapping)]
            unique = isinstance(name, str) and _NAME.match(name) and names.count(name) == 1
            parts.append(str(name) if unique else str(part))
            node = item
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, Mapping) else None
    return ".".join(parts)


def _describe(err: Any, where: KeyPath) -> tuple[str | None, str]:
    """``(expected, message)``: ``expected`` is set for type errors, so unions can be merged."""
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return None, "required key missing"
    if kind in _EXPECTED:
        return _EXPECTED[kind], f"expected {_EXPECTED[kind]}, found {found(value)}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        if where == ("horizon",) and kind == "less_than_equal":
            return None, (
                f"too large to simulate: at most {ctx[key]:g} time units, found {found(value)}"
            )
        return None, f"must be {words} {ctx[key]}, found {found(value)}"
    if kind == "literal_error":
        hint = suggest(str(value), re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        return None, f"expected {ctx.get('expected')}, found {found(value)}{hint or ''}"
    if kind in ("too_short", "too_long"):
        if where == ("agents",) and kind == "too_short":
            return None, "at least one agent is required, found an empty list"
        return None, f"{err['msg'][0].lower()}{err['msg'][1:]}"
    if kind == "string_pattern_mismatch":
        what = {
            "plugins": "a Python module name (like my_package.components)",
            "agents": "a name of letters, digits, '-' and '_' that starts with a letter",
        }.get(where[0] if where else "", f"a string matching {ctx.get('pattern')}")
        return None, f"expected {what}, found {found(value)}"
    error = ctx.get("error")
    if isinstance(error, ExpressionError):
        column = f" (column {error.column} of the condition)" if error.column else ""
        return None, f"invalid condition {value!r}: {error.message}{column}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return None, f"{message} (found {found(value)})"


def _plugin_module(component: Component) -> str | None:
    """The module a scenario must list under ``plugins:`` to use ``component`` (None: none)."""
    module = component.cls.__module__
    if component.installed or module == "__main__":
        return None
    if module == "feedbacksim" or module.startswith("feedbacksim."):
        return None
    return module


def _listed(module: str, plugins: list[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in plugins)


@dataclass(frozen=True)
class _World:
    """The scenario's environment component and its parameters (None when they are invalid)."""

    component: Component
    params: dict[str, Any] | None


class _Checker:
    """Collects the problems of one resolved scenario."""

    def __init__(self, data: Any, sources: SourceMap, file: str | None) -> None:
        self.data = data
        self.sources = sources
        self.file = file
        self.problems: list[Problem] = []

    # -- reporting -----------------------------------------------------------------------
    def add(self, loc: KeyPath, message: str) -> None:
        origin = self.sources.origin(loc)
        self.problems.append(
            Problem(
                message,
                render_keypath(loc, self.data),
                origin.file or self.file,
                origin.line,
                origin.column,
                origin.override,
            )
        )

    def sorted_problems(self) -> list[Problem]:
        """Problems by file and line (problems without a line keep their order, last)."""
        unique = list(dict.fromkeys(self.problems))
        files = list(dict.fromkeys(p.file for p in unique))
        return sorted(
            unique,
            key=lambda p: (files.index(p.file), p.line is None, p.line or 0, p.column or 0),
        )

    def pydantic_errors(
        self,
        exc: pydantic.ValidationError,
        loc: KeyPath,
        value: Any,
        model: type[pydantic.BaseModel],
        extra_keys: tuple[str, ...] = (),
    ) -> None:
        """Turn a validation error of ``value`` (found at ``loc``) into problems."""
        by_place: dict[KeyPath, list[tuple[str | None, str]]] = {}
        for err in exc.errors():
            where = _data_loc(err["loc"], value, err["type"])
            if err["type"] == "extra_forbidden":
                key = where[-1] if where else err["loc"][-1]
                keys = [*_keys_at(model, where[:-1]), *extra_keys]
                hint = suggest(str(key), keys)
                message = f"unknown key {key!r}" + (
                    hint or (f"; expected one of: {', '.join(keys)}" if keys else "")
                )
                described: tuple[str | None, str] = (None, message)
            else:
                described = _describe(err, (*loc, *where))
            by_place.setdefault(where, [])
            if described not in by_place[where]:
                by_place[where].append(described)
        for where, items in by_place.items():
            expected = [e for e, _ in items if e is not None]
            if len(items) > 1 and len(expected) == len(items):
                node = _get(value, where)
                message = f"expected {' or '.join(expected)}, found {found(node)}"
                self.add((*loc, *where), message)
            else:
                for _, message in items:
                    self.add((*loc, *where), message)

    def shape(self, model: type[pydantic.BaseModel], value: Any, loc: KeyPath) -> Any:
        """``value`` validated by ``model``, or None after reporting its problems."""
        try:
            return model.model_validate(value)
        except pydantic.ValidationError as exc:
            self.pydantic_errors(exc, loc, value, model)
            return None

    # -- the checks ----------------------------------------------------------------------
    def run(self) -> ScenarioSpec | None:
        if not isinstance(self.data, Mapping):
            self.add((), f"a scenario must be a mapping (key: value), found {found(self.data)}")
            return None
        spec = self.shape(ScenarioSpec, self.data, ())
        plugins = self.import_plugins()
        env = self.environment(plugins)
        self.agents(plugins, env)
        self.analyzers(plugins, env)
        self.stop_when(env)
        self.sweep()
        return spec

    def sweep(self) -> None:
        """The ``sweep:`` block (grids, zips, random sampling), checked by the sweep planner."""
        from feedbacksim.scenario.sweep_block import sweep_problems

        raw = self.data.get("sweep")
        if not raw:
            return
        for problem in sweep_problems(raw):
            where = problem.keypath.removeprefix("sweep").removeprefix(".")
            self.add(("sweep", where) if where else ("sweep",), problem.message)

    def import_plugins(self) -> list[str]:
        raw = self.data.get("plugins")
        if not isinstance(raw, list):
            return []
        plugins = []
        for i, module in enumerate(raw):
            if not isinstance(module, str) or not _MODULE.match(module):
                continue  # reported by the shape check
            try:
                importlib.import_module(module)
            except Exception as exc:  # a plugin's own import may raise anything
                self.add(("plugins", i), f"cannot import plugin module {module!r}: {exc}")
                continue
            plugins.append(module)
        return plugins

    def component(self, category: str, kind: str, loc: KeyPath, plugins: list[str]) -> Any:
        """The registered component ``kind``, or None after reporting why it cannot be used."""
        kinds = registry.kinds(category)
        if kind not in kinds:
            hint = suggest(kind, kinds)
            message = f"unknown {category} kind {kind!r}" + (
                hint
                or f"; known: {', '.join(kinds)}. A kind from a plugin module needs the module "
                "listed under 'plugins:' (or pass --plugin MODULE)"
            )
            self.add(loc, message)
            return None
        component = registry.get(category, kind)
        module = _plugin_module(component)
        if module is not None and not _listed(module, plugins):
            self.add(
                loc,
                f"{category} kind {kind!r} comes from module {module!r}, which this scenario "
                f"does not list: add it under 'plugins:' (or pass --plugin {module})",
            )
            return None
        return component

    def params(
        self,
        component: Component,
        params: dict[str, Any],
        loc: KeyPath,
        extra_keys: tuple[str, ...] = (),
    ) -> dict[str, Any] | None:
        """Validated parameters, or None after reporting their problems."""
        try:
            return component.validate(params)
        except pydantic.ValidationError as exc:
            self.pydantic_errors(exc, loc, params, component.params_model, extra_keys)
        except (ValueError, TypeError) as exc:
            self.add(loc, str(exc))
        return None

    def environment(self, plugins: list[str]) -> _World | None:
        spec = _quiet(ComponentSpec, self.data.get("environment"))
        if spec is None:
            return None
        component = self.component("environment", spec.kind, ("environment", "kind"), plugins)
        if component is None:
            return None
        params = self.params(component, spec.params, ("environment", "params"))
        check_data = getattr(component.cls, "check_data", None)
        if params is not None and check_data is not None:  # a world's files (a table)
            base_dir = os.path.dirname(self.file) if self.file else None
            try:
                check_data({**component.defaults(), **params}, base_dir)
            except (ValueError, OSError, ImportError) as exc:
                self.add(("environment", "params"), str(exc))
        return _World(component, None if params is None else {**component.defaults(), **params})

    def agents(self, plugins: list[str], env: _World | None) -> None:
        raw = self.data.get("agents")
        if not isinstance(raw, list):
            return
        names = [item.get("name") for item in raw if isinstance(item, Mapping)]
        if env is not None and env.params is not None:
            # An environment parameter naming an agent (``agent``, ``*_agent``) must name one.
            for key, value in env.params.items():
                if (
                    (key == "agent" or key.endswith("_agent"))
                    and isinstance(value, str)
                    and value not in names
                ):
                    self.add(
                        ("environment", "params", key),
                        f"no agent named {value!r}"
                        + (suggest(value, [n for n in names if isinstance(n, str)]) or ""),
                    )
        first: dict[str, int] = {}
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                continue
            loc: KeyPath = ("agents", i)
            name = item.get("name")
            if isinstance(name, str) and name in first:
                line = self.sources.origin(("agents", first[name])).line
                on = f" (first defined on line {line})" if line else ""
                self.add((*loc, "name"), f"duplicate agent name {name!r}{on}")
            elif isinstance(name, str):
                first[name] = i
            model = _quiet(ComponentSpec, item.get("model"))
            if model is not None:
                self.model(model, loc, plugins)
                cannot = env and spec_problem(env.component, model.kind, model.params, plugins)
                if cannot:
                    self.add((*loc, "model", "kind"), cannot)
            for block, category in (("policy", "policy"), ("gate", "gate")):
                spec = _quiet(InlineComponentSpec, item.get(block))
                if spec is None:
                    continue
                component = self.component(category, spec.kind, (*loc, block, "kind"), plugins)
                if component is not None:
                    self.params(component, spec.params(), (*loc, block))
            data = _quiet(DataSpec, item.get("data", {}))
            if data is not None and data.window != "all" and data.size is None:
                self.add((*loc, "data", "window"), f"a {data.window} window needs a size")
            retrain = _quiet(RetrainSpec, item.get("retrain", {}))
            if (
                data is not None
                and retrain is not None
                and retrain.mode == "incremental"
                and data.window != "all"
            ):
                self.add(
                    (*loc, "retrain", "mode"),
                    f"incremental updates learn from every new row once, so they need data.window 'all' "
                    f"(found {data.window!r}); use mode 'refit' to train on a {data.window} window",
                )
            agent = _quiet(AgentSpec, item)
            check_agent = getattr(env.component.cls, "check_agent", None) if env else None
            if agent is not None and env is not None and env.params is not None and check_agent:
                for where, message in check_agent(env.params, agent).items():
                    self.add((*loc, *where.split(".")), message)

    def model(self, spec: ComponentSpec, loc: KeyPath, plugins: list[str]) -> None:
        kind = spec.kind
        if "." not in kind:
            component = self.component("model", kind, (*loc, "model", "kind"), plugins)
            if component is not None:
                self.params(component, spec.params, (*loc, "model", "params"))
            return
        try:
            component = resolve_model(kind, plugins)
        except (KeyError, ComponentNotAllowed) as exc:
            self.add((*loc, "model", "kind"), str(exc.args[0]))
            return
        known = _init_params(component.cls)
        unknown = [k for k in spec.params if k not in known]
        for key in unknown:
            hint = suggest(str(key), known) or f"; known: {', '.join(known)}"
            self.add((*loc, "model", "params", key), f"unknown parameter {key!r}{hint}")
        if not unknown:
            try:  # nested estimators (a Pipeline's steps) under the same allow-list
                params = estimator_params(spec.params, plugins)
            except ComponentNotAllowed as exc:
                self.add((*loc, "model", "params"), str(exc.args[0]))
                return
            self.estimator_values(component.cls, params, (*loc, "model", "params"))

    def estimator_values(self, cls: type, params: Mapping[str, Any], loc: KeyPath) -> None:
        """A scikit-learn estimator's own check of its parameter values (its ``_validate_params``)."""
        validate = getattr(cls, "_validate_params", None)
        if validate is None:
            return
        try:
            cls(**params)._validate_params()
        except (ValueError, TypeError) as exc:
            message = str(exc).split("\n")[0]
            key = next((k for k in params if repr(k) in message or f"'{k}'" in message), None)
            self.add((*loc, key) if key else loc, message)

    def analyzers(self, plugins: list[str], env: _World | None) -> None:
        raw = self.data.get("analyzers")
        if not isinstance(raw, list):
            return
        for i, item in enumerate(raw):
            spec = _quiet(InlineComponentSpec, item)
            if spec is None:
                continue
            loc: KeyPath = ("analyzers", i)
            component = self.component("analyzer", spec.kind, (*loc, "kind"), plugins)
            if component is None:
                continue
            params = {k: v for k, v in spec.params().items() if k != "name"}
            valid = self.params(component, params, loc, extra_keys=("name",))
            if valid is None or env is None:
                continue
            try:
                required = component.build(params, name=spec.params().get("name"))
                required = required.required_metrics()
            except (ValueError, TypeError) as exc:
                self.add(loc, str(exc))
                continue
            for metric in sorted(required - set(env.component.cls.metrics)):
                where = (*loc, *_key_reading(params, metric))
                self.missing_metric(where, metric, env.component)

    def stop_when(self, env: _World | None) -> None:
        source = self.data.get("stop_when")
        if not isinstance(source, str):
            return
        try:
            expression = parse(source)
        except ExpressionError:
            return  # reported by the shape check
        if not expression.is_boolean:
            self.add(
                ("stop_when",),
                f"expected a condition (a comparison, or and/or/not), found {source!r}",
            )
        if env is not None:
            for metric in sorted(expression.metrics() - set(env.component.cls.metrics)):
                self.missing_metric(("stop_when",), metric, env.component)

    def missing_metric(self, loc: KeyPath, metric: str, env: Component) -> None:
        recorded = sorted(env.cls.metrics)
        hint = suggest(metric, recorded) or ""
        self.add(
            loc,
            f"metric {metric!r} is not recorded by the {env.kind} world{hint}; "
            f"it records: {', '.join(recorded)}",
        )


def _quiet(model: type[pydantic.BaseModel], value: Any) -> Any:
    """``value`` validated by ``model``, or None (its problems were reported by the shape check)."""
    try:
        return model.model_validate(value)
    except pydantic.ValidationError:
        return None


def _get(value: Any, where: KeyPath) -> Any:
    for part in where:
        value = value[part]
    return value


def _key_reading(params: Mapping[str, Any], metric: str) -> KeyPath:
    """The parameter of an analyzer that names ``metric`` (directly or in a condition)."""
    for key, value in params.items():
        if value == metric:
            return (key,)
        if isinstance(value, str):
            try:
                if metric in parse(value).metrics():
                    return (key,)
            except ExpressionError:
                continue
    return ()


def _init_params(cls: type) -> list[str]:
    """The keyword parameters of ``cls.__init__`` (what scikit-learn's ``get_params`` reads)."""
    parameters = inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
    return sorted(
        p.name
        for p in parameters
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
