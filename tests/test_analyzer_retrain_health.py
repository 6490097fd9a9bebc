"""Retrain health on synthetic traces: skipped retrains, lost class, starved group; healthy noise passes."""

from __future__ import annotations

import numpy as np
from synthetic import retrain_events, series, trace

from feedbacksim.analyzers import RetrainHealthAnalyzer

N_NULL = 200


def training_trace(positive, share_b, skipped=()):
    times = np.arange(len(positive), dtype=float)
    share_b = np.asarray(share_b, dtype=float)
    events = retrain_events("lender", times) + [
        (float(t), "retrain_skipped", "lender", "one class in training labels (5 rows, all 0)")
        for t in skipped
    ]
    return trace(
        series("train_rows", np.full(len(times), 3000.0), ["lender"]),
        series("train_positive_rate", positive, ["lender"]),
        series(
            "train_group_share", np.column_stack([1 - share_b, share_b]), ["lender:0", "lender:1"]
        ),
        events=sorted(events),
    )


def by_metric(findings):
    return {(f.metric, f.group): f for f in findings}


def test_starved_group_is_detected_when_it_falls_below_the_floor():
    share_b = np.linspace(0.4, 0.0, 21)  # 0.02 per retrain: below 0.05 from retrain 18
    found = by_metric(RetrainHealthAnalyzer().analyze(training_trace(np.full(21, 0.4), share_b)))
    starved = found[("train_group_share", "lender:1")]
    assert starved.failed and starved.first_detected_at == 18.0
    assert starved.statistic == 0.0
    assert not found[("train_group_share", "lender:0")].failed
    assert not found[("train_positive_rate", "lender")].failed
    assert not found[("retrain_skipped", "lender")].failed


def test_class_collapse_and_skipped_retrains():
    positive = np.full(10, 0.3)
    positive[6:] = 0.0
    found = by_metric(
        RetrainHealthAnalyzer().analyze(
            training_trace(positive, np.full(10, 0.4), skipped=[7, 8, 9])
        )
    )
    balance = found[("train_positive_rate", "lender")]
    assert balance.failed and balance.first_detected_at == 6.0
    skipped = found[("retrain_skipped", "lender")]
    assert skipped.failed and skipped.first_detected_at == 7.0
    assert skipped.statistic == 3 / 13
    assert skipped.evidence["reasons"] == {"one class in training labels (5 rows, all 0)": 3}


def test_no_false_alarms_on_healthy_training_data():
    """200 series of 30 retrains with binomial noise on 3,000-row windows around a 30%
    positive share and a 10% group share (SD 0.55%, so the 5% floor is 9 SDs away):
    measured 0/200."""
    rng = np.random.default_rng(0)
    analyzer = RetrainHealthAnalyzer()
    alarms = 0
    for _ in range(N_NULL):
        positive = rng.binomial(3000, 0.3, 30) / 3000
        share_b = rng.binomial(3000, 0.1, 30) / 3000
        alarms += any(f.failed for f in analyzer.analyze(training_trace(positive, share_b)))
    assert alarms / N_NULL <= 0.05
