"""The walls between layers: import contracts kept, no import cycle, old import paths kept."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import grimp
import pytest

from feedbacksim._moved import MOVED, SHADOWED
from feedbacksim.core.lazy_import import UpwardCall

ROOT = Path(__file__).resolve().parent.parent


def test_layer_contracts_are_kept() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_lazy_or_not() -> None:
    graph = grimp.build_graph("feedbacksim", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def _layer(module: str) -> int:
    """Index of the contract's layer holding ``module`` (0 is the top)."""
    # The layers contract of pyproject.toml (tomllib is Python 3.11+; 3.10 is supported).
    block = re.search(r"^layers = \[(.*?)^\]", (ROOT / "pyproject.toml").read_text(), re.M | re.S)
    assert block is not None
    layers = re.findall(r'"([^"]+)"', block.group(1))
    for i, layer in enumerate(layers):
        if any(module == p or module.startswith(p + ".") for p in layer.split(" | ")):
            return i
    raise AssertionError(f"{module} is in no layer")


# The deliberate upward calls (docs/architecture.md, "Layers and walls"): a lower layer's
# class names a function of a layer above by a dotted path, imported on first call.
FACADES = [
    ("feedbacksim.scenario.scenario", "Scenario", "runner", "feedbacksim.run.runner"),
    ("feedbacksim.run.results", "Results", "reporter", "feedbacksim.report.build"),
    ("feedbacksim.run.sweep", "SweepResults", "reporter", "feedbacksim.report.saving"),
    ("feedbacksim.run.compare", "Comparison", "reporter", "feedbacksim.report.saving"),
]


@pytest.mark.parametrize(("module", "cls", "attr", "target"), FACADES)
def test_facades_call_upwards_by_name_only(module: str, cls: str, attr: str, target: str) -> None:
    facade = vars(getattr(importlib.import_module(module), cls))[attr]
    assert isinstance(facade, UpwardCall)
    assert facade.target.partition(":")[0] == target
    assert _layer(target) < _layer(module)  # an upward call, so never an import
    assert callable(facade.resolve())


def test_every_upward_call_is_a_documented_facade() -> None:
    # A new UpwardCall is a new exception to the walls: it must be listed above (and in
    # docs/architecture.md), not slipped in.
    found = set()
    for path in sorted((ROOT / "feedbacksim").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "UpwardCall"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(str(node.args[0].value).partition(":")[0])
    assert found == {target for *_, target in FACADES}


def test_import_of_the_package_wires_nothing_and_imports_no_layer() -> None:
    code = (
        "import sys, feedbacksim\n"
        "layers = ('analyzers', 'models', 'report', 'run', 'scenario', 'worlds', 'cli')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2][-1] in layers))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("old", sorted(set(MOVED) - set(SHADOWED)))
def test_old_import_path_works_with_a_deprecation_warning(old: str) -> None:
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    assert any(
        issubclass(w.category, DeprecationWarning) and MOVED[old] in str(w.message) for w in caught
    )


def test_old_registry_module_path_keeps_the_exported_registry() -> None:
    import feedbacksim

    old_module = importlib.import_module("feedbacksim.registry")  # the old module path
    assert old_module is importlib.import_module("feedbacksim.core.registry")
    assert feedbacksim.registry is old_module.registry  # still the Registry, not the module
    assert feedbacksim.registry.get("model", "gaussian").kind == "gaussian"


def test_old_module_attributes_of_the_package_warn_and_resolve() -> None:
    import feedbacksim

    # An earlier import of the old path leaves a real attribute; start from none.
    vars(feedbacksim).pop("agent", None)
    sys.modules.pop("feedbacksim.agent", None)
    with pytest.warns(DeprecationWarning, match="feedbacksim.core.agent"):
        module = feedbacksim.agent  # type: ignore[attr-defined]
    assert module is importlib.import_module("feedbacksim.core.agent")


def test_an_aliased_module_keeps_its_own_spec() -> None:
    sys.modules.pop("feedbacksim.sweep", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("feedbacksim.sweep")
    assert old.__spec__ is not None and old.__spec__.name == "feedbacksim.run.sweep"
    assert importlib.reload(old) is old
    # The reload made a new SweepResults class; its report facade needs no wiring.
    assert isinstance(old.SweepResults.reporter, UpwardCall)


def test_names_the_old_paths_held_are_still_there() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sweep = importlib.import_module("feedbacksim.sweep")
        yaml_source = importlib.import_module("feedbacksim.yaml_source")
        measures = importlib.import_module("feedbacksim.analyzers.measures")
    for name in ("Axis", "SPACES", "DISTRIBUTIONS", "MAX_POINTS", "sweep_problems", "run_sweep"):
        assert hasattr(sweep, name), name
    assert yaml_source.suggest("condtion", ["condition"]) == " (did you mean 'condition'?)"
    assert "true_auc" in measures.RECORDED_METRICS


FORBIDDEN_IN_WORLDS = {"_agents", "_agent", "agents_"}


def test_worlds_see_agents_only_through_their_views() -> None:
    # Import contracts cannot see attribute access: a world must not reach the real agents
    # through the simulation (``self.sim.agents``) or the environment's private map.
    offenders = []
    for path in sorted((ROOT / "feedbacksim" / "worlds").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                inner = node.value
                reaches_sim_agents = (
                    node.attr == "agents"
                    and isinstance(inner, ast.Attribute)
                    and inner.attr == "sim"
                )
                if reaches_sim_agents or node.attr in FORBIDDEN_IN_WORLDS:
                    offenders.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert offenders == []


def test_the_entry_point_group_keeps_its_published_name() -> None:
    # Installed packages register components under this group; moving modules must not
    # rename it (docs/scenarios.md, DESIGN).
    from feedbacksim.core.registry import ENTRY_POINT_GROUP

    assert ENTRY_POINT_GROUP == "feedbacksim.components"
