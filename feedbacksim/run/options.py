"""Where and how replications run: the options that run, sweep and compare share."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feedbacksim.run.executors import Executor
    from feedbacksim.run.progress import Progress


@dataclass(frozen=True)
class RunOptions:
    """Executor, workers, scheduler address, run directory, resume and progress of a run.

    Args:
        executor: ``serial`` (the default, or ``dask`` when ``address`` is given),
            ``processes``, ``dask``, or an :class:`Executor` instance (which is then left
            open for the caller to reuse).
        workers: Worker processes for ``processes``/``dask`` (default: one per core).
        address: A Dask scheduler to connect to (``tcp://host:8786``); implies ``dask``.
        directory: Run directory; replications are written there as they complete.
        resume: Continue the run in ``directory``, skipping complete replications.
        progress: Progress display (default: none).
    """

    executor: str | Executor | None = None
    workers: int | None = None
    address: str | None = None
    directory: str | os.PathLike[str] | None = None
    resume: bool = False
    progress: Progress | None = None

    @classmethod
    def of(cls, options: RunOptions | None = None, **overrides: Any) -> RunOptions:
        """``options`` (default: all defaults) with keyword ``overrides``; unknown names refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unknown run option(s) {unknown}; known: {sorted(known)}")
        return replace(options or cls(), **overrides)

    def describe(self) -> dict[str, Any]:
        """What the manifest records of where the run ran."""
        executor = self.executor
        name = getattr(executor, "name", executor)
        return {"executor": name or ("dask" if self.address else "serial"), "workers": self.workers}
