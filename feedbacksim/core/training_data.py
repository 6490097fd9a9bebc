"""An agent's training-data store: everything it observed, and which part it trains on.

Rows are appended in batches into growable column arrays. The *window* decides which rows
a refit sees: ``all`` of them, the most recent ``size`` (``sliding``), or a uniform sample
of ``size`` rows kept by reservoir sampling (``reservoir``, Vitter's algorithm R applied a
batch at a time).

Features are a numpy array, or a pandas DataFrame (a world whose batches carry a table's
named and categorical columns, for a user's scikit-learn ``Pipeline``). A DataFrame's rows
are kept in a frame of their own, in arrival order, and the ``features`` column holds each
held row's position in it, so windows work the same for both; :meth:`TrainingData.rows`
returns the window's features as a DataFrame with the table's columns and dtypes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from feedbacksim.core.cases import Observations
from feedbacksim.core.lazy_import import lazy_module

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported on first use: start-up stays light

WindowKind = Literal["all", "sliding", "reservoir"]
COLUMNS = ("features", "labels", "groups", "propensity", "min_propensity", "time")


class TrainingData:
    """Growable columns of observed rows with a training window."""

    def __init__(
        self,
        window: WindowKind = "all",
        size: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if window != "all" and (size is None or size < 1):
            raise ValueError(f"a {window!r} window needs a positive size")
        if window == "reservoir" and rng is None:
            raise ValueError("a reservoir window needs a random generator")
        self.window = window
        self.size = size
        self._rng = rng
        self._cols: dict[str, np.ndarray] | None = None
        self._n = 0  # rows held
        self._capacity = 0  # rows the buffers can hold
        self.seen = 0  # rows ever observed
        self.consumed = 0  # rows already given to an incremental fit
        # DataFrame features: chunks in arrival order (joined on demand), rows kept so far.
        self.frames = False
        self._chunks: list[pd.DataFrame] = []
        self._frame_rows = 0

    def __len__(self) -> int:
        """Rows currently held (for a window: at most its size, once compacted)."""
        return self._n

    def add(self, obs: Observations, time: float) -> None:
        """Append observed rows (no copy of existing rows unless the buffer grows)."""
        labels = obs.labels
        m = labels.shape[0]
        if m == 0:
            return
        cols_ = self._cols
        n = self._n
        if self.frames or not isinstance(obs.features, np.ndarray):
            obs = self._frame_keys(obs)
        elif self.window == "all" and cols_ is not None and n + m <= self._capacity:
            # Fast path (most adds): write each column in place, no dict of the batch.
            end = n + m
            features = obs.features
            cols_["features"][n:end] = features if features.ndim == 2 else features.reshape(m, -1)
            cols_["labels"][n:end] = labels
            cols_["groups"][n:end] = 0 if obs.groups is None else obs.groups
            cols_["propensity"][n:end] = 1.0 if obs.propensity is None else obs.propensity
            cols_["min_propensity"][n:end] = (
                1.0 if obs.min_propensity is None else obs.min_propensity
            )
            cols_["time"][n:end] = time
            self._n = end
            self.seen += m
            return
        # Absent columns are written as scalars (broadcast into the buffer, no temporary array).
        cols: dict[str, Any] = {
            "features": obs.features.reshape(m, -1),
            "labels": labels,
            "groups": 0 if obs.groups is None else obs.groups,
            "propensity": 1.0 if obs.propensity is None else obs.propensity,
            "min_propensity": 1.0 if obs.min_propensity is None else obs.min_propensity,
            "time": time,
        }
        if self.window == "reservoir":
            self._reservoir_add(
                {k: np.broadcast_to(v, (m, *np.shape(v)[1:])) for k, v in cols.items()}, m
            )
        else:
            self._append(cols, m)
            if (
                self.window == "sliding"
                and self.size is not None
                and self._n >= 2 * self.size + 1024
            ):
                self._keep(slice(self._n - self.size, self._n))
        self.seen += m

    def _frame_keys(self, obs: Observations) -> Observations:
        """Keep a DataFrame batch's rows; the same observations with their positions as features."""
        frame = obs.features
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                "features of one agent's observations must all be numpy arrays or all "
                f"DataFrames; got {type(frame).__name__} after DataFrames"
            )
        self.frames = True
        m = obs.labels.shape[0]
        keys = np.arange(self._frame_rows, self._frame_rows + m, dtype=float).reshape(m, 1)
        self._chunks.append(frame)
        self._frame_rows += m
        return Observations(keys, obs.labels, obs.groups, obs.propensity, obs.min_propensity)

    def frame(self) -> pd.DataFrame:
        """Every DataFrame row observed so far, in arrival order (one frame, joined once)."""
        if not self._chunks:
            return pd.DataFrame()
        if len(self._chunks) > 1 or not self._chunks[0].index.equals(
            pd.RangeIndex(self._frame_rows)
        ):
            self._chunks = [pd.concat(self._chunks, ignore_index=True)]
        return self._chunks[0]

    def _allocate(self, cols: dict[str, Any], capacity: int) -> dict[str, np.ndarray]:
        features = cols["features"]
        groups = np.asarray(cols["groups"])
        self._capacity = capacity
        self._cols = {
            "features": np.empty((capacity, features.shape[1])),
            "labels": np.empty(capacity),
            "groups": np.empty(capacity, dtype=groups.dtype if groups.ndim else float),
            "propensity": np.empty(capacity),
            "min_propensity": np.empty(capacity),
            "time": np.empty(capacity),
        }
        return self._cols

    def _append(self, cols: dict[str, Any], m: int) -> None:
        store = self._allocate(cols, max(64, 2 * m)) if self._cols is None else self._cols
        n = self._n
        if n + m > store["labels"].shape[0]:
            new_cap = max(2 * store["labels"].shape[0], n + m)
            for k, v in store.items():
                grown = np.empty((new_cap, *v.shape[1:]), dtype=v.dtype)
                grown[:n] = v[:n]
                store[k] = grown
            self._capacity = new_cap
        for k, v in cols.items():
            store[k][n : n + m] = v
        self._n = n + m

    def _keep(self, index: slice) -> None:
        assert self._cols is not None
        kept = {k: v[index].copy() for k, v in self._cols.items()}
        self._n = 0
        self._cols = None
        self.consumed = 0
        self._append(kept, kept["labels"].shape[0])

    def _reservoir_add(self, cols: dict[str, np.ndarray], m: int) -> None:
        assert self.size is not None and self._rng is not None
        free = max(0, min(m, self.size - self._n))
        if free:
            self._append({k: v[:free] for k, v in cols.items()}, free)
        if free == m:
            return
        # Algorithm R: the row numbered t (1-based, over all rows seen) replaces a uniform
        # slot with probability size / t.
        t = self.seen + np.arange(free + 1, m + 1)
        slots = np.floor(self._rng.random(m - free) * t).astype(np.int64)
        take = slots < self.size
        assert self._cols is not None
        for k, v in cols.items():
            self._cols[k][slots[take]] = v[free:][take]

    def rows(self) -> dict[str, np.ndarray]:
        """The training window's rows, column by column (views, do not modify)."""
        if self._cols is None:
            return {k: np.empty((0,)) for k in COLUMNS} | {"features": np.empty((0, 0))}
        start = 0
        if self.window == "sliding" and self.size is not None:
            start = max(0, self._n - self.size)
        rows = {k: v[start : self._n] for k, v in self._cols.items()}
        if self.frames:
            keys = rows["features"][:, 0].astype(np.int64)
            rows["features"] = self.frame().iloc[keys].reset_index(drop=True)
        return rows

    def consume(self) -> tuple[int, int]:
        """Marks the unconsumed rows consumed; returns their ``(start, stop)`` in :meth:`columns`.

        For an incremental fit at every step: no dict
        of slices, the caller slices the columns it needs.
        """
        if self._cols is None:
            return 0, 0
        start, self.consumed = self.consumed, self._n
        return start, self._n

    def columns(self) -> dict[str, np.ndarray]:
        """The raw column buffers (rows ``0..len(self)`` are held; do not modify)."""
        if self._cols is None:
            return {}
        return self._cols
