"""Figures checked for what they show: legend off the data, events readable, groups, labels.

Positions are compared in display coordinates after a draw (matplotlib's window extents),
so a legend that moves back onto the data or a group that stops being drawn fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import feedbacksim
from feedbacksim.report.comparison import comparison_plot
from feedbacksim.report.figures import EVENT_BINS, metric_bands
from feedbacksim.report.labels import axis_label, metric_label, parameter_description
from feedbacksim.report.phase import phase_plot
from feedbacksim.report.style import DPI, figure_style, save
from feedbacksim.run.compare import compare
from feedbacksim.run.sweep import run_sweep

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
POLICING = SCENARIOS / "predictive_policing.yaml"
CORRECTED = SCENARIOS / "predictive_policing_corrected.yaml"


def _frame(times: int = 2000, replications: int = 5) -> pd.DataFrame:
    """Two groups whose median sits near the top and the bottom of the axes all along."""
    rng = np.random.default_rng(0)
    rows = []
    for r in range(replications):
        share = np.clip(0.9 + 0.02 * rng.standard_normal(times), 0, 1)
        for t in range(times):
            rows.append((r, float(t), "patrol_share", "0", share[t]))
            rows.append((r, float(t), "patrol_share", "1", 1 - share[t]))
    return pd.DataFrame(rows, columns=["replication", "time", "metric", "group", "value"])


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> pd.DataFrame:
    """The long frame, also written as a run directory's metrics.parquet (``attrs``)."""
    frame = _frame()
    directory = tmp_path_factory.mktemp("run")
    frame.to_parquet(directory / "metrics.parquet", index=False)
    frame.attrs["directory"] = str(directory)
    return frame


