"""Strategic classification: applicants game a deployed credit model (Hardt et al. 2016).

A fixed pool of applicants with standardized credit features z ~ N(0, I) re-applies each
round. Whether an applicant repays depends on its *true* features only:
P(repay) = sigmoid(true_coef . z + true_intercept). The lender deploys a linear classifier
(L2-regularized logistic regression) and approves when its score reaches the threshold of
its policy, i.e. when w . x + b >= logit(threshold).

Applicants know the deployed model and best-respond (Hardt et al. 2016; Milli et al. 2019):
a rejected applicant may move its *strategic* features S (the ones that can be changed
without changing creditworthiness) along the model's gradient restricted to S, the
cheapest direction to raise the score. The distance that flips the decision is

    delta_i = (logit(threshold) - w . z_i - b) / ||w_S||,

and the move costs c_i * delta_i^2, with c_i = cost_scale * exp(cost_spread * N(0, 1))
different for every applicant. Applicant i moves to the decision boundary iff its
decision is a rejection and c_i * delta_i^2 < benefit; everyone else stays. The lender
observes every applicant's (possibly gamed) features and true outcome and retrains on the
latest round.

The response is not a common shift (which an intercept would absorb after one retrain): only
rejected applicants within reach of the boundary move, each by its own distance, and they
pile up on the boundary with the repayment odds of their true features. The retrained model
therefore lowers the weight of the strategic features, which changes who can reach the
boundary next round. With costly gaming (large ``cost_scale``) this map contracts and
repeated retraining settles at a stable model; with cheap gaming the strategic weights
overshoot and the model alternates between two states (a period-2 oscillation). Both
settings are documented in ``docs/worlds.md`` and tested.

Open loop: applicants do not respond to the model.

References: Hardt, Megiddo, Papadimitriou, Wootters, "Strategic Classification", ITCS 2016;
Milli, Miller, Dragan, Hardt, "The Social Cost of Strategic Classification", FAT* 2019;
Perdomo et al., "Performative Prediction", ICML 2020.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.agent import is_fitted
from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import register

DEFAULT_COEF = [1.0, 1.0, 0.8, 0.5]
DEFAULT_NAMES = ["income", "savings_balance", "open_credit_lines", "years_employed"]
DEFAULT_STRATEGIC = [1, 2]
# Applicants land this far (in logit units) past the boundary, so rounding cannot undo a flip.
BOUNDARY_MARGIN = 1e-6


def best_response(
    features: np.ndarray,
    coef: np.ndarray,
    intercept: float,
    boundary: float,
    strategic: np.ndarray,
    cost: np.ndarray,
    benefit: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Features after every applicant's best response to the linear score ``coef . x + intercept``.

    Returns ``(moved_features, moved)``: applicant i moves its ``strategic`` features along
    the score's gradient restricted to them, just far enough to reach ``boundary``, iff it
    is below the boundary and ``cost[i] * distance^2 < benefit``.
    """
    direction = np.zeros_like(coef)
    direction[strategic] = coef[strategic]
    norm = float(np.linalg.norm(direction))
    if norm == 0.0:
        return features, np.zeros(features.shape[0], dtype=bool)
    gap = boundary + BOUNDARY_MARGIN - (features @ coef + intercept)
    distance = np.maximum(gap, 0.0) / norm
    moved = (gap > 0) & (cost * distance**2 < benefit)
    shift = np.where(moved, distance, 0.0)
    return features + shift[:, None] * (direction / norm), moved


