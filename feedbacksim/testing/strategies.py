"""hypothesis strategies over a scenario's parameters, within what each parameter declares.

Every component declares its parameters (the keyword arguments of its ``__init__``, with
pydantic constraints); the run settings and agent sections are declared in
:mod:`feedbacksim.scenario.schema`. The strategies read those declarations, so a drawn value is
one the scenario accepts: ranges are drawn within the declared bounds, and a range or a
choice outside them is refused when the strategy is built, with the bounds in the error.
A combination of values is drawn only inside the region the world declares valid: its
cross-parameter checks (``check_params``, ``check_agent``, the model it needs), which
``Scenario.with_overrides`` runs, decide, and a combination they refuse is redrawn.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pydantic
from hypothesis import assume
from hypothesis import strategies as st
from pydantic.fields import FieldInfo

from feedbacksim.core.registry import registry
from feedbacksim.errors import ScenarioError
from feedbacksim.scenario.components import resolve_model
from feedbacksim.scenario.scenario import Scenario
from feedbacksim.scenario.schema import AgentSpec, ScenarioSpec

Range = tuple[float, float]
ParamSpec = Range | Sequence[Any] | st.SearchStrategy[Any]


@dataclass(frozen=True)
class Domain:
    """The values a declared parameter accepts, as far as strategies need to know them."""

    kind: Literal["int", "float", "bool", "choice", "list", "other"]
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    item: Domain | None = None
    min_len: int = 0
    max_len: int | None = None
    nullable: bool = False

    def bounds(self) -> str:
        """The numeric bounds in interval notation, e.g. ``[0, 1]`` or ``(0, inf)``."""
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"{left}{low}, {high}{right}"


def _constraints(extras: Sequence[Any]) -> dict[str, Any]:
    """ge/gt/le/lt/min_length/max_length from Annotated extras (FieldInfo or annotated_types)."""
    found: dict[str, Any] = {}
    for extra in extras:
        nested = extra.metadata if isinstance(extra, FieldInfo) else [extra]
        for item in nested:
            for name in ("ge", "gt", "le", "lt", "min_length", "max_length"):
                value = getattr(item, name, None)
                if value is not None:
                    found[name] = value
    return found


def domain_of(annotation: Any, extras: Sequence[Any] = ()) -> Domain:
    """The :class:`Domain` of a type annotation with its constraint metadata."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        return domain_of(base, [*extras, *more])
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(get_args(annotation))
        if len(members) != 1:
            return Domain("other", nullable=nullable)
        inner = domain_of(members[0], extras)
        return Domain(**{**inner.__dict__, "nullable": nullable or inner.nullable})
    c = _constraints(extras)
    if origin is Literal:
        return Domain("choice", choices=get_args(annotation))
    if annotation is bool:
        return Domain("bool")
    if annotation in (int, float):
        return Domain(
            "int" if annotation is int else "float",
            low=c.get("ge", c.get("gt")),
            high=c.get("le", c.get("lt")),
            low_open="gt" in c,
            high_open="lt" in c,
        )
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return Domain(
            "list",
            item=domain_of(item),
            min_len=c.get("min_length", 0),
            max_len=c.get("max_length"),
        )
    return Domain("other")


# -- where a dotted path is declared ------------------------------------------------------
def _named(items: Sequence[Any], names: Sequence[str], key: str, what: str, path: str) -> Any:
    """The item called ``key`` (or at index ``key``), as ``--set`` addresses list items."""
    for index, (item, name) in enumerate(zip(items, names, strict=True)):
        if name == key or str(index) == key:
            return item
    raise ValueError(f"{path}: no {what} {key!r} in the scenario")


def _field(model: type[pydantic.BaseModel], name: str, path: str) -> FieldInfo:
    try:
        return model.model_fields[name]
    except KeyError:
        known = ", ".join(sorted(model.model_fields))
        raise ValueError(f"{path}: no declared parameter {name!r}; known: {known}") from None


