"""Properties every built-in world keeps, checked with the project's own toolkit.

Every ``scenarios/*.yaml`` file is covered (a world added later is checked without a
change here), each run scaled down to ``HORIZON`` time units and one or two replications:

* every recorded metric is finite;
* a metric named ``*_share`` lies in [0, 1] and, over a metric's groups, sums to 1;
* conservation laws of the worlds that have them (``CONSERVATION``, ``NEVER_EXCEEDS``);
* determinism: for hypothesis-chosen seeds, the same seed gives an identical frame;
* robustness: for any ``environment.params`` the world's declaration allows, the scenario
  either loads and runs without an exception, or is refused at load with a ScenarioError.

Budget: the examples per property shrink as worlds are added (``EXAMPLES``), so that the
whole module stays within three minutes in CI; ``FEEDBACKSIM_MAX_EXAMPLES`` raises it for
a nightly run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import feedbacksim
from feedbacksim import ScenarioError
from feedbacksim.core.trace import Trace
from feedbacksim.testing import ci_settings, environment_params

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
# The tabular world fits the team's own Pipeline at every retrain (gradient boosting on the
# credit table costs seconds a replication); its laws are tested in test_world_tabular.py,
# and here it would spend this module's whole budget.
FILES = [
    path
    for path in sorted(SCENARIOS.glob("*.yaml"))
    if feedbacksim.load(path).spec.environment.kind != "tabular"
]
HORIZON = 30
# About 600 runs per property in total, between 10 and 40 per scenario file.
EXAMPLES = int(
    os.environ.get("FEEDBACKSIM_MAX_EXAMPLES") or min(40, max(10, 600 // max(len(FILES), 1)))
)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
# Floating-point slack for shares that are normalized allocations (a sum of K floats).
SHARE_TOLERANCE = 1e-9

pytestmark = pytest.mark.slow


@cache
def small(path: Path) -> feedbacksim.Scenario:
    """The scenario at ``path`` with a short horizon."""
    return feedbacksim.load(path).with_overrides({"horizon": HORIZON})


def check_policing(scenario: feedbacksim.Scenario, trace: Trace) -> None:
    """Patrols sent equal patrols available; incidents are discovered only where patrols went."""
    available = scenario.spec.environment.params.get("patrols_per_day", 1)
    patrols = trace["patrols"].values
    assert np.all(patrols >= 0)
    assert np.all(patrols.sum(axis=1) == available)
    discovered = trace["discovered"].values
    assert np.all(discovered[patrols == 0] == 0)
    assert np.all(discovered >= 0) and np.all(trace["missed"].values >= 0)


# Conservation laws by world kind.
CONSERVATION: dict[str, Callable[[feedbacksim.Scenario, Trace], None]] = {
    "policing": check_policing,
}
# Count metrics bounded by another, checked wherever a world records both.
NEVER_EXCEEDS = [("approved", "applicants"), ("approvals", "applicants")]


def check_trace(scenario: feedbacksim.Scenario, trace: Trace) -> None:
    """Finite metrics, valid shares and the world's conservation laws."""
    for name, series in trace.metrics.items():
        values = series.values
        assert np.all(np.isfinite(values)), f"{name} has non-finite values"
        if name.endswith("_share") and values.size:
            assert np.all((values >= 0) & (values <= 1)), f"{name} leaves [0, 1]"
            if values.shape[1] > 1:
                sums = values.sum(axis=1)
                assert np.allclose(sums, 1.0, rtol=0, atol=SHARE_TOLERANCE), (
                    f"{name} sums to {sums.min()}..{sums.max()} over its groups, not 1"
                )
    for part, whole in NEVER_EXCEEDS:
        if part in trace and whole in trace:
            assert np.all(trace[part].values <= trace[whole].values), f"{part} > {whole}"
    law = CONSERVATION.get(scenario.spec.environment.kind)
    if law is not None:
        law(scenario, trace)


def test_every_world_is_covered():
    """The glob finds the shipped scenarios, and the policing world's laws are checked."""
    assert {p.name for p in FILES} >= {
        "predictive_policing.yaml",
        "predictive_policing_corrected.yaml",
    }


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@ci_settings(max_examples=EXAMPLES)
@given(seed=SEEDS)
def test_metrics_finite_shares_valid_and_conserved(path, seed):
    scenario = small(path)
    results = scenario.run(replications=1, seed=seed)
    check_trace(scenario, results.trace(0))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@ci_settings(max_examples=EXAMPLES // 2)
@given(seed=SEEDS)
def test_same_seed_gives_identical_frame(path, seed):
    scenario = small(path)
    first = scenario.run(replications=2, seed=seed).to_frame()
    second = scenario.run(replications=2, seed=seed).to_frame()
    pd.testing.assert_frame_equal(first, second, check_exact=True)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@ci_settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_any_declared_environment_params_run_or_are_refused_at_load(path, data):
    base = small(path)
    params = data.draw(environment_params(base), label="environment.params")
    try:
        scenario = base.with_overrides({"environment.params": params})
    except ScenarioError:
        event("refused at load")
        return  # a cross-parameter check refused the combination at load: the contract
    event("ran")
    seed = data.draw(SEEDS, label="seed")
    results = scenario.run(replications=1, seed=seed)
    check_trace(scenario, results.trace(0))
