"""Old import paths of modules that moved into a layer folder: they keep working, with a warning."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

MOVED = {
    "feedbacksim.agent": "feedbacksim.core.agent",
    "feedbacksim.analyzers.measures": "feedbacksim.run.measures",
    "feedbacksim.analyzers.running": "feedbacksim.run.replication",
    "feedbacksim.cases": "feedbacksim.core.cases",
    "feedbacksim.compare": "feedbacksim.run.compare",
    "feedbacksim.components": "feedbacksim.scenario.components",
    "feedbacksim.environment": "feedbacksim.core.environment",
    "feedbacksim.executors": "feedbacksim.run.executors",
    "feedbacksim.expressions": "feedbacksim.core.expressions",
    "feedbacksim.files": "feedbacksim.run.files",
    "feedbacksim.gates": "feedbacksim.core.gates",
    "feedbacksim.group_policies": "feedbacksim.core.group_policies",
    "feedbacksim.phase": "feedbacksim.report.phase",
    "feedbacksim.policies": "feedbacksim.core.policies",
    "feedbacksim.progress": "feedbacksim.run.progress",
    "feedbacksim.quality": "feedbacksim.core.quality",
    "feedbacksim.registry": "feedbacksim.core.registry",
    "feedbacksim.results": "feedbacksim.run.results",
    "feedbacksim.rundir": "feedbacksim.run.directory",
    "feedbacksim.runner": "feedbacksim.run.runner",
    "feedbacksim.schema": "feedbacksim.scenario.schema",
    "feedbacksim.seeding": "feedbacksim.core.seeding",
    "feedbacksim.simulation": "feedbacksim.core.simulation",
    "feedbacksim.sources": "feedbacksim.scenario.sources",
    "feedbacksim.statistics": "feedbacksim.analyzers.statistics",
    "feedbacksim.store": "feedbacksim.run.store",
    "feedbacksim.sweep": "feedbacksim.run.sweep",
    "feedbacksim.trace": "feedbacksim.core.trace",
    "feedbacksim.training_data": "feedbacksim.core.training_data",
    "feedbacksim.validation": "feedbacksim.scenario.validation",
    "feedbacksim.yaml_source": "feedbacksim.scenario.yaml_source",
}


class _Alias(importlib.abc.Loader):
    """Loads an old path as the module that now lives at the new one."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system gave the module the alias's spec; give it back its own, so that
        # ``importlib.reload`` and tools reading ``__spec__`` see the real module.
        module.__spec__ = self.spec


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds the old paths in ``MOVED`` and warns that they are deprecated."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        warnings.warn(
            f"{fullname} moved to {new}; the old path will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


#: Old paths whose last name the package exports as an object (``feedbacksim.registry``, the
#: registry): importing them through the finder would make the import system replace the
#: package's attribute with the module, so they are entered in ``sys.modules`` up front
#: (they resolve without a warning).
SHADOWED = ("feedbacksim.registry",)


def install() -> None:
    """Put the finder first on ``sys.meta_path``, once, ahead of an editable install's finder."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModules())
    for old in SHADOWED:
        sys.modules.setdefault(old, importlib.import_module(MOVED[old]))
