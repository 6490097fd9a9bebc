"""Recorder and Trace: every metric at every recorded time, per group, plus an event log.

The recorder appends into preallocated numpy buffers that double when full (amortized
O(1) per record, no copy of the world's state). A finished replication freezes them into
a :class:`Trace`, which analyzers read and which exports to pandas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from feedbacksim.core.lazy_import import lazy_module

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported on first use: start-up stays light

FRAME_COLUMNS = ["time", "metric", "group", "value"]
EVENT_COLUMNS = ["time", "kind", "source", "detail"]
#: Trace metadata key of the world's declared metric scales (``Environment.scales``).
METRIC_SCALES = "metric_scales"


Event = tuple[float, str, str, str]


class EventLog(Sequence[Event]):
    """An event log kept as the JSON it was stored as, decoded on first use.

    A trace read back (from a worker or a replication file) carries its log this way: a
    long run's log (a retrain a day) costs more to decode than its metrics cost to read,
    and a run's driver rarely looks at it. Compares equal to the list of its events.
    """

    def __init__(self, encoded: str) -> None:
        self.encoded = encoded
        self._events: list[Event] | None = None

    @classmethod
    def shared(cls, events: Sequence[Event]) -> EventLog:
        """A log that many traces share (a batch's replications retrain on the same days),
        encoded once rather than once per trace stored."""
        log = cls(json.dumps(list(events)))
        log._events = list(events)
        return log

    def _decoded(self) -> list[Event]:
        if self._events is None:
            self._events = [tuple(e) for e in json.loads(self.encoded)]
        return self._events

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._decoded())

    def __iter__(self) -> Iterator[Event]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (EventLog, list)):
            return self._decoded() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like a list

    def __repr__(self) -> str:
        return repr(self._decoded())

    def __reduce__(self) -> tuple[type[EventLog], tuple[str]]:
        return (EventLog, (self.encoded,))  # the JSON alone, not its decoded copy too


class _Buffer:
    """Growable ``(time, values[groups])`` columns of one metric."""

    __slots__ = ("groups", "times", "values", "size")

    def __init__(self, groups: tuple[str, ...], capacity: int = 256) -> None:
        self.groups = groups
        self.times = np.empty(capacity)
        self.values = np.empty((capacity, len(groups)))
        self.size = 0

    def grow(self) -> None:
        """Double the capacity (keeps the recorded rows)."""
        n = self.times.shape[0]
        self.times = np.concatenate([self.times, np.empty(n)])
        self.values = np.concatenate([self.values, np.empty_like(self.values)])


class Recorder:
    """Collects metrics and events during one replication."""

    def __init__(self) -> None:
        self._buffers: dict[str, _Buffer] = {}
        self._events: list[tuple[float, str, str, str]] = []

    def declare(self, metric: str, groups: Sequence[Any] | None = None) -> None:
        """Declare ``metric`` with its group labels (``None``: one ungrouped value)."""
        labels = ("",) if groups is None else tuple(str(g) for g in groups)
        self._buffers[metric] = _Buffer(labels)

    def record(self, metric: str, time: float, values: Any) -> None:
        """Record ``values`` (a scalar, or one value per declared group) at ``time``."""
        # The hot path of every world's step: the buffer is written here, in one call.
        b = self._buffers[metric]
        n = b.size
        if n == b.times.shape[0]:
            b.grow()
        b.times[n] = time
        b.values[n] = values
        b.size = n + 1

    def event(self, time: float, kind: str, source: str, detail: str = "") -> None:
        """Log an event (a retrain, a skipped retrain and why, a shock...)."""
        self._events.append((float(time), kind, source, detail))

    def series(self, metric: str) -> MetricSeries:
        """The metric recorded so far (a view, for analyzers that watch a running trace)."""
        b = self._buffers[metric]
        return MetricSeries(metric, b.groups, b.times[: b.size], b.values[: b.size])

    def trace(self, metadata: dict[str, Any] | None = None) -> Trace:
        """Freeze what was recorded into a Trace (copies the used part of each buffer)."""
        metrics = {
            name: MetricSeries(name, b.groups, b.times[: b.size].copy(), b.values[: b.size].copy())
            for name, b in self._buffers.items()
        }
        return Trace(metrics, list(self._events), dict(metadata or {}))


@dataclass(frozen=True)
class MetricSeries:
    """One metric over time: ``values[t, g]`` is group ``groups[g]`` at ``times[t]``."""

    name: str
    groups: tuple[str, ...]
    times: np.ndarray
    values: np.ndarray

    def group(self, group: Any) -> np.ndarray:
        """Values of one group over time."""
        return self.values[:, self.groups.index(str(group))]

    @property
    def final(self) -> np.ndarray:
        """The last recorded value of each group."""
        return self.values[-1]


@dataclass(frozen=True)
class Trace:
    """The record of one replication: metrics per time and group, events, metadata.

    ``events`` is a sequence of ``(time, kind, source, detail)``: a list when recorded, an
    :class:`EventLog` (read-only) when read back from a worker or a file.
    """

    metrics: dict[str, MetricSeries]
    events: Sequence[Event] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> MetricSeries:
        try:
            return self.metrics[metric]
        except KeyError:
            raise KeyError(
                f"metric {metric!r} was not recorded; recorded: {sorted(self.metrics)}"
            ) from None

    def __contains__(self, metric: str) -> bool:
        return metric in self.metrics

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per (metric, time, group) with columns time, metric, group, value."""
        parts = []
        for s in self.metrics.values():
            n_t, n_g = s.values.shape
            parts.append(
                pd.DataFrame(
                    {
                        "time": np.repeat(s.times, n_g),
                        "metric": pd.Categorical([s.name] * (n_t * n_g)),
                        "group": np.tile(np.asarray(s.groups, dtype=object), n_t),
                        "value": s.values.reshape(-1),
                    }
                )
            )
        if not parts:
            return pd.DataFrame({c: [] for c in FRAME_COLUMNS})
        frame = pd.concat(parts, ignore_index=True)
        frame["metric"] = frame["metric"].astype(str)
        return frame

    def events_frame(self) -> pd.DataFrame:
        """The event log as a DataFrame with columns time, kind, source, detail."""
        return pd.DataFrame(self.events, columns=EVENT_COLUMNS)

    def events_of(self, kind: str) -> list[Event]:
        """Events of one kind, in order."""
        return [e for e in self.events if e[1] == kind]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for ``numpy.savez`` (metadata and events as JSON-able object arrays)."""
        log = self.events
        encoded = log.encoded if isinstance(log, EventLog) else json.dumps(list(log))
        out: dict[str, np.ndarray] = {
            "__metadata__": np.array(json.dumps(self.metadata, default=str)),
            "__events__": np.array(encoded),
        }
        for name, s in self.metrics.items():
            out[f"{name}::times"] = s.times
            out[f"{name}::values"] = s.values
            out[f"{name}::groups"] = np.array(json.dumps(list(s.groups)))
        return out

    @classmethod
    def from_arrays(cls, arrays: Any, events: bool = True) -> Trace:
        """Inverse of :meth:`to_arrays` (accepts a mapping or an ``NpzFile``).

        ``events=False`` leaves the event log empty without reading it: a long run's log
        (a retrain a day) can be larger than its metrics, as Python objects several times so.
        Otherwise the log is an :class:`EventLog`, decoded when first read.
        """
        metrics = {}
        for key in arrays:
            if key.endswith("::times"):
                name = key[: -len("::times")]
                groups = tuple(json.loads(str(arrays[f"{name}::groups"])))
                metrics[name] = MetricSeries(
                    name, groups, np.asarray(arrays[key]), np.asarray(arrays[f"{name}::values"])
                )
        log: Sequence[Event] = EventLog(str(arrays["__events__"])) if events else []
        return cls(metrics, log, json.loads(str(arrays["__metadata__"])))
