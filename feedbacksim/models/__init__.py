"""Built-in models (scikit-learn estimators, registered as components)."""

from feedbacksim.models.beta_bernoulli import BetaBernoulliModel
from feedbacksim.models.censored_poisson import CensoredPoissonModel
from feedbacksim.models.gaussian import GaussianModel
from feedbacksim.models.incident_count import IncidentCountModel
from feedbacksim.models.incident_rate import IncidentRateModel
from feedbacksim.models.linear_erm import LinearERM
from feedbacksim.models.mean import MeanModel
from feedbacksim.models.poisson_demand import PoissonDemandModel
from feedbacksim.models.recommenders import (
    ContentFilteringRecommender,
    PopularityRecommender,
    RandomRecommender,
)
from feedbacksim.models.saved import SavedModel, load_skops

__all__ = [
    "BetaBernoulliModel",
    "CensoredPoissonModel",
    "ContentFilteringRecommender",
    "GaussianModel",
    "IncidentCountModel",
    "IncidentRateModel",
    "LinearERM",
    "MeanModel",
    "PoissonDemandModel",
    "PopularityRecommender",
    "RandomRecommender",
    "SavedModel",
    "load_skops",
]
