"""A selective-labels world: the threshold policy starves group B; retrain_health and degradation fire.

With 10% random exploration the starved group keeps a stream of labels and neither fires.
Measured with seed 11 over the 20 replications run here:

* no exploration: retrain_health 20/20 (group B's share of the training window falls to
  0-1.8%, floor 5%); degradation 19/20 (true AUC drops 0.03-0.19 from the first model's
  0.88, limit 0.05).
* epsilon 0.1: retrain_health 0/20 (B's share stays at 9.6-11.2%, about 9 binomial SDs of a
  3,000-row window above the floor); degradation 0/20 (largest drop 0.020, 2.5 times
  below the limit; the SD of an AUC on 5,000 rows is about 0.006).
"""

from __future__ import annotations

import pytest

from feedbacksim.scenario import Scenario

REPLICATIONS = 20

SCENARIO = {
    "name": "selective-lending",
    "horizon": 150,
    "seed": 11,
    "plugins": ["selective_world"],
    "environment": {"kind": "selective-lending"},
    "agents": [
        {
            "name": "lender",
            "model": {
                "kind": "sklearn.linear_model.LogisticRegression",
                "params": {"solver": "newton-cholesky"},
            },
            "policy": {"kind": "threshold", "threshold": 0.5},
            "retrain": {"every": 5},
            "data": {"window": "sliding", "size": 3000},
            "pretrain": {"samples": 500},
        }
    ],
    "analyzers": [{"kind": "retrain_health"}, {"kind": "degradation"}],
}


def summaries(epsilon: float):
    scenario = Scenario.from_dict(SCENARIO).with_overrides(
        {"agents.lender.policy.epsilon": epsilon}
    )
    results = scenario.run(replications=REPLICATIONS)
    return {s.kind: s for s in results.summaries}, results


@pytest.mark.slow
def test_starved_group_fires_retrain_health_and_degradation():
    found, results = summaries(0.0)
    assert found["retrain_health"].failed and found["degradation"].failed
    assert found["retrain_health"].failed_replications == REPLICATIONS
    assert found["degradation"].failed_replications >= 0.8 * REPLICATIONS
    starved = [f for f in results.findings if f.failed and f.metric == "train_group_share"]
    assert {f.group for f in starved} == {"lender:1"}  # group B, never A
    assert results.verdict == "fail"


@pytest.mark.slow
def test_exploration_keeps_both_quiet():
    found, results = summaries(0.1)
    assert found["retrain_health"].failed_replications == 0
    assert found["degradation"].failed_replications == 0
    assert results.verdict == "pass"