def declared_field(scenario: Scenario, path: str) -> FieldInfo:
    """The declaration (pydantic field) of the parameter at dotted ``path`` of ``scenario``.

    Paths are the ones ``--set`` takes: ``horizon``, ``environment.params.<p>``,
    ``agents.<name>.policy.<p>``, ``agents.<name>.model.params.<p>``,
    ``agents.<name>.gate.<p>``, ``agents.<name>.retrain.<p>`` (also ``data``, ``pretrain``)
    and ``analyzers.<index or name>.<p>``.

    Raises:
        ValueError: nothing is declared at ``path``.
    """
    spec = scenario.spec
    parts = path.split(".")
    match parts:
        case [name]:
            return _field(ScenarioSpec, name, path)
        case ["environment", "params", name]:
            model = registry.get("environment", spec.environment.kind).params_model
            return _field(model, name, path)
        case ["agents", agent_name, *rest]:
            names = [a.name for a in spec.agents]
            agent = _named(spec.agents, names, agent_name, "agent", path)
            match rest:
                case ["policy", name]:
                    return _field(
                        registry.get("policy", agent.policy.kind).params_model, name, path
                    )
                case ["gate", name] if agent.gate is not None:
                    return _field(registry.get("gate", agent.gate.kind).params_model, name, path)
                case ["model", "params", name]:
                    model = resolve_model(agent.model.kind, spec.plugins).params_model
                    return _field(model, name, path)
                case [("retrain" | "data" | "pretrain") as section, name]:
                    return _field(type(getattr(agent, section)), name, path)
                case [name]:
                    return _field(AgentSpec, name, path)
        case ["analyzers", key, name]:
            names = [str(a.params().get("name")) for a in spec.analyzers]
            analyzer = _named(spec.analyzers, names, key, "analyzer", path)
            return _field(registry.get("analyzer", analyzer.kind).params_model, name, path)
    raise ValueError(f"{path}: not a parameter path that strategies know how to draw")


def _adapter(field: FieldInfo) -> pydantic.TypeAdapter[Any]:
    annotation: Any = field.annotation
    if field.metadata:
        annotation = Annotated.__class_getitem__((annotation, *field.metadata))  # type: ignore[attr-defined]
    return pydantic.TypeAdapter(annotation)


# -- strategies ---------------------------------------------------------------------------
def _range_strategy(path: str, domain: Domain, low: Any, high: Any) -> st.SearchStrategy[Any]:
    if domain.kind not in ("int", "float", "other"):
        raise ValueError(
            f"{path}: a (low, high) range needs a numeric parameter; "
            "give a list of choices or a strategy instead"
        )
    if not (isinstance(low, int | float) and isinstance(high, int | float)) or low > high:
        raise ValueError(
            f"{path}: a range is (low, high) numbers with low <= high, got {(low, high)}"
        )
    below = domain.low is not None and low < domain.low
    above = domain.high is not None and high > domain.high
    if below or above:
        raise ValueError(
            f"{path}: range ({low:g}, {high:g}) is outside the parameter's declared bounds "
            f"{domain.bounds()}"
        )
    integral = domain.kind == "int" or (
        domain.kind == "other" and isinstance(low, int) and isinstance(high, int)
    )
    if integral:
        if not (float(low).is_integer() and float(high).is_integer()):
            raise ValueError(
                f"{path}: an integer parameter needs an integer range, got {(low, high)}"
            )
        return st.integers(
            int(low) + (domain.low_open and low == domain.low),
            int(high) - (domain.high_open and high == domain.high),
        )
    return st.floats(
        float(low),
        float(high),
        exclude_min=domain.low_open and low == domain.low,
        exclude_max=domain.high_open and high == domain.high,
        allow_nan=False,
        allow_infinity=False,
    )


def _choices_strategy(
    path: str, field: FieldInfo, choices: Sequence[Any]
) -> st.SearchStrategy[Any]:
    if not choices:
        raise ValueError(f"{path}: an empty list of choices")
    adapter = _adapter(field)
    invalid = []
    for choice in choices:
        try:
            adapter.validate_python(choice)
        except pydantic.ValidationError as exc:
            invalid.append(f"{choice!r} ({exc.errors()[0]['msg']})")
    if invalid:
        raise ValueError(f"{path}: choices the parameter does not accept: {', '.join(invalid)}")
    return st.sampled_from(list(choices))


def param_strategy(scenario: Scenario, path: str, spec: ParamSpec) -> st.SearchStrategy[Any]:
    """A strategy for the value at ``path``: a (low, high) range, a list of choices, or a strategy.

    Raises:
        ValueError: nothing is declared at ``path``, or the range or a choice is outside
            what the parameter declares.
    """
    if isinstance(spec, st.SearchStrategy):
        declared_field(scenario, path)  # the path must exist, whatever the strategy draws
        return spec
    field = declared_field(scenario, path)
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError(f"{path}: a range is a (low, high) pair, got {spec!r}")
        return _range_strategy(path, domain_of(field.annotation, field.metadata), *spec)
    if isinstance(spec, list):
        return _choices_strategy(path, field, spec)
    raise TypeError(
        f"{path}: expected a (low, high) tuple, a list of choices or a hypothesis strategy, "
        f"got {type(spec).__name__}"
    )


def scenario_params(
    scenario: Scenario, params: Mapping[str, ParamSpec]
) -> st.SearchStrategy[dict[str, Any]]:
    """Override dicts ``{path: value}`` for ``scenario.with_overrides``, one value per path.

    Each path maps to a ``(low, high)`` range (drawn uniformly-ish within it, integers for
    an integer parameter), a list of choices, or any hypothesis strategy. Ranges and choices
    are checked against the parameter's declaration when the strategy is built. Only
    combinations ``scenario`` accepts are drawn (the world's cross-parameter checks decide,
    e.g. the lending world's smallest group needs a person): the others are filtered out,
    so a space that is mostly invalid fails hypothesis's ``filter_too_much`` health check.
    """
    drawn = _overrides({p: param_strategy(scenario, p, s) for p, s in params.items()})
    return drawn.filter(lambda overrides: _accepted(scenario, overrides))


