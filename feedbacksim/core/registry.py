"""Components found by name: built-in worlds, models, policies and analyzers, plus plugins.

A component is a class whose parameters are the keyword arguments of its ``__init__``
(scikit-learn style). The registry derives a pydantic model from that signature, so a
scenario's ``params:`` block is validated against the same declaration the code uses:
unknown keys, wrong types and out-of-range values are caught when the scenario loads.
Classes may add cross-parameter checks in a ``check_params(params) -> None`` classmethod
that raises ``ValueError``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from feedbacksim.core.lazy_import import annotation_namespace
from feedbacksim.errors import suggest

if TYPE_CHECKING:
    import pydantic

CATEGORIES = ("environment", "model", "policy", "gate", "analyzer")
ENTRY_POINT_GROUP = "feedbacksim.components"  # the entry-point group, not a module path
# Importing these registers every built-in component. The registry imports them when a
# component is first asked for, not when it is itself imported: ``feedbacksim --help``
# never loads a world, and their modules import scipy or scikit-learn only when called.
BUILTIN_PACKAGES = (
    "feedbacksim.worlds",
    "feedbacksim.models",
    "feedbacksim.core.policies",
    "feedbacksim.core.group_policies",
    "feedbacksim.core.gates",
    "feedbacksim.analyzers",
)

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class Component:
    """A registered class with the pydantic model of its parameters."""

    category: str
    kind: str
    cls: type[Any]
    installed: bool = False  # registered by an installed package's entry point

    @property
    def summary(self) -> str:
        """First line of the class docstring."""
        return (inspect.getdoc(self.cls) or "").strip().splitlines()[0] if self.cls.__doc__ else ""

    @cached_property
    def params_model(self) -> type[pydantic.BaseModel]:
        """A pydantic model of the ``__init__`` keyword arguments (extra keys forbidden)."""
        return params_model_for(self.cls, f"{self.kind}-params")

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validated, typed parameters; raises ``pydantic.ValidationError`` or ``ValueError``."""
        model = self.params_model.model_validate(params)
        values = {k: getattr(model, k) for k in model.model_fields_set}
        check = getattr(self.cls, "check_params", None)
        if check is not None:
            check({**self.defaults(), **values})
        return values

    def defaults(self) -> dict[str, Any]:
        """Default value of every parameter that has one."""
        return {
            name: field.default
            for name, field in self.params_model.model_fields.items()
            if not field.is_required()
        }

    def build(self, params: dict[str, Any], **context: Any) -> Any:
        """Instantiate the component with validated ``params`` and extra ``context`` kwargs."""
        return self.cls(**context, **self.validate(params))


def params_model_for(cls: type, name: str) -> type[pydantic.BaseModel]:
    """Build a pydantic model from the keyword-only/keyword parameters of ``cls.__init__``.

    Parameters named in ``cls.context_params`` (supplied by the framework, not the
    scenario, e.g. an analyzer's ``name``) are left out.
    """
    init = cls.__init__  # type: ignore[misc]  # the class's own signature, not an instance's
    signature = inspect.signature(init)
    try:  # a lazily imported module's classes are not imported to read a signature
        hints = get_type_hints(
            init, globalns=annotation_namespace(init.__globals__), include_extras=True
        )
    except Exception:  # e.g. a stand-in subscripted: evaluate as written
        hints = get_type_hints(init, include_extras=True)
    skip = {"self", *getattr(cls, "context_params", ())}
    fields: dict[str, Any] = {}
    for pname, param in signature.parameters.items():
        if pname in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(pname, Any)
        default = ... if param.default is param.empty else param.default
        fields[pname] = (annotation, default)
    # Strict: values are taken as written (a quoted "3" is not a number, 1 is not true).
    import pydantic  # when a component's parameters are first read: not for ``--help``

    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True, strict=True)
    return pydantic.create_model(name, __config__=config, **fields)


class Registry:
    """Named components by category; built-ins are registered on import of their modules."""

    def __init__(self) -> None:
        self._components: dict[str, dict[str, Component]] = {c: {} for c in CATEGORIES}
        self._entry_points_loaded = False
        self._loading_entry_points = False
        self._builtins_loaded = False

    def register(self, category: str, kind: str) -> Callable[[T], T]:
        """Class decorator: register ``cls`` as ``kind`` in ``category``."""
        if category not in self._components:
            raise ValueError(
                f"unknown component category {category!r}; expected one of {CATEGORIES}"
            )

        def decorate(cls: T) -> T:
            cls.kind = kind  # type: ignore[attr-defined]  # every registered class gets its kind
            component = Component(category, kind, cls, installed=self._loading_entry_points)
            self._components[category][kind] = component
            return cls

        return decorate

    def get(self, category: str, kind: str) -> Component:
        """The component ``kind`` of ``category``; raises ``KeyError`` with the known kinds."""
        self.load_entry_points()
        try:
            return self._components[category][kind]
        except KeyError:
            known = sorted(self._components[category])
            hint = suggest(str(kind), known) or f"; known: {', '.join(known)}"
            raise KeyError(f"unknown {category} kind {kind!r}{hint}") from None

    def kinds(self, category: str) -> list[str]:
        """Registered kinds of ``category``, sorted."""
        self.load_entry_points()
        return sorted(self._components[category])

    def components(self) -> list[Component]:
        """Every registered component."""
        self.load_entry_points()
        return [c for cat in CATEGORIES for _, c in sorted(self._components[cat].items())]

    def load_builtins(self) -> None:
        """Import the built-in components' packages (once)."""
        if self._builtins_loaded:
            return
        self._builtins_loaded = True
        for package in BUILTIN_PACKAGES:
            importlib.import_module(package)

    def load_entry_points(self) -> None:
        """Import the built-ins, then installed packages' components (entry-point group
        ``feedbacksim.components``)."""
        self.load_builtins()
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        self._loading_entry_points = True
        try:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                ep.load()
        finally:
            self._loading_entry_points = False


registry = Registry()
register = registry.register
