"""The run's metrics table on disk, streamed: Parquet always, CSV on request.

The table is long: one row per (replication, metric, time, group) with columns
``replication, time, metric, group, value``. It is written one replication at a time
(a Parquet row group each; a long replication's metrics in row groups of at most
:data:`ROW_GROUP_ROWS` rows) straight from the trace's numpy arrays, so no whole-run table
is ever held in memory: beyond the trace and pyarrow itself, peak memory is bounded by
one row group's rows, whatever the horizon and the number of replications.
Files appear atomically (``files.atomic_file``: a unique temporary name, then a rename).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

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


def _to_numpy(array: pa.Array, dtype: type, missing: float | int = 0) -> np.ndarray:
    """A primitive Arrow array as a numpy array over its buffer (nulls as ``missing``).

    ``Array.to_numpy`` would do, but like ``pa.array`` it first imports pandas.
    """
    import pyarrow.compute as pc

    if array.null_count:
        array = pc.fill_null(array, missing)
    data: np.ndarray = np.frombuffer(array.buffers()[1], dtype=dtype)
    return data[array.offset : array.offset + len(array)]


def _encoded(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """A string column as one dictionary array (codes into the names it holds)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(column.type):  # read from CSV: plain strings
        column = pc.dictionary_encode(column)
    if column.num_chunks == 0:  # a file without rows (pa.array would import pandas)
        empty = np.empty(0, dtype=np.int32)
        return pa.DictionaryArray.from_arrays(_numeric(empty, pa.int32()), _strings([]))
    return column.combine_chunks()


