"""Hidden feedback between pricing systems: a repricing war and a learned demand/price loop.

``pricing`` — two sellers reprice against each other once a cycle. In April 2011 two
Amazon sellers of *The Making of a Fly* did exactly this (Eisen, 2011): one priced at
0.9983 times the other's price, the other at 1.270589 times the first's. Each cycle
multiplies both prices by 0.9983 * 1.270589 = 1.268429, and the book reached $23.7M. The
world records the ceiling excess ``log(max price / ceiling)`` floored at 0, so a ceiling
check is a runaway of that metric from 0.

``pricing-demand`` — a demand forecaster and a pricing model that learn from each other's
effects (a cobweb market, Ezekiel 1938). Each period:

1. suppliers deliver stock ``s_t = supply_intercept + supply_slope * p_{t-1}``, responding
   to the last price;
2. the pricing model is retrained on the forecaster's outputs: the forecaster's predicted
   sales at a grid of prices around the last price, as rows ``(forecast sales, price)``,
   so that it learns the inverse demand curve; it then prices the stock:
   ``p_t = pricer(s_t)``, moved only a fraction ``price_smoothing`` of the way from
   ``p_{t-1}`` and floored at 0;
3. buyers buy ``q_t = max(0, demand_intercept - demand_slope * p_t + noise)``, and the
   forecaster retrains on the sales observed at the prices the pricing model set.

With accurate models a deviation from the equilibrium price
``p* = (demand_intercept - supply_intercept) / (demand_slope + supply_slope)`` is
multiplied each period by ``1 - l - l * supply_slope / demand_slope`` (``l`` the
smoothing): without smoothing the pair settles when supply is less price-responsive than
demand (ratio < 1) and runs away in growing oscillations when it is more (ratio > 1).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.agent import AgentView
from feedbacksim.core.cases import Batch, Decision, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.estimator import Regressor
from feedbacksim.core.policies import Policy
from feedbacksim.core.registry import register

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
# Largest equilibrium price of the pricing-demand world: the least-squares fits of its
# agents lose their precision on prices (and squares of prices) far beyond it.
MAX_PRICE = 1e9


@register("policy", "set-value")
class SetValuePolicy(Policy):
    """Acts with the model's score itself (a price, a quantity): ``actions = scores``."""

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        return Decision(scores, scores.copy(), np.ones_like(scores))


@register("model", "repricer")
class RepricingRule(Regressor):
    """A repricing rule: the competitor's price (first feature) times ``factor``.

    It does not learn (``fit`` keeps the rule). ``max_price``, when set, is a guardrail
    that caps the price the rule may set.
    """

    def __init__(self, factor: Positive = 1.0, max_price: Positive | None = None) -> None:
        self.factor = factor
        self.max_price = max_price

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X: np.ndarray, y: np.ndarray) -> RepricingRule:
        """A rule has nothing to learn."""
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``factor`` times the competitor's price, capped at ``max_price``."""
        price = self.factor * np.asarray(X, dtype=float)[:, 0]
        return price if self.max_price is None else np.minimum(price, self.max_price)


def _named_or_position(
    agents: dict[str, AgentView], name: str | None, position: int, role: str
) -> AgentView:
    if name is not None:
        if name not in agents:
            raise ValueError(f"no agent named {name!r} for the {role}; agents: {list(agents)}")
        return agents[name]
    if len(agents) <= position:
        raise ValueError(f"the {role} needs agent number {position + 1}; got {list(agents)}")
    return list(agents.values())[position]


@register("environment", "pricing")
class RepricingWorld(Environment):
    """Two sellers reprice against each other once a cycle.

    Args:
        initial_price: seller B's price before the first cycle.
        price_ceiling: the price a sane market never exceeds (for the ceiling metric).
        seller_a: name of the agent that prices first (default: the first agent).
        seller_b: name of the agent that answers (default: the second agent).
    """

    time_unit = "cycles"
    metrics = {
        "price": "each seller's price after the cycle",
        "max_price": "the higher of the two prices",
        "ceiling_excess": "log(max_price / price_ceiling), floored at 0 (0 below the ceiling)",
    }
    model_needs = "regressor"
    model_kinds = ("repricer",)

    def __init__(
        self,
        initial_price: Positive = 40.0,
        price_ceiling: Positive = 1000.0,
        seller_a: str | None = None,
        seller_b: str | None = None,
    ) -> None:
        self.initial_price = initial_price
        self.price_ceiling = price_ceiling
        self.seller_a = seller_a
        self.seller_b = seller_b

    def start(self) -> None:
        self.a = _named_or_position(self.agents, self.seller_a, 0, "seller A")
        self.b = _named_or_position(self.agents, self.seller_b, 1, "seller B")
        self.price_b = self.initial_price
        self.declare("price", groups=["a", "b"])
        self.declare("max_price")
        self.declare("ceiling_excess")
        self.every(1.0, self.step, start=1.0)

    def step(self) -> None:
        """One cycle: A prices against B, then B against A."""
        seen_b = self.initial_price if self.open_loop else self.price_b
        price_a = float(self.a.decide(Batch(np.array([[seen_b]]))).actions[0])
        seen_a = price_a if not self.open_loop else self.initial_price
        self.price_b = float(self.b.decide(Batch(np.array([[seen_a]]))).actions[0])
        highest = max(price_a, self.price_b)
        self.record("price", [price_a, self.price_b])
        self.record("max_price", highest)
        # A difference of logs: the ratio of two valid prices can overflow (a tiny ceiling).
        excess = np.log(highest) - np.log(self.price_ceiling) if highest > 0 else 0.0
        self.record("ceiling_excess", max(0.0, float(excess)))


