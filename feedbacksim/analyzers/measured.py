"""Names of the ground-truth measurements taken at each retrain, shared by analyzers and the runner.

An analyzer asks for measurements by name (``retrain_measures``) and reads the metrics they
record; the run layer (``feedbacksim.run.measures``) takes them. Both read these names.
"""

from __future__ import annotations

from feedbacksim.core.quality import QUALITY_METRICS

MEASURES = ("quality", "drift", "training", "parameters")
NEEDS_POPULATION = frozenset({"quality", "drift"})
QUALITY_PREFIX = "true_"
DRIFT_METRICS = ("drift_psi", "drift_ks", "drift_wasserstein")

#: The metric names each measurement records (``parameters``: ``model_params:<agent>``).
MEASURED_METRICS: dict[str, frozenset[str]] = {
    "quality": frozenset(f"{QUALITY_PREFIX}{m}" for m in QUALITY_METRICS),
    "drift": frozenset(DRIFT_METRICS),
    "training": frozenset({"train_rows", "train_positive_rate", "train_group_share"}),
    "parameters": frozenset(),
}
PARAMS_PREFIX = "model_params:"

#: Every metric name the monitor may record (``model_params:<agent>`` aside).
RECORDED_METRICS = frozenset().union(*MEASURED_METRICS.values())


def params_metric(agent: str) -> str:
    """Name of the metric holding ``agent``'s model parameters at each of its retrains."""
    return f"{PARAMS_PREFIX}{agent}"