def _strings(names: list[str]) -> pa.Array:
    """An Arrow string array of ``names`` built from its UTF-8 bytes and offsets (no pandas)."""
    import pyarrow as pa

    encoded = [name.encode() for name in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.StringArray.from_buffers(
        len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
    )


def metric_tables(trace: Trace, replication: int) -> Iterator[pa.Table]:
    """One replication's rows as Arrow tables, one per metric, in :meth:`Trace.to_frame`'s order.

    One metric at a time, so that what is built beside the trace is a sixth of a
    replication's rows in a world that records six metrics (at 10^5 days, a whole
    replication's table with its string columns is about 90 MiB).
    """
    import pyarrow as pa

    groups = sorted({g for s in trace.metrics.values() for g in s.groups})
    group_code = {g: i for i, g in enumerate(groups)}
    group_names = _strings(groups)
    for name, s in trace.metrics.items():
        n_t, n_g = s.values.shape
        rows = n_t * n_g
        codes = np.array([group_code[g] for g in s.groups], dtype=np.int32)
        # Strings are decoded inside Arrow from small dictionaries: no Python object per row.
        metric = pa.DictionaryArray.from_arrays(
            _numeric(np.zeros(rows, dtype=np.int32), pa.int32()), _strings([name])
        )
        group = pa.DictionaryArray.from_arrays(
            _numeric(np.tile(codes, n_t), pa.int32()), group_names
        )
        columns = [
            _numeric(np.full(rows, replication, dtype=np.int64), pa.int64()),
            _numeric(np.repeat(s.times.astype(float, copy=False), n_g), pa.float64()),
            metric.cast(pa.string()),
            group.cast(pa.string()),
            _numeric(s.values.reshape(-1).astype(float, copy=False), pa.float64()),
        ]
        yield pa.Table.from_arrays(columns, schema=metrics_schema())


def trace_table(trace: Trace, replication: int) -> pa.Table:
    """One replication's rows as one Arrow table (:func:`metric_tables` joined)."""
    import pyarrow as pa

    tables = list(metric_tables(trace, replication))
    return pa.concat_tables(tables) if tables else metrics_schema().empty_table()


#: Rows a replication's metrics are gathered into before they are written as a row group:
#: a row group costs about 0.6 ms to write, and 2^18 rows about 10 MiB to hold.
ROW_GROUP_ROWS = 1 << 18


def write_parquet(traces: Iterable[Trace], path: Path) -> Path:
    """Write ``traces`` (replication 0, 1, ...) to ``path``: a row group per replication,
    or per run of its metrics up to :data:`ROW_GROUP_ROWS` rows when it has more."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with (
        atomic_file(path, binary=True) as handle,
        pq.ParquetWriter(handle, metrics_schema()) as writer,
    ):
        for i, trace in enumerate(traces):
            gathered: list[pa.Table] = []
            rows = 0
            for table in metric_tables(trace, i):
                if gathered and rows + table.num_rows > ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(gathered))
                    gathered, rows = [], 0
                gathered.append(table)
                rows += table.num_rows
            if rows:
                writer.write_table(pa.concat_tables(gathered))
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
        return (results.trace(i, events=False) for i in range(results.replications))

    written = [write_parquet(traces(), directory / PARQUET_NAME)]
    if csv:
        written.append(write_csv(traces(), directory / CSV_NAME))
    return written


#: ``(times, groups, values[replication, time, group])`` of one metric.
MetricArrays = tuple[np.ndarray, list[str], np.ndarray]


class MetricTable(Mapping[str, MetricArrays]):
    """A run's metrics table as ``metric -> (times, groups, values[replication, time, group])``.

    The columns are held as numpy arrays; a metric's dense array is built when first asked
    for, so a report that draws two of seven metrics pays for two.
    """

    def __init__(
        self,
        replication: np.ndarray,
        times: np.ndarray,
        values: np.ndarray,
        metric_codes: np.ndarray,
        metric_names: list[str],
        group_codes: np.ndarray,
        group_names: list[str],
    ) -> None:
        self._columns = (replication, times, values, metric_codes, group_codes)
        self._codes = {name: code for code, name in enumerate(metric_names)}
        self._group_names = group_names
        self._built: dict[str, MetricArrays] = {}

    def __getitem__(self, metric: str) -> MetricArrays:
        if metric not in self._built:
            self._built[metric] = self._dense(self._codes[metric])
        return self._built[metric]

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def _dense(self, code: int) -> MetricArrays:
        replication, times, values, metric_codes, group_codes = self._columns
        rows = np.flatnonzero(metric_codes == code)
        rep, at, group = replication[rows], times[rows], group_codes[rows]
        reps, stamps = np.unique(rep), np.unique(at)
        present = np.unique(group)
        ordered = sorted(present, key=lambda c: self._group_names[c])
        position = np.empty(len(self._group_names), dtype=np.intp)
        position[ordered] = np.arange(len(ordered))
        dense = np.full((reps.size, stamps.size, len(ordered)), np.nan)
        dense[np.searchsorted(reps, rep), np.searchsorted(stamps, at), position[group]] = values[
            rows
        ]
        return stamps.astype(float), [self._group_names[c] for c in ordered], dense


def read_metric_arrays(directory: Path) -> MetricTable:
    """A run directory's metrics table as dense arrays per metric (:class:`MetricTable`).

    Read from ``metrics.parquet`` (or ``metrics.csv`` when only that is there) with pyarrow,
    without a DataFrame: a report needs the values by replication, time and group, and
    pandas' import and a pivot per metric cost more than drawing the figures. Groups are in
    sorted order; a (replication, time, group) cell without a row is NaN, and of rows
    repeating one (a metric recorded twice at a time) the last is kept.
    """
    parquet, csv = directory / PARQUET_NAME, directory / CSV_NAME
    if parquet.is_file():
        import pyarrow.parquet as pq

        # ParquetFile, not read_table: read_table goes through pyarrow.dataset, which
        # imports pandas.
        table = pq.ParquetFile(parquet, read_dictionary=["metric", "group"]).read()
    elif csv.is_file():
        import pyarrow.csv as pacsv

        options = pacsv.ConvertOptions(
            column_types=metrics_schema(),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        table = pacsv.read_csv(csv, convert_options=options)
    else:
        raise FileNotFoundError(f"{directory} holds no {PARQUET_NAME} or {CSV_NAME}")
    import pyarrow as pa

    table = table.unify_dictionaries()  # strings as codes into one dictionary per column
    metric, group = (_encoded(table[name]) for name in ("metric", "group"))

    def column(name: str, kind: pa.DataType) -> pa.Array:
        return table[name].combine_chunks().cast(kind)  # the widths _to_numpy reads

    return MetricTable(
        _to_numpy(column("replication", pa.int64()), np.int64),
        _to_numpy(column("time", pa.float64()), np.float64, np.nan),
        _to_numpy(column("value", pa.float64()), np.float64, np.nan),
        _to_numpy(metric.indices.cast(pa.int32()), np.int32),
        metric.dictionary.to_pylist(),
        _to_numpy(group.indices.cast(pa.int32()), np.int32),
        group.dictionary.to_pylist(),
    )
