"""The streamed metrics table: Parquet equals the frame the traces give, a row group per metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import feedbacksim
from feedbacksim.core.trace import Recorder
from feedbacksim.run.exports import trace_table, write_csv, write_metrics, write_parquet


def _trace(seed: int, days: int):
    rng = np.random.default_rng(seed)
    recorder = Recorder()
    recorder.declare("share", ("0", "1"))
    recorder.declare("total", ("all",))
    for t in range(days):
        recorder.record("share", float(t), rng.random(2))
        recorder.record("total", float(t), rng.random())
    return recorder.trace()


def _old_frame(traces) -> pd.DataFrame:
    """The whole-run frame the metrics file used to be written from."""
    frames = []
    for i, trace in enumerate(traces):
        frame = trace.to_frame()
        frame.insert(0, "replication", i)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_streamed_parquet_equals_the_whole_run_frame(tmp_path):
    traces = [_trace(seed, days) for seed, days in [(1, 30), (2, 0), (3, 17)]]
    path = write_parquet(iter(traces), tmp_path / "metrics.parquet")
    read = pd.read_parquet(path)
    # Same values exactly; string columns may read back as pandas' string dtype, not object.
    pd.testing.assert_frame_equal(read, _old_frame(traces), check_exact=True, check_dtype=False)
    assert pq.ParquetFile(path).metadata.num_row_groups == 2  # one per non-empty replication
    assert not list(tmp_path.glob(".metrics*"))


def test_a_long_replication_is_written_in_row_groups_of_whole_metrics(tmp_path, monkeypatch):
    from feedbacksim.run import exports

    monkeypatch.setattr(exports, "ROW_GROUP_ROWS", 70)  # "share" has 60 rows, "total" 30
    traces = [_trace(1, 30), _trace(3, 17)]
    path = write_parquet(iter(traces), tmp_path / "metrics.parquet")
    file = pq.ParquetFile(path)
    groups = [file.read_row_group(i) for i in range(file.metadata.num_row_groups)]
    keys = [
        (g["replication"].unique().to_pylist(), g["metric"].unique().to_pylist()) for g in groups
    ]
    assert keys == [([0], ["share"]), ([0], ["total"]), ([1], ["share", "total"])]
    pd.testing.assert_frame_equal(
        pd.read_parquet(path), _old_frame(traces), check_exact=True, check_dtype=False
    )


def test_trace_table_keeps_group_order_per_metric():
    trace = _trace(5, 4)
    table = trace_table(trace, 7).to_pandas()
    assert table["replication"].unique().tolist() == [7]
    assert table["group"].tolist() == ["0", "1"] * 4 + ["all"] * 4
    assert table["metric"].tolist() == ["share"] * 8 + ["total"] * 4
    assert table["value"].to_numpy()[:2].tolist() == trace["share"].values[0].tolist()


def test_csv_matches_parquet_and_a_failed_write_leaves_nothing(tmp_path):
    traces = [_trace(9, 12), _trace(10, 12)]
    write_csv(iter(traces), tmp_path / "metrics.csv")
    csv = pd.read_csv(tmp_path / "metrics.csv", keep_default_na=False, dtype={"group": str})
    # Whole times read back from CSV as integers: compare values, not dtypes.
    old = _old_frame(traces)
    pd.testing.assert_frame_equal(csv, old, check_exact=False, rtol=1e-9, check_dtype=False)

    def broken():
        yield traces[0]
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_parquet(broken(), tmp_path / "other.parquet")
    assert not (tmp_path / "other.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_run_directory_writes_parquet_and_csv_only_on_request(policing_path, tmp_path):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 40})
    results = scenario.run(replications=2, seed=3, executor="serial")
    written = write_metrics(results, tmp_path)
    assert [p.name for p in written] == ["metrics.parquet"]
    assert not (tmp_path / "metrics.csv").exists()
    read = pd.read_parquet(tmp_path / "metrics.parquet")
    old = _old_frame([results.trace(0), results.trace(1)])
    pd.testing.assert_frame_equal(read, old, check_exact=True, check_dtype=False)
    write_metrics(results, tmp_path, csv=True)
    assert (tmp_path / "metrics.csv").is_file()


def test_metric_arrays_read_back_dense_with_nan_for_missing_rows(tmp_path):
    from feedbacksim.report.figures import band_arrays
    from feedbacksim.run.exports import read_metric_arrays

    rng = np.random.default_rng(4)
    traces = []
    for days in (6, 0, 4):  # replications of unequal length: cells missing in the shorter
        recorder = Recorder()
        recorder.declare("share", ("b", "a", "10", "9"))  # sorted as strings when read
        recorder.declare("total", ("",))  # an ungrouped metric: its group is ""
        for t in range(days):
            recorder.record("share", float(t), rng.random(4))
            recorder.record("total", float(t) * 0.5, np.nan if t == 2 else rng.random())
        traces.append(recorder.trace())
    write_parquet(iter(traces), tmp_path / "metrics.parquet")
    (tmp_path / "csv").mkdir()
    write_csv(iter(traces), tmp_path / "csv" / "metrics.csv")
    for got in (read_metric_arrays(tmp_path), read_metric_arrays(tmp_path / "csv")):
        assert sorted(got) == ["share", "total"]
        times, groups, values = got["share"]
        assert groups == ["10", "9", "a", "b"]
        np.testing.assert_array_equal(times, np.arange(6.0))
        # Replication 1 recorded nothing, so the rows are replications 0 and 2.
        order = [traces[0]["share"].groups.index(g) for g in groups]
        np.testing.assert_allclose(values[0], traces[0]["share"].values[:, order], rtol=1e-9)
        np.testing.assert_allclose(values[1, :4], traces[2]["share"].values[:, order], rtol=1e-9)
        assert np.isnan(values[1, 4:]).all()  # replication 2 stopped after t=3
        times, groups, values = got["total"]
        assert groups == [""]
        np.testing.assert_array_equal(times, np.arange(6.0) * 0.5)
        assert np.isnan(values[0, 2, 0]) and np.isnan(values[1, 2, 0])  # recorded NaNs
        np.testing.assert_allclose(values[0, :, 0], traces[0]["total"].values[:, 0], rtol=1e-9)
    # Equal lengths: the same arrays as the pivot of the long frame.
    even = [_trace(seed, 5) for seed in (1, 2)]
    write_parquet(iter(even), tmp_path / "metrics.parquet")
    got, frame = read_metric_arrays(tmp_path), _old_frame(even)
    for metric in ("share", "total"):
        expected = band_arrays(frame, metric)
        assert got[metric][1] == expected[1]
        np.testing.assert_array_equal(got[metric][0], expected[0])
        np.testing.assert_array_equal(got[metric][2], expected[2])


def test_a_read_back_event_log_is_decoded_on_use_and_stored_as_it_came():
    import pickle

    from feedbacksim.core.trace import EventLog, Trace

    recorder = Recorder()
    recorder.declare("share", ("0",))
    recorder.record("share", 0.0, 0.5)
    recorder.event(1.0, "retrain", "agent", "n=10")
    recorder.event(2.5, "stopped", "runaway", "")
    trace = recorder.trace()
    arrays = trace.to_arrays()
    back = Trace.from_arrays(arrays)
    assert isinstance(back.events, EventLog) and back.events._events is None  # not decoded
    assert back == trace and back.events == trace.events == list(back.events)
    assert back.events_of("retrain") == [(1.0, "retrain", "agent", "n=10")]
    assert back.events[-1] == (2.5, "stopped", "runaway", "") and len(back.events) == 2
    # Stored again, the log is the JSON it came as; pickled (to and from workers), the same.
    again = Trace.from_arrays(Trace.from_arrays(arrays).to_arrays())
    assert str(again.to_arrays()["__events__"]) == str(arrays["__events__"])
    assert pickle.loads(pickle.dumps(back)) == trace
    back.events[0]  # decoded: pickled, it still carries its JSON alone
    assert pickle.loads(pickle.dumps(back.events)).encoded == back.events.encoded
    assert len(pickle.dumps(back.events)) < len(back.events.encoded) + 100
    assert Trace.from_arrays(arrays, events=False).events == []
