"""Built-in models (scikit-learn estimators, registered as components)."""

from feedbacksim.models.beta_bernoulli import BetaBernoulliModel
from feedbacksim.models.incident_count import IncidentCountModel

__all__ = ["BetaBernoulliModel", "IncidentCountModel"]
