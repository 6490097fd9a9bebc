"""CPU time of the numpy path of the built-in worlds: policing (incremental, daily) and lending (refit, 10^4 a day).

Run: ``python benchmarks/bench_numpy_path.py``. Best of 3 replications each, CPU time
(``time.process_time``), with the load average. The rows to compare before and after a
change of the core (cases, training data, agent): run it on both versions, alternating.
"""

import os
import time

from feedbacksim.scenario import Scenario

POLICING = {
    "name": "b",
    "horizon": 20_000,
    "environment": {"kind": "policing", "params": {"incident_rates": [0.6, 0.4]}},
    "agents": [
        {
            "name": "d",
            "model": {"kind": "incident-count", "params": {"prior_counts": [1, 1]}},
            "policy": {"kind": "proportional"},
            "retrain": {"every": 1},
        }
    ],
}
LENDING = {
    "name": "l",
    "horizon": 120,
    "environment": {"kind": "lending", "params": {"applicants_per_day": 10000, "label_delay": 30}},
    "agents": [
        {
            "name": "lender",
            "model": {
                "kind": "sklearn.linear_model.LogisticRegression",
                "params": {"solver": "liblinear"},
            },
            "policy": {"kind": "threshold", "threshold": 0.8},
            "pretrain": {"samples": 2000},
            "retrain": {"every": 30},
        }
    ],
}


def cpu(data, repeats=3):
    sc = Scenario.from_dict(data)
    best = float("inf")
    for r in range(repeats):
        sim = sc.build(seed=r)
        t = time.process_time()
        sim.run()
        best = min(best, time.process_time() - t)
    return best


print(f"load {os.getloadavg()[0]:.2f}")
p = cpu(POLICING)
print(f"policing 20,000 days: {p:.3f} s CPU ({p / 20000 * 1e6:.1f} us/day)")
lend = cpu(LENDING)
print(f"lending 10^4/day x 120 days: {lend:.3f} s CPU")
