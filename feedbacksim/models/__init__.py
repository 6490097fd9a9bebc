"""Built-in models (scikit-learn estimators, registered as components)."""

from feedbacksim.models.incident_count import IncidentCountModel
from feedbacksim.models.incident_rate import IncidentRateModel
from feedbacksim.models.linear_erm import LinearERM

__all__ = ["IncidentCountModel", "IncidentRateModel", "LinearERM"]
