"""Gate a lending design in CI over its exploration rate and the delay of repayment labels.

A lender approves applicants whose score clears a threshold and, with probability
``epsilon``, approves others at random so that its next model still sees how they repay.
Repayment labels arrive ``label_delay`` days after approval. The team ships a design only
if, for every exploration rate it may configure and every label delay it may face, no
analyzer of the scenario fails: hypothesis searches that space, and on failure shrinks to
the simplest setting that fails and prints the ``feedbacksim run`` command for it.

The design is ``scenarios/lending.yaml`` (``LENDING_DESIGN`` points at another file).

Run from the repository root, scaled for CI::

    pytest -p feedbacksim.testing.plugin examples/ci/test_lending_design.py \
        --feedbacksim-horizon 200 --feedbacksim-replications 4
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given

import feedbacksim
from feedbacksim.testing import assert_verdict, ci_settings, scenario_params

ROOT = Path(__file__).resolve().parents[2]
DESIGN = Path(os.environ.get("LENDING_DESIGN", ROOT / "scenarios" / "lending.yaml"))
if not DESIGN.is_file():
    pytest.skip(
        f"the lending design {DESIGN} is not in this checkout (no lending world yet)",
        allow_module_level=True,
    )

base = feedbacksim.load(DESIGN)
lender = base.spec.agents[0].name

# Exploration the team may configure (5% to 20% random approvals) and label delays it may
# face (repayment known from the same day to two months later).
design_space = scenario_params(
    base,
    {
        f"agents.{lender}.policy.epsilon": (0.05, 0.2),
        "environment.params.label_delay": (0, 60),
    },
)


@ci_settings()
@given(params=design_space)
def test_lending_design_passes(params, run_scenario):
    results = run_scenario(base.with_overrides(params), replications=4)
    assert_verdict(results, "pass")