@register("environment", "strategic_classification")
class StrategicClassificationWorld(Environment):
    """Applicants best-respond to a deployed linear credit model; the lender retrains on them.

    Args:
        applicants: size of the applicant pool (the same applicants every round).
        feature_names: names of the standardized credit features.
        true_coef: coefficients of the true repayment log-odds on the true features.
        true_intercept: intercept of the true repayment log-odds.
        strategic: indices of the features applicants can game.
        cost_scale: median cost per squared unit of movement.
        cost_spread: standard deviation of the log-cost across applicants.
        benefit: value of an approval to an applicant (same units as the cost).
        agent: the lender's name (default: the scenario's only agent).
    """

    time_unit = "rounds"
    metrics = {
        "coef": "the deployed model's coefficients, one group per feature plus 'intercept'",
        "model_step": "Euclidean distance between successive deployed (coef, intercept), per retrain",
        "approval_rate": "share of the pool approved this round",
        "gaming_rate": "share of the pool that moved its strategic features this round",
        "approved_default_rate": "true default probability averaged over approved applicants",
    }
    model_needs = "classifier"

    def __init__(
        self,
        applicants: Annotated[int, Field(ge=10)] = 10_000,
        feature_names: list[str] | None = None,
        true_coef: Annotated[list[float], Field(min_length=1)] | None = None,
        true_intercept: float = -0.5,
        strategic: Annotated[list[int], Field(min_length=1)] | None = None,
        cost_scale: Annotated[float, Field(gt=0)] = 1.0,
        cost_spread: Annotated[float, Field(ge=0)] = 0.5,
        benefit: Annotated[float, Field(gt=0)] = 1.0,
        agent: str | None = None,
    ) -> None:
        self.applicants = applicants
        self.true_coef = true_coef or DEFAULT_COEF
        self.feature_names = feature_names or (
            DEFAULT_NAMES
            if len(self.true_coef) == len(DEFAULT_NAMES)
            else [f"x{i}" for i in range(len(self.true_coef))]
        )
        self.true_intercept = true_intercept
        self.strategic = DEFAULT_STRATEGIC if strategic is None else strategic
        self.cost_scale = cost_scale
        self.cost_spread = cost_spread
        self.benefit = benefit
        self.agent = agent

    @classmethod
    def check_params(cls, params: dict) -> None:
        d = len(params.get("true_coef") or DEFAULT_COEF)
        names = params.get("feature_names")
        if names is not None and len(names) != d:
            raise ValueError(f"feature_names has {len(names)} names but true_coef has {d} values")
        strategic = params.get("strategic") or DEFAULT_STRATEGIC
        if min(strategic) < 0 or max(strategic) >= d or len(set(strategic)) != len(strategic):
            raise ValueError(f"strategic must be distinct feature indices in 0..{d - 1}")

    def start(self) -> None:
        self.lender = self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        threshold = self.lender.threshold
        if threshold is None:
            raise ValueError(
                "strategic_classification needs a threshold policy: applicants respond to the "
                "approval boundary"
            )
        if not 0 < threshold < 1:
            raise ValueError(f"the lender's threshold must be in (0, 1), got {threshold}")
        self._boundary = float(np.log(threshold / (1 - threshold)))
        rng = self.rng
        self._coef = np.asarray(self.true_coef, dtype=float)
        self._strategic = np.asarray(self.strategic, dtype=np.int64)
        self.features, self.labels, _ = self.population_sample(self.applicants, rng)
        self._repay_p = self._repay_probability(self.features)
        self.cost = self.cost_scale * np.exp(
            self.cost_spread * rng.standard_normal(self.applicants)
        )
        self._previous: np.ndarray | None = None
        self._retrains = 0
        self.declare("coef", [*self.feature_names, "intercept"])
        for metric in ("model_step", "approval_rate", "gaming_rate", "approved_default_rate"):
            self.declare(metric)
        self.every(1.0, self.step)

    def _repay_probability(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(features @ self._coef + self.true_intercept)))

    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, None]:
        """``n`` applicants who have not gamed anything, with their repayment outcomes (1 = repaid)."""
        features = rng.standard_normal((n, len(self.true_coef)))
        coef = np.asarray(self.true_coef, dtype=float)
        p = 1.0 / (1.0 + np.exp(-(features @ coef + self.true_intercept)))
        return features, (rng.random(n) < p).astype(float), None

    def _deployed_parameters(self) -> np.ndarray | None:
        """``(coef..., intercept)`` of the model that decides this round, or None before one is fitted."""
        model = self.lender.serving_model()  # applicants face the model that will decide on them
        if not is_fitted(model):
            return None
        if not hasattr(model, "coef_"):
            raise ValueError(
                f"strategic_classification needs a linear model with coef_ and intercept_, "
                f"got {type(model).__name__}"
            )
        return np.append(np.ravel(model.coef_), np.ravel(model.intercept_)[0])

    def step(self) -> None:
        """One round: applicants respond to the deployed model, the lender decides and learns."""
        params = self._deployed_parameters()
        if params is None or self.open_loop:
            shown, moved = self.features, np.zeros(self.applicants, dtype=bool)
        else:
            shown, moved = best_response(
                self.features,
                params[:-1],
                params[-1],
                self._boundary,
                self._strategic,
                self.cost,
                self.benefit,
            )
        approved = self.lender.decide(Batch(shown)).actions > 0
        self.deliver(self.lender, Observations(shown, self.labels))

        if params is None:
            params = np.full(len(self.true_coef) + 1, np.nan)
        elif self._previous is not None and self.lender.version > self._retrains:
            self.record("model_step", float(np.linalg.norm(params - self._previous)))
        self._retrains = self.lender.version
        self._previous = params
        self.record("coef", params)
        self.record("approval_rate", approved.mean())
        self.record("gaming_rate", moved.mean())
        default = 1.0 - self._repay_p[approved].mean() if approved.any() else np.nan
        self.record("approved_default_rate", default)
