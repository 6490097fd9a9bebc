"""The sweep: block: its format and errors, the points, the CLI, and the policing phase diagram."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import feedbacksim
from feedbacksim.cli import main
from feedbacksim.errors import ScenarioError
from feedbacksim.run.sweep import run_sweep
from feedbacksim.scenario.sweep_block import (
    SweepPlan,
    parse_sweep,
    point_scenarios,
    sweep_problems,
)

RATES = "environment.params.incident_rates"
EPSILON = "agents.dispatcher.policy.epsilon"


def test_grid_of_lists_and_spacings_is_the_product_first_axis_slowest():
    plan = parse_sweep(
        {
            "replications": 7,
            "horizon": {"linspace": [100, 300, 3]},
            EPSILON: {"logspace": [-2, -1, 2]},
            "environment.params.reporting_rate": {"geomspace": [0.01, 0.04, 3]},
        }
    )
    assert plan.replications == 7
    assert [a.values for a in plan.axes][0] == ((100.0,), (200.0,), (300.0,))
    assert np.allclose([v[0] for v in plan.axes[1].values], [0.01, 0.1])
    assert np.allclose([v[0] for v in plan.axes[2].values], [0.01, 0.02, 0.04])
    points = plan.points()
    assert len(points) == 3 * 2 * 3
    assert points[0].coords == (0, 0, 0) and points[1].coords == (0, 0, 1)
    assert points[-1].overrides["horizon"] == 300.0


def test_zipped_group_varies_together_and_random_sampling_is_seeded():
    raw = {
        "zip": {f"{RATES}.0": [0.5, 0.6, 0.7], f"{RATES}.1": [0.5, 0.4, 0.3]},
        "random": {
            "n": 50,
            "seed": 3,
            "ranges": {
                EPSILON: [0.0, 0.5],
                "environment.params.reporting_rate": {"loguniform": [0.001, 0.1]},
                "environment.params.patrols_per_day": {"integers": [1, 3]},
            },
        },
    }
    plan = parse_sweep(raw)
    zipped, sampled = plan.axes
    assert zipped.values == ((0.5, 0.5), (0.6, 0.4), (0.7, 0.3))
    assert len(plan.points()) == 3 * 50
    eps, reporting, patrols = (np.array(c) for c in zip(*sampled.values, strict=True))
    assert eps.min() >= 0 and eps.max() <= 0.5
    assert reporting.min() >= 0.001 and reporting.max() <= 0.1
    assert set(patrols.tolist()) == {1, 2, 3}  # both ends included
    assert parse_sweep(raw) == plan  # same seed, same points
    other = parse_sweep({**raw, "random": {**raw["random"], "seed": 4}})
    assert other.axes[1].values != sampled.values


@pytest.mark.parametrize(
    ("raw", "keypath", "text"),
    [
        ({EPSILON: []}, f"sweep.{EPSILON}", "at least one value"),
        ({EPSILON: {"linspace": [0, 1]}}, f"sweep.{EPSILON}.linspace", "[start, stop, count>=1]"),
        ({EPSILON: {"arange": [0, 1, 3]}}, f"sweep.{EPSILON}", "linspace"),
        ({EPSILON: 0.1}, f"sweep.{EPSILON}", "expected a list"),
        ({"zip": {"a": [1, 2], "b": [1]}}, "sweep.zip", "equal lengths"),
        ({"horizon": [1], "zip": {"horizon": [2]}}, "sweep.zip.horizon", "swept twice"),
        (
            {"random": {"n": 3, "ranges": {EPSILON: [0.5, 0.1]}}},
            f"sweep.random.ranges.{EPSILON}",
            "above high",
        ),
        ({"random": {"n": 0, "ranges": {EPSILON: [0, 1]}}}, "sweep.random.n", "count >= 1"),
        ({"random": {"n": 2, "rangs": {}}}, "sweep.random.rangs", "unknown key"),
        ({"replications": 0, "horizon": [1]}, "sweep.replications", "count >= 1"),
    ],
)
def test_invalid_blocks_name_the_key_path(raw, keypath, text):
    problems = sweep_problems(raw)
    assert problems, raw
    assert any(p.keypath == keypath and text in p.message for p in problems), problems


def test_bad_sweep_in_a_file_fails_at_load_with_its_path(policing_path, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {policing_path}\nsweep:\n  {EPSILON}: {{linspace: [0, 1]}}\n")
    with pytest.raises(ScenarioError) as info:
        feedbacksim.load(bad)
    assert f"sweep.{EPSILON}.linspace" in str(info.value)


def test_unknown_path_is_reported_when_points_are_built(policing_path):
    scenario = feedbacksim.load(policing_path)
    plan = parse_sweep({"environment.params.incident_rate": [[0.5, 0.5]]})
    with pytest.raises(ScenarioError) as info:
        point_scenarios(scenario, plan.points())
    assert info.value.problems[0].keypath == "sweep.environment.params.incident_rate"


def test_sweep_without_block_is_an_error(policing_path):
    scenario = feedbacksim.load(policing_path).with_overrides({"sweep": {}})
    with pytest.raises(ScenarioError, match="no sweep"):
        run_sweep(scenario)


def test_every_point_reuses_the_same_seeds(policing_path):
    """Common random numbers: a point whose overrides change nothing equals the base run."""
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 200})
    plan = parse_sweep({EPSILON: [0.0, 0.0, 0.2]})
    sweep = run_sweep(scenario, plan, replications=3, seed=9)
    base = scenario.run(replications=3, seed=9)
    assert sweep.results[0].findings == base.findings == sweep.results[1].findings
    assert sweep.results[2].findings != base.findings


def test_cli_sweep_writes_table_csv_and_phase_diagram(policing_path, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            str(policing_path),
            "--replications",
            "2",
            "--set",
            "horizon=100",
            "--executor",
            "serial",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    frame = pd.read_csv(out / "sweep.csv")
    assert len(frame) == 16 and set(frame["analyzer"]) == {"runaway"}
    assert {"fail_fraction", "lower", "upper", RATES, EPSILON} <= set(frame.columns)
    assert (frame["lower"] <= frame["fail_fraction"]).all()
    assert (frame["fail_fraction"] <= frame["upper"]).all()
    png = (out / "phase_diagram.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert len(json.loads((out / "sweep.json").read_text())["points"]) == 16
    assert "runaway fail fraction" in capsys.readouterr().out


def test_one_axis_draws_a_line_with_bands(policing_path, tmp_path):
    from feedbacksim.report.phase import phase_diagram

    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 100})
    sweep = run_sweep(scenario, parse_sweep({EPSILON: [0.0, 0.3]}), replications=2)
    assert phase_diagram(sweep, tmp_path / "line.png").stat().st_size > 10_000


@pytest.mark.slow
def test_policing_sweep_rises_with_gap_and_falls_with_exploration(policing_path):
    """Three corners of the shipped sweep, on its horizon, with its 30 replications per point.

    Measured on the full sweep (same seeds): at epsilon 0.1 the fail fraction is 15/30 at
    rates (0.5, 0.5) and 25/30 at (0.65, 0.35); at (0.65, 0.35) it is 25/30 at epsilon 0.1
    and 0/30 at epsilon 0.3. With 30 replications the standard error of a difference of
    two fractions is at most sqrt(2 * 0.25 / 30) = 0.13. The gap effect must exceed 0.15
    (a reversed trend, below -0.15, would be 3.7 SE from the measured 0.33) and the
    exploration effect 0.5 (2.5 SE below the measured 0.83).
    """
    scenario = feedbacksim.load(policing_path)
    shipped = parse_sweep(scenario.spec.sweep)
    rates = [v[0] for v in shipped.axes[0].values]
    epsilons = [v[0] for v in shipped.axes[1].values]
    assert shipped.axes[0].paths == (RATES,) and shipped.axes[1].paths == (EPSILON,)
    low_gap, high_gap = rates[0], rates[-1]
    assert high_gap[0] - high_gap[1] > low_gap[0] - low_gap[1]
    plan = SweepPlan(
        (
            type(shipped.axes[0])(
                (RATES, EPSILON),
                ((low_gap, 0.1), (high_gap, 0.1), (high_gap, epsilons[-1])),
                "zip",
            ),
        )
    )
    sweep = run_sweep(scenario, plan, replications=30, seed=7, executor="processes", workers=2)
    low, high, explored = sweep.fail_counts("runaway") / 30
    assert high - low > 0.15, (low, high)
    assert high - explored > 0.5, (high, explored)
