"""A model saved with ``skops``, loaded with an explicit list of trusted types (never pickle).

``skops.io.load`` rebuilds an object from its file without running arbitrary code: it
refuses any type it does not trust. scikit-learn's own types are trusted by skops; every
other type in the file (a custom transformer, a third-party estimator) must be named in
``trusted``, and a type that is not is refused with its name before anything is loaded.
pickle and joblib are never used: a pickle runs whatever code its author put in it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from feedbacksim.core.registry import register


class UntrustedModelFile(ValueError):
    """A saved model holding types that are not on the trusted list."""


def load_skops(
    path: str | os.PathLike[str],
    trusted: list[str] | tuple[str, ...] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """The estimator saved at ``path`` (relative to ``base_dir``), after checking every type it holds.

    Raises:
        ImportError: skops is not installed (``pip install 'feedbacksim[skops]'``).
        FileNotFoundError: no file at ``path``.
        UntrustedModelFile: the file holds types that neither skops nor ``trusted`` trust.
    """
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ImportError(
            "loading a saved model needs skops: pip install 'feedbacksim[skops]'"
        ) from exc
    file = Path(path)
    if not file.is_absolute():
        file = Path(base_dir or ".") / file
    if not file.is_file():
        raise FileNotFoundError(f"saved model {str(path)!r} not found (looked for {file})")
    untrusted = sio.get_untrusted_types(file=file)
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        raise UntrustedModelFile(
            f"{file.name}: refusing to load untrusted type(s) {', '.join(refused)}; "
            "list them under model.params.trusted only if you trust the file's author"
        )
    return sio.load(file, trusted=sorted(set(untrusted)))


@register("model", "skops")
class SavedModel:
    """A scikit-learn model (a fitted ``Pipeline``...) loaded from a skops file with trusted types.

    Args:
        path: the ``.skops`` file, relative to the scenario file.
        trusted: type names beyond scikit-learn's that the file may hold (a custom
            transformer's ``module.Class``); any other type is refused with its name.

    A fitted model is deployed as loaded; a retrain clones it (same parameters) and fits
    the clone, like any other estimator.
    """

    def __init__(self, path: str, trusted: list[str] = []) -> None:  # noqa: B006
        self.path = path
        self.trusted = trusted

    def load(self, base_dir: str | os.PathLike[str] | None = None) -> Any:
        """The saved estimator (see :func:`load_skops`)."""
        return load_skops(self.path, self.trusted, base_dir)
