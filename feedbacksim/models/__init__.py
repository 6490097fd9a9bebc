"""Built-in models (scikit-learn estimators, registered as components)."""

from feedbacksim.models.incident_count import IncidentCountModel
from feedbacksim.models.recommenders import (
    ContentFilteringRecommender,
    PopularityRecommender,
    RandomRecommender,
)

__all__ = [
    "ContentFilteringRecommender",
    "IncidentCountModel",
    "PopularityRecommender",
    "RandomRecommender",
]