def _draw(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _legend(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1
    return legends[0]


def test_legend_does_not_overlap_the_median_lines(frame):
    events = pd.DataFrame(
        {"time": np.arange(1.0, 2000.0), "kind": "retrain", "source": "a", "detail": ""}
    )
    with figure_style():
        fig = metric_bands(frame, "patrol_share", events=events, detections=[("runaway", 950.0)])
    renderer = _draw(fig)
    box = _legend(fig).get_window_extent(renderer)
    ax = fig.axes[0]
    medians = [line for line in ax.get_lines() if "median," in str(line.get_label())]
    assert len(medians) == 2  # one per group
    for line in medians:
        xy = ax.transData.transform(line.get_xydata())
        inside = (
            (xy[:, 0] >= box.x0)
            & (xy[:, 0] <= box.x1)
            & (xy[:, 1] >= box.y0)
            & (xy[:, 1] <= box.y1)
        )
        assert not inside.any(), f"legend covers {inside.sum()} points of {line.get_label()}"
    # Nor does it overlap the axes that hold the data at all.
    assert not box.overlaps(ax.get_window_extent(renderer))


@pytest.mark.parametrize("as_tuples", [False, True])
def test_many_retrains_become_counts_in_their_own_strip(frame, as_tuples):
    events = pd.DataFrame(
        {"time": np.arange(1.0, 2000.0), "kind": "retrain", "source": "a", "detail": ""}
    )
    if as_tuples:  # what a run's report passes: the stored trace's event log, no frames
        from feedbacksim.core.trace import EventLog
        from feedbacksim.run.exports import read_metric_arrays

        events = EventLog.shared(list(events.itertuples(index=False, name=None)))
        directory = Path(frame.attrs["directory"])
        frame = read_metric_arrays(directory)
    with figure_style():
        fig = metric_bands(frame, "patrol_share", events=events)
    main, strip = fig.axes
    assert main.get_position().y0 > strip.get_position().y1 - 1e-9  # the strip is below
    bars = strip.patches
    assert len(bars) == EVENT_BINS
    heights = np.array([b.get_height() for b in bars])
    # 1,999 daily retrains in 50 bins of 39.98 days: every full bin holds 39 or 40.
    assert heights.max() == pytest.approx(0.8) and heights.min() > 0.7
    assert not main.collections[2:]  # no event line was drawn on the data
    labels = _legend(fig).get_texts()
    assert any("retrains in replication 0: 1999" in t.get_text() for t in labels)


def test_few_retrains_are_one_tick_each(frame):
    events = pd.DataFrame(
        {
            "time": [100.0, 600.0, 1200.0, 1300.0],
            "kind": ["retrain", "retrain", "retrain", "retrain_skipped"],
            "source": "a",
            "detail": "",
        }
    )
    with figure_style():
        fig = metric_bands(frame, "patrol_share", events=events)
    strip = fig.axes[1]
    segments = [c.get_segments() for c in strip.collections]
    xs = sorted(float(seg[0][0]) for group in segments for seg in group)
    assert xs == [100.0, 600.0, 1200.0, 1300.0]


def test_detection_time_is_marked_where_it_is(frame):
    with figure_style():
        fig = metric_bands(frame, "patrol_share", detections=[("runaway", 319.0)])
    ax = fig.axes[0]
    marks = [line for line in ax.get_lines() if "first detection" in str(line.get_label())]
    assert len(marks) == 1
    assert set(np.asarray(marks[0].get_xdata(), dtype=float)) == {319.0}
    assert "t=319" in marks[0].get_label()


def test_saved_size_fits_a_column_at_150_dpi_or_more(frame, tmp_path):
    with figure_style():
        fig = metric_bands(frame, "patrol_share")
        save(fig, tmp_path / "f.png")
    from matplotlib.image import imread

    height, width = imread(tmp_path / "f.png").shape[:2]
    assert DPI >= 150
    # 6.5 in at 160 dpi is 1,040 px; tight bounding boxes trim or add a little.
    assert 900 <= width <= 1150, width
    assert 500 <= height <= 900, height


def test_axis_labels_carry_units_and_descriptions():
    scenario = feedbacksim.load(POLICING).to_dict()
    assert metric_label(scenario, "patrol_share") == "patrol share (probability)"
    assert parameter_description(scenario, "environment.params.incident_rates").startswith(
        "incident_rates: true daily incident rate of each region"
    )
    assert parameter_description(scenario, "agents.dispatcher.policy.epsilon") == (
        "epsilon: exploration share, the weight of the uniform allocation mixed in"
    )
    assert axis_label(scenario, ("horizon",)) == "horizon"  # not a component parameter


@pytest.fixture(scope="module")
def comparison():
    a = feedbacksim.load(POLICING).with_overrides({"horizon": 200})
    b = feedbacksim.load(CORRECTED).with_overrides({"horizon": 200})
    return compare(a, b, replications=4, seed=3)


def test_comparison_draws_every_group_references_and_zero_bars(comparison):
    fig = comparison_plot(comparison)
    _draw(fig)
    bars, *groups = fig.axes
    assert len(groups) == len(comparison.differences) == 2
    for panel, d in zip(groups, comparison.differences, strict=True):
        labels = [str(line.get_label()) for line in panel.get_lines()]
        assert labels == ["A median, 10-90% band", "B median, 10-90% band", "true_incident_share"]
        assert f"[{d.group}]" in panel.get_title()
    assert groups[-1].get_xlabel() == "time (days)"
    # The corrected dispatcher fails in no replication: its bar is 0 and still drawn.
    (row,) = comparison.analyzers
    assert row.fraction_b == 0
    stubs = [c for c in bars.collections if c.get_segments()]
    ys = sorted(
        float(seg[0][1]) for c in stubs for seg in c.get_segments() if seg[0][1] == seg[1][1]
    )
    assert 0.0 in ys
    assert "0%" in [t.get_text() for t in bars.texts]


def test_comparison_title_interval_is_rounded(comparison):
    fig = comparison_plot(comparison)
    for panel in fig.axes[1:]:
        numbers = [
            w
            for w in panel.get_title().replace("(", " ").replace(")", " ").split()
            if w[0] in "+-" and w[1:2].isdigit()
        ]
        assert numbers and all(
            len(n.lstrip("+-").replace(".", "").lstrip("0")) <= 2 for n in numbers
        )


def test_phase_diagram_labels_and_intervals():
    scenario = feedbacksim.load(POLICING).with_overrides({"horizon": 60})
    sweep = run_sweep(scenario, replications=2, seed=1)
    fig = phase_plot(sweep)
    _draw(fig)
    ax = fig.axes[0]
    assert "true daily incident rate" in ax.get_ylabel()
    assert ax.get_xlabel().startswith("epsilon: exploration share")
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 16
    # Every cell shows its fraction and its Wilson interval for 2 replications.
    assert all("\n(" in c and c.endswith("%)") for c in cells)
