"""Gate a dispatcher design in CI: its patrols must not run away from the true incident shares.

The design under test is a scenario file: by default the corrected dispatcher
(``scenarios/predictive_policing_corrected.yaml``); set ``POLICING_DESIGN`` to gate another
file, e.g. the uncorrected ``scenarios/predictive_policing.yaml``, which this gate rejects.
The property ranges over the gap between the two regions' true incident rates, from equal
rates to 0.65 against 0.35; on failure, hypothesis shrinks to the smallest gap that shows
the runaway and the report prints the ``feedbacksim run`` command that reproduces it.

Run from the repository root, scaled for CI (300 days, 5 replications per example)::

    FEEDBACKSIM_MAX_EXAMPLES=20 pytest -p feedbacksim.testing.plugin examples/ci \
        --feedbacksim-horizon 300 --feedbacksim-replications 5
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import feedbacksim
from feedbacksim.testing import assert_no_failure, ci_settings, scenario_params

ROOT = Path(__file__).resolve().parents[2]
DESIGN = Path(
    os.environ.get("POLICING_DESIGN", ROOT / "scenarios" / "predictive_policing_corrected.yaml")
)
base = feedbacksim.load(DESIGN)


def rates_with_gap(gap: float) -> list[float]:
    """Two regions' daily incident rates around 0.5, ``gap`` apart (rounded for readability)."""
    return [round(0.5 + gap / 2, 6), round(0.5 - gap / 2, 6)]


design_space = scenario_params(
    base, {"environment.params.incident_rates": st.floats(0.0, 0.3).map(rates_with_gap)}
)


@ci_settings()
@given(params=design_space)
def test_patrols_do_not_run_away(params, run_scenario):
    results = run_scenario(base.with_overrides(params), replications=5)
    assert_no_failure(results, "runaway")
