"""The run's metrics table on disk, streamed: Parquet always, CSV on request.

The table is long: one row per (replication, metric, time, group) with columns
``replication, time, metric, group, value``. It is written one replication at a time
(one Parquet row group each) straight from the trace's numpy arrays, so no whole-run
table, and not even one replication's DataFrame, is ever held in memory: peak memory
stays at the simulation's own, whatever the horizon and the number of replications.
Files appear atomically (``files.atomic_file``: a unique temporary name, then a rename).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.core.trace import FRAME_COLUMNS, Trace
from feedbacksim.run.files import atomic_file

if TYPE_CHECKING:
    import pyarrow as pa

    from feedbacksim.run.results import Results

PARQUET_NAME = "metrics.parquet"
CSV_NAME = "metrics.csv"
COLUMNS = ["replication", *FRAME_COLUMNS]


def metrics_schema() -> pa.Schema:
    """The Parquet schema of the metrics table (metric and group dictionary-encoded on disk)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("replication", pa.int64()),
            ("time", pa.float64()),
            ("metric", pa.string()),
            ("group", pa.string()),
            ("value", pa.float64()),
        ]
    )


def _numeric(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """An Arrow array over ``values``' own buffer (``kind`` matches its dtype).

    ``pa.array`` would do, but its first call imports pandas (about 0.5 s of CPU) to ask
    whether the input is a pandas object.
    """
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(kind, values.shape[0], [None, pa.py_buffer(values)])


def _strings(names: list[str]) -> pa.Array:
    """An Arrow string array of ``names`` built from its UTF-8 bytes and offsets (no pandas)."""
    import pyarrow as pa

    encoded = [name.encode() for name in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.StringArray.from_buffers(
        len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
    )


def trace_table(trace: Trace, replication: int) -> pa.Table:
    """One replication's rows as an Arrow table, in :meth:`Trace.to_frame`'s row order."""
    import pyarrow as pa

    names = list(trace.metrics)
    groups = sorted({g for s in trace.metrics.values() for g in s.groups})
    group_code = {g: i for i, g in enumerate(groups)}
    times, metric_codes, group_codes, values = [], [], [], []
    for code, s in enumerate(trace.metrics.values()):
        n_t, n_g = s.values.shape
        times.append(np.repeat(s.times, n_g))
        metric_codes.append(np.full(n_t * n_g, code, dtype=np.int32))
        codes = np.array([group_code[g] for g in s.groups], dtype=np.int32)
        group_codes.append(np.tile(codes, n_t))
        values.append(s.values.reshape(-1))

    def joined(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    time = joined(times, float)
    # Strings are decoded inside Arrow from small dictionaries: no Python object per row.
    metric = pa.DictionaryArray.from_arrays(
        _numeric(joined(metric_codes, np.int32), pa.int32()), _strings(names)
    )
    group = pa.DictionaryArray.from_arrays(
        _numeric(joined(group_codes, np.int32), pa.int32()), _strings(groups)
    )
    columns = [
        _numeric(np.full(time.shape[0], replication, dtype=np.int64), pa.int64()),
        _numeric(time.astype(float, copy=False), pa.float64()),
        metric.cast(pa.string()),
        group.cast(pa.string()),
        _numeric(joined(values, float).astype(float, copy=False), pa.float64()),
    ]
    return pa.Table.from_arrays(columns, schema=metrics_schema())


def write_parquet(traces: Iterable[Trace], path: Path) -> Path:
    """Write ``traces`` (replication 0, 1, ...) to ``path``, one row group per replication."""
    import pyarrow.parquet as pq

    with (
        atomic_file(path, binary=True) as handle,
        pq.ParquetWriter(handle, metrics_schema()) as writer,
    ):
        for i, trace in enumerate(traces):
            writer.write_table(trace_table(trace, i))
    return path


def write_csv(traces: Iterable[Trace], path: Path) -> Path:
    """Write ``traces`` to ``path`` as CSV (values to 10 significant digits), one at a time."""
    with atomic_file(path) as handle:
        for i, trace in enumerate(traces):
            frame = trace.to_frame()
            frame.insert(0, "replication", i)
            frame.to_csv(handle, index=False, header=i == 0, float_format="%.10g")
    return path


def write_metrics(results: Results, directory: Path, csv: bool = False) -> list[Path]:
    """``metrics.parquet`` in ``directory`` (and ``metrics.csv`` when ``csv``); the paths written.

    Traces are read one replication at a time (from the run directory when the run has
    one), once per file.
    """

    def traces() -> Iterator[Trace]:
        return (results.trace(i) for i in range(results.replications))

    written = [write_parquet(traces(), directory / PARQUET_NAME)]
    if csv:
        written.append(write_csv(traces(), directory / CSV_NAME))
    return written
