"""Every shipped scenario validates and, run small, gives the verdict its world's claim implies.

The table maps each file in ``scenarios/`` to its expected exit code (1: an analyzer
fails, 0: pass, 3: too few replications to decide) and the overrides that keep the run
cheap. Each run uses the scenario's own seed. Scales are chosen so that the verdict is far from its rule's edge:

* runaway / invariant / retrain_health / convergence scenarios whose failure happens in
  every replication (demand, retention, pricing_learned, recommender,
  strategic_classification, lending, performative with eps 1.2) need one or two
  replications; the passing twins were measured at 0 failing replications of 10-20.
  data_feedback runs away in 10 of 12 replications (tolerance a fifth of delta); with the
  scenario's seed replications 1 and 2 do not, 0 (distance 0.030 against 0.026) and 3
  (0.056) do, so it runs 4.
* ``fail_if: "lower>x"`` rules need enough replications for the Wilson interval: bandit
  (34% of greedy players lock in) with 40 replications has an expected 14 failures, a lower
  bound near 0.21 > 0.1. Its mitigated twin runs as shipped (100 replications of 1,000
  rounds): exploring players still dwell on the worse arm for a while, and the runaway
  test sees 12/100 of them (Wilson lower bound 0.07 < 0.1); at a shorter horizon the rate
  is higher (about 19% at 300 rounds), too close to the rule's edge. Model collapse (variance below a quarter for 10 generations: 88-91%) with 30
  replications: lower bound near 0.7 > 0.5; mitigated (0-0.4%): 0-1 failures.
* policing's ``any`` rule: the uncorrected loop runs away in 86% of replications, so 4
  replications all miss with probability 0.14^4 = 0.0004 (and the seed is fixed); the
  corrected one runs away in 0/200.

A file added to ``scenarios/`` without a row here fails the test until its expected
verdict is written down.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feedbacksim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))

FAIL, PASS, NO_VERDICT = 1, 0, 3

# file -> (expected exit code, replications, overrides)
EXPECTED: dict[str, tuple[int, int, dict[str, object]]] = {
    # Missed incidents above the bound in 82% of greedy replications, 26% under
    # proportional allocation (50 each, docs/worlds.md). With 6 replications the rule
    # (more than half, i.e. 4 or more) catches greedy with probability 0.92 and wrongly
    # fails proportional with probability 0.04; the seed is fixed.
    # fail_if 0.5 is two-sided: 6 replications cannot decide it (5/6 and 1/6 fail, 95%
    # intervals 44-97% and 3-56% straddle 0.5), so the verdict is inconclusive. As shipped
    # (50 replications, about 2-3 minutes each on 2 busy cores) it is FAIL, 41/50 (69-90%),
    # and PASS for the mitigated design (measured).
    "attention_dynamic.yaml": (NO_VERDICT, 6, {}),
    "attention_dynamic_mitigated.yaml": (NO_VERDICT, 6, {}),
    "bandit.yaml": (FAIL, 40, {"horizon": 300}),
    "bandit_mitigated.yaml": (PASS, 100, {}),
    "data_feedback.yaml": (FAIL, 4, {}),
    "data_feedback_mitigated.yaml": (PASS, 1, {}),
    "demand.yaml": (FAIL, 2, {}),
    "demand_mitigated.yaml": (PASS, 2, {}),
    "credit_table.yaml": (FAIL, 1, {"horizon": 150}),
    "lending.yaml": (FAIL, 1, {"horizon": 120}),
    # Demographic parity harms the Black group in every replication; equal opportunity does not.
    "lending_fico.yaml": (FAIL, 1, {"horizon": 120}),
    "lending_fico_mitigated.yaml": (PASS, 2, {"horizon": 120}),
    # 5% random approvals shrink the training-set bias but do not remove it (docs/worlds.md).
    "lending_mitigated.yaml": (FAIL, 1, {"horizon": 120}),
    "model_collapse.yaml": (FAIL, 30, {}),
    # Alarm-triggered retraining recovers by day 170; the 60-day schedule does not.
    "monitoring.yaml": (PASS, 1, {"horizon": 200}),
    "monitoring_scheduled.yaml": (FAIL, 1, {"horizon": 200}),
    "model_collapse_mitigated.yaml": (PASS, 30, {}),
    "performative.yaml": (PASS, 2, {}),
    "predictive_policing.yaml": (FAIL, 4, {}),
    "predictive_policing_corrected.yaml": (PASS, 4, {}),
    "pricing.yaml": (FAIL, 1, {}),
    "pricing_mitigated.yaml": (PASS, 1, {}),
    "pricing_learned.yaml": (FAIL, 2, {}),
    "pricing_learned_mitigated.yaml": (PASS, 2, {}),
    "recommender.yaml": (FAIL, 1, {}),
    "recommender_mitigated.yaml": (PASS, 1, {}),
    "retention.yaml": (FAIL, 1, {}),
    "retention_mitigated.yaml": (PASS, 1, {}),
    "strategic_classification.yaml": (FAIL, 2, {}),
}


def _sets(overrides: dict[str, object]) -> list[str]:
    args = []
    for key, value in overrides.items():
        args += ["--set", f"{key}={value}"]
    return args


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenario_validates_and_has_an_expected_verdict(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    assert path.name in EXPECTED, f"add {path.name} and its expected verdict to EXPECTED"


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenario_gives_its_verdict(path, tmp_path, capsys):
    if path.name not in EXPECTED:
        pytest.fail(f"add {path.name} and its expected verdict to EXPECTED")
    code, replications, overrides = EXPECTED[path.name]
    args = ["run", str(path), "--executor", "serial", "--quiet", "--out", str(tmp_path / "run")]
    args += ["--replications", str(replications), *_sets(overrides)]
    assert main(args) == code, capsys.readouterr().out


@pytest.mark.slow
def test_performative_divergence_fails(tmp_path, capsys):
    """eps = 1.2: theta moves away from the stable point, the settling invariant fails."""
    path = ROOT / "scenarios" / "performative.yaml"
    args = ["run", str(path), "--executor", "serial", "--quiet", "--out", str(tmp_path / "run")]
    args += ["--replications", "1", "--set", "environment.params.eps=1.2"]
    assert main(args) == FAIL, capsys.readouterr().out
