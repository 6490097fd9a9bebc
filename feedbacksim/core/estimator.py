"""A base for built-in models: scikit-learn's estimator protocol without importing scikit-learn.

Importing ``sklearn.base`` costs about a second (it pulls in scipy.stats), and every
built-in model module used to do it at import time, so even ``feedbacksim --help`` and
``feedbacksim validate`` paid for it. :class:`Regressor` gives the parts of the protocol
the framework and ``sklearn.base.clone`` use — ``get_params``, ``set_params``, a readable
``repr`` and the regressor tags — and imports scikit-learn only when the tags are asked
for (by ``is_classifier`` or ``check_is_fitted``, at run time, when scikit-learn is
loaded anyway). ``clone`` accepts any object with ``get_params``.
"""

from __future__ import annotations

import inspect
from typing import Any

_PARAM_NAMES: dict[type, tuple[str, ...]] = {}


def _param_names(cls: type) -> tuple[str, ...]:
    """The ``__init__`` keyword parameters of ``cls``, sorted (scikit-learn's convention)."""
    names = _PARAM_NAMES.get(cls)
    if names is None:
        signature = inspect.signature(cls.__init__)  # type: ignore[misc]
        names = _PARAM_NAMES[cls] = tuple(
            sorted(
                name
                for name, p in signature.parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            )
        )
    return names


class Regressor:
    """A scikit-learn-style regressor: parameters are the ``__init__`` keyword arguments."""

    _estimator_type = "regressor"

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        return {name: getattr(self, name) for name in _param_names(type(self))}

    def set_params(self, **params: Any) -> Regressor:
        """Set constructor parameters; an unknown name raises ``ValueError``."""
        names = _param_names(type(self))
        for name, value in params.items():
            if name not in names:
                raise ValueError(
                    f"invalid parameter {name!r} for {type(self).__name__}; valid: {names}"
                )
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        """The tags of ``RegressorMixin, BaseEstimator`` (scikit-learn >= 1.6 asks for them)."""
        from sklearn.utils import RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True),
            regressor_tags=RegressorTags(),
        )

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not _same(value, defaults.get(name, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value is default or value == default)
    except (TypeError, ValueError):  # arrays compare elementwise
        return False
