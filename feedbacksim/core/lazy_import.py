"""Heavy dependencies imported on first use, so commands that never call them start fast.

scipy.stats alone costs about 0.9 s of CPU to import and scikit-learn about 1 s; a module
that only *may* call them (an analyzer, a world) names them through :func:`lazy_module`
or :func:`lazy_function`, and ``feedbacksim --help``, ``list``, ``schema`` and
``validate`` never pay for them.

:class:`UpwardCall` is the same idea for the facades of the lower layers (``Scenario.run``,
the ``save`` of results, sweeps and comparisons): a class attribute that names a function
of a layer above by a dotted path and imports it on first call, so no layer imports one
above it and nothing has to be wired at import.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


class LazyModule:
    """A stand-in for a module that is imported when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self._lazy_name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self._lazy_name), attr)
        self.__dict__[attr] = value  # later reads skip __getattr__
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self._lazy_name!r}>"


class _LazyTypeMeta(type):
    """``isinstance`` and ``issubclass`` against a class of a module that may not be imported."""

    _lazy_module: str
    _lazy_name: str

    def _lazy_real(cls) -> type | None:
        module = sys.modules.get(cls._lazy_module)
        return None if module is None else getattr(module, cls._lazy_name)

    def __instancecheck__(cls, obj: Any) -> bool:
        # An instance of the class exists only once its module is imported.
        real = cls._lazy_real()
        return real is not None and isinstance(obj, real)

    def __subclasscheck__(cls, sub: type) -> bool:
        real = cls._lazy_real()
        return real is not None and issubclass(sub, real)


def lazy_type(module: str, name: str) -> type:
    """A stand-in for the class ``module.name`` in annotations, checked without an import."""
    return _LazyTypeMeta(
        name,
        (),
        {"_lazy_module": module, "_lazy_name": name, "__module__": module, "__qualname__": name},
    )


class _LazyTypes:
    """The classes of a module that is not imported, as :func:`lazy_type` stand-ins."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> type:
        return lazy_type(self._module, name)


def annotation_namespace(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """``namespace`` (a module's globals) for evaluating annotations without heavy imports.

    A :func:`lazy_module` whose module is not imported yet is replaced by stand-ins of its
    classes (``pd.DataFrame`` in a signature then imports no pandas); an imported one by
    the module itself.
    """
    out = dict(namespace)
    for key, value in namespace.items():
        if isinstance(value, LazyModule):
            name = value._lazy_name
            out[key] = sys.modules.get(name) or _LazyTypes(name)
    return out


def lazy_module(name: str) -> Any:
    """``name`` as a module whose import waits for the first attribute access."""
    return LazyModule(name)


def lazy_function(module: str, name: str) -> Callable[..., Any]:
    """The function ``module.name``, imported on its first call."""
    target: Callable[..., Any] | None = None

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal target
        if target is None:
            target = getattr(importlib.import_module(module), name)
        return target(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{module}.{name}``, imported on first call."
    return call


class UpwardCall:
    """A function of a layer above, named by ``"package.module:function"``, imported on first call.

    A lower layer's facade is a class attribute holding one (``Scenario.runner``): reading
    it imports nothing (dataclasses and ``inspect`` read class attributes), calling it
    imports the module once and calls the function. Assigning the attribute replaces it.
    """

    def __init__(self, target: str) -> None:
        module, sep, name = target.partition(":")
        if not (sep and module and name):
            raise ValueError(f"expected 'package.module:function', found {target!r}")
        self.target = target
        self._function: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        """The named function, imported on the first call."""
        if self._function is None:
            module, _, name = self.target.partition(":")
            self._function = getattr(importlib.import_module(module), name)
        return self._function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<upward call {self.target!r}>"
