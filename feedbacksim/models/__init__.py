"""Built-in models (scikit-learn estimators, registered as components)."""

from feedbacksim.models.incident_count import IncidentCountModel

__all__ = ["IncidentCountModel"]