@register("environment", "pricing-demand")
class DemandPricingWorld(Environment):
    """A demand forecaster and a pricing model that retrain on each other's effects.

    Args:
        demand_intercept: buyers' demand at price 0.
        demand_slope: fall in demand per unit of price.
        supply_intercept: stock delivered at price 0.
        supply_slope: rise in delivered stock per unit of the last price.
        noise: standard deviation of the demand noise.
        initial_price: the price before the first period.
        price_smoothing: fraction of the move to the pricing model's price applied each
            period (1: follow the model; smaller values damp the loop).
        grid_width: the forecaster is queried at prices ``p * (1 +- grid_width)``.
        grid_points: number of prices in that grid.
        forecaster: the forecaster's agent name (default: the first agent).
        pricer: the pricing model's agent name (default: the second agent).
    """

    time_unit = "cycles"
    metrics = {
        "price": "the price set this period",
        "equilibrium_price": "the price at which delivered stock equals demand",
        "price_gap": "|price - equilibrium_price| / equilibrium_price",
        "sales": "units sold this period",
        "stock": "units delivered this period",
    }
    model_needs = "regressor"

    def __init__(
        self,
        demand_intercept: Positive = 100.0,
        demand_slope: Positive = 1.0,
        supply_intercept: NonNegative = 0.0,
        supply_slope: Positive = 0.8,
        noise: NonNegative = 1.0,
        initial_price: Positive = 60.0,
        price_smoothing: Annotated[float, Field(gt=0, le=1)] = 1.0,
        grid_width: Annotated[float, Field(gt=0, lt=1)] = 0.2,
        grid_points: Annotated[int, Field(ge=2)] = 5,
        forecaster: str | None = None,
        pricer: str | None = None,
    ) -> None:
        self.demand_intercept = demand_intercept
        self.demand_slope = demand_slope
        self.supply_intercept = supply_intercept
        self.supply_slope = supply_slope
        self.noise = noise
        self.initial_price = initial_price
        self.price_smoothing = price_smoothing
        self.grid_width = grid_width
        self.grid_points = grid_points
        self.forecaster = forecaster
        self.pricer = pricer

    @classmethod
    def check_params(cls, params: dict) -> None:
        if params.get("supply_intercept", 0.0) >= params.get("demand_intercept", 100.0):
            raise ValueError("supply_intercept must be below demand_intercept (else p* <= 0)")
        gap = params.get("demand_intercept", 100.0) - params.get("supply_intercept", 0.0)
        slopes = params.get("demand_slope", 1.0) + params.get("supply_slope", 0.8)
        if not gap / slopes <= MAX_PRICE:
            raise ValueError(
                f"the equilibrium price (demand_intercept - supply_intercept) / (demand_slope "
                f"+ supply_slope) = {gap / slopes:.3g} exceeds {MAX_PRICE:g}: raise the slopes"
            )

    @property
    def equilibrium_price(self) -> float:
        """Where delivered stock meets demand."""
        return (self.demand_intercept - self.supply_intercept) / (
            self.demand_slope + self.supply_slope
        )

    def _demand(self, price: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = rng.normal(0.0, self.noise, size=price.shape) if self.noise > 0 else 0.0
        return np.maximum(0.0, self.demand_intercept - self.demand_slope * price + noise)

    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, None]:
        """Historical sales at prices spread over +-50% of the initial price."""
        price = self.initial_price * rng.uniform(0.5, 1.5, size=n)
        return price[:, None], self._demand(price, rng), None

    def start(self) -> None:
        self.forecast_agent = _named_or_position(self.agents, self.forecaster, 0, "forecaster")
        self.price_agent = _named_or_position(self.agents, self.pricer, 1, "pricing model")
        self.price = self.initial_price
        self._grid = 1.0 + np.linspace(-self.grid_width, self.grid_width, self.grid_points)
        for metric in self.metrics:
            self.declare(metric)
        self.every(1.0, self.step, start=1.0)

    def step(self) -> None:
        """One period: stock arrives, the pricer prices it, buyers buy, both models learn."""
        last = self.initial_price if self.open_loop else self.price
        stock = self.supply_intercept + self.supply_slope * last
        prices = last * self._grid
        forecast = self.forecast_agent.decide(Batch(prices[:, None])).scores
        self.deliver(self.price_agent, Observations(forecast[:, None], prices))
        target = float(self.price_agent.decide(Batch(np.array([[stock]]))).actions[0])
        self.price = max(0.0, last + self.price_smoothing * (target - last))
        sales = float(self._demand(np.array([self.price]), self.rng)[0])
        self.deliver(self.forecast_agent, Observations(np.array([[self.price]]), np.array([sales])))
        equilibrium = self.equilibrium_price
        self.record("price", self.price)
        self.record("equilibrium_price", equilibrium)
        self.record("price_gap", abs(self.price - equilibrium) / equilibrium)
        self.record("sales", sales)
        self.record("stock", stock)
