"""Ensign et al. (2018) reproduced on the shipped policing scenarios (fixed seeds, 200 replications).

Margins, measured with these seeds and computed before the assertions were fixed:
* uncorrected, rates (0.6, 0.4): the median final share of region 0 is 0.91; the claim is
  >= 0.85. The final shares are bimodal (most replications near 1, a few not yet away), so
  the median's sampling error with 200 replications is about 0.01.
* equal rates: the limit is Beta(1, 1) = Uniform(0, 1); the KS test must not reject at 1%.
* corrected: the final share has SD 0.018 across replications, so the mean's standard
  error is 0.0013 and the 0.03 tolerance is over 20 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import feedbacksim

REPLICATIONS = 200

pytestmark = pytest.mark.slow


def test_unequal_rates_run_away(policing_path):
    results = feedbacksim.load(policing_path).run(replications=REPLICATIONS, seed=1)
    final = results.final("patrol_share")[:, 0]
    assert np.median(final) >= 0.85
    assert results.verdict == "fail"
    runaway = results.summaries[0]
    assert runaway.kind == "runaway" and runaway.failed
    assert runaway.fail_fraction > 0.5


def test_equal_rates_limit_is_uniform_not_half(policing_path):
    scenario = feedbacksim.load(policing_path).with_overrides(
        {"environment.params.incident_rates": [0.5, 0.5]}
    )
    final = scenario.run(replications=REPLICATIONS, seed=2).final("patrol_share")[:, 0]
    assert stats.kstest(final, "uniform").pvalue > 0.01
    # Not pinned at 0.5: a quarter of replications end beyond 0.25 of it (Uniform: half).
    assert np.mean(np.abs(final - 0.5) > 0.25) > 0.25


def test_correction_tracks_true_rates(corrected_path):
    results = feedbacksim.load(corrected_path).run(replications=REPLICATIONS, seed=3)
    final = results.final("patrol_share")[:, 0]
    assert abs(final.mean() - 0.6) <= 0.03
    assert results.verdict == "pass"
    assert results.summaries[0].failed_replications == 0


def test_poisson_discovery_and_reporting_run(policing_path):
    base = feedbacksim.load(policing_path)
    # The file's sweep block has two regions and is not run here: the base drops it.
    data = {k: v for k, v in base.to_dict().items() if k != "sweep"}
    scenario = (
        type(base)
        .from_dict(data, base.source)
        .with_overrides(
            {
                "horizon": 200,
                "environment.params.discovery": "poisson",
                "environment.params.incident_rates": [2.0, 1.0, 0.5],
                "environment.params.patrols_per_day": 2,
                "environment.params.reporting_rate": 0.2,
                "agents.dispatcher.model.params.prior_counts": [1, 1, 1],
            }
        )
    )
    trace = scenario.run(replications=1, seed=4).trace(0)
    share = trace["patrol_share"].values
    assert share.shape == (200, 3)
    assert np.allclose(share.sum(axis=1), 1.0)
    assert (trace["discovered"].values >= 0).all() and (trace["missed"].values >= 0).all()