def _accepted(scenario: Scenario, overrides: dict[str, Any]) -> bool:
    """Whether ``scenario`` accepts ``overrides`` (every check of a loaded scenario passes)."""
    try:
        scenario.with_overrides(overrides)
    except ScenarioError:
        return False
    return True


@st.composite
def _overrides(draw: st.DrawFn, strategies: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    # Drawn in the caller's order, the order the overrides are applied and reported in
    # (a composite also makes hypothesis print the counterexample as the plain dict).
    return {path: draw(strategy) for path, strategy in strategies.items()}


@st.composite
def _scenarios(
    draw: st.DrawFn, base: Scenario, params: st.SearchStrategy[dict[str, Any]]
) -> Scenario:
    overrides = draw(params)
    try:
        return base.with_overrides(overrides)
    except ScenarioError:
        # A combination a cross-parameter check rejects is not a design: draw another.
        assume(False)
        raise


def scenarios(base: Scenario, params: Mapping[str, ParamSpec]) -> st.SearchStrategy[Scenario]:
    """Whole Scenarios: ``base`` with overrides drawn by :func:`scenario_params`.

    Combinations that a component's cross-parameter check rejects are skipped; the
    returned Scenario records its overrides (``Scenario.overrides``).
    """
    return _scenarios(base, scenario_params(base, params))


# -- a whole component's parameters -------------------------------------------------------
def _magnitude(value: Any) -> float:
    """Largest absolute number in ``value`` (a number or a list of them), 0 otherwise."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return abs(float(value))
    if isinstance(value, list):
        return max((_magnitude(v) for v in value), default=0.0)
    return 0.0


def domain_strategy(domain: Domain, typical: Any = None) -> st.SearchStrategy[Any] | None:
    """Any value of ``domain`` (None when it cannot be drawn, e.g. a free-text parameter).

    A side the declaration leaves open is capped at twice the magnitude of ``typical``
    (at least 1, or 4 above the lower bound for integers), so draws stay near the scale
    the scenario works at while still crossing whatever limits its cross-checks impose.
    """
    cap = max(1.0, 2.0 * _magnitude(typical))
    strategy: st.SearchStrategy[Any] | None
    if domain.kind == "bool":
        strategy = st.booleans()
    elif domain.kind == "choice":
        strategy = st.sampled_from(domain.choices)
    elif domain.kind in ("int", "float"):
        low = -cap if domain.low is None else domain.low
        high = max(low, cap) if domain.high is None else domain.high
        if domain.kind == "int":
            high = max(high, low + 4) if domain.high is None else high
            strategy = st.integers(int(low) + domain.low_open, int(high) - domain.high_open)
        else:
            strategy = st.floats(
                low,
                high,
                exclude_min=domain.low_open,
                exclude_max=domain.high_open,
                allow_nan=False,
                allow_infinity=False,
            )
    elif domain.kind == "list" and domain.item is not None:
        item = domain_strategy(domain.item, typical)
        if item is None:
            return None
        max_len = domain.max_len if domain.max_len is not None else max(domain.min_len, 1) + 3
        strategy = st.lists(item, min_size=domain.min_len, max_size=max_len)
        if isinstance(typical, list) and domain.min_len <= len(typical) <= max_len:
            # Mostly the scenario's own length (other components are sized to it, e.g. one
            # prior count per region), but other lengths too, which must then be refused.
            same = st.lists(item, min_size=len(typical), max_size=len(typical))
            strategy = same | strategy
    else:
        return None
    return st.none() | strategy if domain.nullable else strategy


def environment_params(scenario: Scenario) -> st.SearchStrategy[dict[str, Any]]:
    """Whole ``environment.params`` mappings drawn from the world's declared parameters.

    Every numeric, boolean, choice or numeric-list parameter is drawn from its declaration;
    the others (free text such as an agent's name) keep the scenario's value. The draw may
    break a cross-parameter check: that combination must then be refused with a
    :class:`ScenarioError` when applied, which is what a property test can assert.
    """
    component = registry.get("environment", scenario.spec.environment.kind)
    current = scenario.spec.environment.params
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in component.params_model.model_fields.items():
        typical = current.get(name, None if field.is_required() else field.default)
        strategy = domain_strategy(domain_of(field.annotation, field.metadata), typical)
        if strategy is not None:
            drawn[name] = strategy
        elif name in current:
            drawn[name] = st.just(current[name])
    return st.fixed_dictionaries(drawn)
