"""The ``sweep:`` block of a scenario: its axes, its points, and the checks of both.

The block maps dotted override paths to values; each entry is one *axis* and the points
are every combination of the axes (a grid)::

    sweep:
      replications: 30                          # per point (default: the scenario's)
      environment.params.incident_rates: [[0.5, 0.5], [0.6, 0.4]]   # a list of values
      agents.dispatcher.policy.epsilon: {linspace: [0.0, 0.3, 4]}   # 0, 0.1, 0.2, 0.3
      horizon: {logspace: [2, 3, 3]}            # 10**2 .. 10**3: 100, 316.2..., 1000
      environment.params.reporting_rate: {geomspace: [0.01, 0.1, 3]}
      zip:                                      # paths that vary together: one axis
        environment.params.incident_rates.0: [0.5, 0.6, 0.7]
        environment.params.incident_rates.1: [0.5, 0.4, 0.3]
      random:                                   # n points drawn from ranges: one axis
        n: 20
        seed: 1                                 # default 0
        ranges:
          agents.dispatcher.policy.epsilon: [0.0, 0.5]        # uniform
          environment.params.reporting_rate: {loguniform: [0.001, 0.1]}
          environment.params.patrols_per_day: {integers: [1, 4]}  # both ends included

``zip`` may also be a list of such mappings (several zipped axes). Every point runs the
same replication seeds (common random numbers), so differences between points are the
design's and not the noise's. Values are checked here (:func:`sweep_problems`, with key
paths ``sweep.<path>``); whether a path exists is checked when the points are built.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from feedbacksim.scenario.scenario import Scenario

SPACES = ("linspace", "logspace", "geomspace")
DISTRIBUTIONS = ("uniform", "loguniform", "integers")
MAX_POINTS = 100_000


@dataclass(frozen=True)
class Axis:
    """One direction of a sweep: ``values[i]`` holds one value per path at position i."""

    paths: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    kind: str  # grid, zip or random

    @property
    def label(self) -> str:
        """The axis name in tables and figures."""
        return " + ".join(self.paths)

    def tick(self, position: int) -> str:
        """The axis value at ``position`` as short text."""
        return " / ".join(short_value(v) for v in self.values[position])

    def numeric(self) -> np.ndarray | None:
        """The positions as numbers when the axis is one path with scalar values, else None."""
        if len(self.paths) != 1:
            return None
        column = [v[0] for v in self.values]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in column):
            return np.asarray(column, dtype=float)
        return None

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class SweepPoint:
    """One point: its number, its position on every axis and the overrides it applies."""

    index: int
    coords: tuple[int, ...]
    overrides: dict[str, Any]


@dataclass(frozen=True)
class SweepPlan:
    """The axes of a sweep and the replications per point (None: the scenario's)."""

    axes: tuple[Axis, ...]
    replications: int | None = None

    def points(self) -> list[SweepPoint]:
        """Every combination of the axes, the first axis varying slowest."""
        out = []
        for index, coords in enumerate(itertools.product(*(range(len(a)) for a in self.axes))):
            overrides: dict[str, Any] = {}
            for axis, position in zip(self.axes, coords, strict=True):
                overrides.update(zip(axis.paths, axis.values[position], strict=True))
            out.append(SweepPoint(index, coords, overrides))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for the run plan and the summary)."""
        return {
            "replications": self.replications,
            "axes": [
                {"paths": list(a.paths), "kind": a.kind, "values": [list(v) for v in a.values]}
                for a in self.axes
            ],
        }


def short_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(short_value(v) for v in value) + "]"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Parser:
    """Collects problems while turning the raw block into axes."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.paths: set[str] = set()

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(message, keypath=f"sweep.{where}" if where else "sweep"))

    def claim(self, path: str, where: str) -> bool:
        if not isinstance(path, str) or not path or any(not p for p in path.split(".")):
            self.problem(where, f"invalid override path {path!r}")
            return False
        if path in self.paths:
            self.problem(where, "the path is swept twice")
            return False
        self.paths.add(path)
        return True

    def values(self, raw: Any, where: str) -> list[Any] | None:
        """A list of values, or the numbers of a ``{linspace|logspace|geomspace: [a, b, n]}``."""
        if isinstance(raw, list):
            if not raw:
                self.problem(where, "needs at least one value")
                return None
            return list(raw)
        if isinstance(raw, Mapping):
            if len(raw) != 1 or next(iter(raw)) not in SPACES:
                self.problem(
                    where, f"expected a list of values or one of {{{', '.join(SPACES)}: [a, b, n]}}"
                )
                return None
            space, args = next(iter(raw.items()))
            if (
                not isinstance(args, list)
                or len(args) != 3
                or not all(_is_number(a) for a in args[:2])
                or not isinstance(args[2], int)
                or isinstance(args[2], bool)
                or args[2] < 1
            ):
                self.problem(
                    f"{where}.{space}", f"expected [start, stop, count>=1], found {args!r}"
                )
                return None
            start, stop, count = args
            if space == "geomspace" and (start <= 0 or stop <= 0):
                self.problem(f"{where}.{space}", "geomspace needs positive start and stop")
                return None
            make: dict[str, Callable[..., np.ndarray]] = {
                "linspace": np.linspace,
                "logspace": np.logspace,
                "geomspace": np.geomspace,
            }
            return [float(v) for v in make[space](start, stop, count)]
        self.problem(where, f"expected a list of values or a spacing rule, found {raw!r}")
        return None

    def grid(self, path: str, raw: Any) -> Axis | None:
        if not self.claim(path, path):
            return None
        values = self.values(raw, path)
        return None if values is None else Axis((path,), tuple((v,) for v in values), "grid")

    def zipped(self, raw: Any, where: str) -> Axis | None:
        if not isinstance(raw, Mapping) or not raw:
            self.problem(where, "a zipped group maps paths to lists of equal length")
            return None
        columns: dict[str, list[Any]] = {}
        for path, spec in raw.items():
            if self.claim(path, f"{where}.{path}"):
                values = self.values(spec, f"{where}.{path}")
                if values is not None:
                    columns[path] = values
        if len(columns) != len(raw):
            return None
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{p}: {len(v)}" for p, v in columns.items())
            self.problem(where, f"zipped lists must have equal lengths ({sizes})")
            return None
        return Axis(tuple(columns), tuple(zip(*columns.values(), strict=True)), "zip")

    def sampled(self, raw: Any) -> Axis | None:
        if not isinstance(raw, Mapping):
            self.problem("random", "expected {n: count, seed: int, ranges: {path: [low, high]}}")
            return None
        unknown = sorted(set(raw) - {"n", "seed", "ranges"})
        for key in unknown:
            self.problem(f"random.{key}", "unknown key (known: n, seed, ranges)")
        n, seed, ranges = raw.get("n"), raw.get("seed", 0), raw.get("ranges")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            self.problem("random.n", f"expected a count >= 1, found {n!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            self.problem("random.seed", f"expected an integer >= 0, found {seed!r}")
        if not isinstance(ranges, Mapping) or not ranges:
            self.problem("random.ranges", "expected a mapping of paths to [low, high]")
            return None
        if unknown or not isinstance(n, int) or not isinstance(seed, int):
            return None
        draws: list[tuple[str, str, float, float]] = []
        for path, spec in ranges.items():
            where = f"random.ranges.{path}"
            if not self.claim(path, where):
                continue
            rule = "uniform"
            if isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS:
                rule, spec = next(iter(spec.items()))
            if not isinstance(spec, list) or len(spec) != 2 or not all(map(_is_number, spec)):
                self.problem(
                    where,
                    f"expected [low, high] or {{{'|'.join(DISTRIBUTIONS)}: [low, high]}}, found {spec!r}",
                )
                continue
            low, high = spec
            if low > high:
                self.problem(where, f"low {low} is above high {high}")
            elif rule == "loguniform" and low <= 0:
                self.problem(where, "loguniform needs a positive low end")
            elif rule == "integers" and not (isinstance(low, int) and isinstance(high, int)):
                self.problem(where, "integers needs integer ends")
            else:
                draws.append((path, rule, low, high))
        if len(draws) != len(ranges):
            return None
        # The sweep's own generator: seeded from the block, never from global state.
        rng = np.random.default_rng(seed)
        columns = []
        for _, rule, low, high in draws:
            if rule == "uniform":
                column = [float(v) for v in rng.uniform(low, high, n)]
            elif rule == "loguniform":
                column = [float(v) for v in np.exp(rng.uniform(np.log(low), np.log(high), n))]
            else:
                column = [int(v) for v in rng.integers(int(low), int(high), n, endpoint=True)]
            columns.append(column)
        return Axis(tuple(d[0] for d in draws), tuple(zip(*columns, strict=True)), "random")


def _parse(raw: Any) -> tuple[SweepPlan | None, list[Problem]]:
    parser = _Parser()
    if raw is None or (isinstance(raw, Mapping) and not raw):
        return SweepPlan(()), []
    if not isinstance(raw, Mapping):
        parser.problem("", f"expected a mapping of paths to values, found {raw!r}")
        return None, parser.problems
    axes: list[Axis | None] = []
    replications = raw.get("replications")
    if replications is not None and (
        not isinstance(replications, int) or isinstance(replications, bool) or replications < 1
    ):
        parser.problem("replications", f"expected a count >= 1, found {replications!r}")
    for key, value in raw.items():
        if key == "replications":
            continue
        if key == "zip":
            groups = value if isinstance(value, list) else [value]
            for i, group in enumerate(groups):
                axes.append(parser.zipped(group, "zip" if len(groups) == 1 else f"zip.{i}"))
        elif key == "random":
            axes.append(parser.sampled(value))
        else:
            axes.append(parser.grid(str(key), value))
    if parser.problems:
        return None, parser.problems
    plan = SweepPlan(tuple(a for a in axes if a is not None), replications)
    size = math.prod(len(a) for a in plan.axes)
    if size > MAX_POINTS:
        parser.problem("", f"{size} points is more than {MAX_POINTS}")
        return None, parser.problems
    return plan, []


def sweep_problems(raw: Any) -> list[Problem]:
    """Everything wrong with a ``sweep:`` block (empty when it is valid)."""
    return _parse(raw)[1]


def parse_sweep(raw: Any) -> SweepPlan:
    """The plan of a ``sweep:`` block; raises :class:`ScenarioError` naming ``sweep.<path>``."""
    plan, problems = _parse(raw)
    if problems or plan is None:
        raise ScenarioError(problems)
    return plan


def point_scenarios(scenario: Scenario, points: Sequence[SweepPoint]) -> list[Scenario]:
    """The scenario of every point (the base without its ``sweep:`` block, plus the point's overrides)."""
    base = {k: v for k, v in scenario.to_dict().items() if k != "sweep"}
    base_scenario = type(scenario).from_dict(base, scenario.source)
    out = []
    for point in points:
        try:
            out.append(base_scenario.with_overrides(point.overrides))
        except ScenarioError as exc:
            raise ScenarioError(
                [
                    Problem(
                        f"{p.message} (at sweep point {point.index}: {point.overrides})",
                        f"sweep.{p.keypath}" if p.keypath else "sweep",
                        p.file,
                        p.line,
                        p.column,
                    )
                    for p in exc.problems
                ]
            ) from None
    return out
