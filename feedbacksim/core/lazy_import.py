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
from collections.abc import Callable
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
