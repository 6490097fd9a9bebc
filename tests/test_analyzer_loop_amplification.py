"""Loop amplification: synthetic twins with known ratios, and the shipped policing scenarios."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import ar1, series, trace

import feedbacksim
from feedbacksim.analyzers import LoopAmplificationAnalyzer

N_NULL = 200


def share_trace(share0: np.ndarray):
    n = share0.shape[0]
    return trace(
        series("share", np.column_stack([share0, 1 - share0]), ["0", "1"]),
        series("truth", np.tile([0.6, 0.4], (n, 1)), ["0", "1"]),
    )


def analyzer(**kwargs):
    return LoopAmplificationAnalyzer(metric="share", reference="truth", **kwargs)


def test_ratio_of_closed_to_open_distance():
    n = 100
    closed = share_trace(np.full(n, 0.9))  # distance 0.3 in both groups
    opened = share_trace(np.full(n, 0.63))  # distance 0.03
    (finding,) = analyzer().analyze_with_twin(closed, opened)
    assert finding.failed and finding.statistic == pytest.approx(10.0)
    assert finding.evidence["open_loop_distance"] == pytest.approx(0.03)
    (finding,) = analyzer(after=50).analyze_with_twin(closed, closed)
    assert not finding.failed and finding.statistic == pytest.approx(1.0)


def test_without_a_twin_is_an_error():
    with pytest.raises(ValueError, match="open-loop twin"):
        analyzer().analyze_with_twin(share_trace(np.full(10, 0.6)), None)


def test_aggregate_is_a_geometric_mean_with_a_t_interval():
    a = analyzer()
    findings = [
        a.finding(failed=False, metric="share", statistic=r, message="")
        for r in (0.5, 2.0, 1.0, 1.0)
    ]
    estimate = a.aggregate(findings)
    assert estimate["amplification"] == pytest.approx(1.0)
    logs = np.log([0.5, 2.0, 1.0, 1.0])
    half = 3.182446305 * logs.std(ddof=1) / 2.0  # t(0.975, 3) * s / sqrt(4)
    assert estimate["interval"] == pytest.approx([np.exp(-half), np.exp(half)])


def test_false_alarms_when_the_loop_changes_nothing():
    """Closed and open runs drawn from one process (AR(1) phi 0.9, SD 0.05, around the
    reference): their mean distances differ only by noise, so the ratio exceeds the
    default 2 rarely. Measured 0/200 (the limit is 10/200)."""
    rng = np.random.default_rng(0)
    a = analyzer()
    alarms = sum(
        a.analyze_with_twin(
            share_trace(0.6 + ar1(rng, 500, 0.9, 0.05)), share_trace(0.6 + ar1(rng, 500, 0.9, 0.05))
        )[0].failed
        for _ in range(N_NULL)
    )
    assert alarms / N_NULL <= 0.05


AMPLIFICATION = [
    {"kind": "loop_amplification", "metric": "patrol_share", "reference": "true_incident_share"}
]


@pytest.mark.slow
def test_policing_twin_amplification(policing_path, corrected_path):
    """The shipped scenarios (2,000 days), 16 replications each, with their open-loop twins.

    Uncorrected: the patrol share runs away while the open-loop twin, which sees every
    incident, settles at the true share; measured geometric mean 22.2 (95% CI 15.9-31.0;
    per replication 4-56 over 30 replications). Corrected: measured 2.04 (1.61-2.60): the
    loop's bias is gone, what remains is the price of the correction, which discards
    observations (each region's incidents enter at rate min_j q_j * rate_i instead of
    rate_i, with q about 0.4 for the less-patrolled region), so the share's noise is about
    sqrt(1 / 0.4) = 1.6 times the open loop's. Asserted: the uncorrected interval above
    10, the corrected one inside (1, 3.5) and below a third of the uncorrected's lower end.
    """
    uncorrected = feedbacksim.load(policing_path).with_overrides({"analyzers": AMPLIFICATION})
    corrected = feedbacksim.load(corrected_path).with_overrides({"analyzers": AMPLIFICATION})
    loop = uncorrected.run(replications=16, seed=5).summaries[0].estimate
    fixed = corrected.run(replications=16, seed=5).summaries[0].estimate
    assert loop["interval"][0] > 10.0
    assert fixed["interval"][0] > 1.0 and fixed["interval"][1] < 3.5
    assert fixed["interval"][1] < loop["interval"][0] / 3
