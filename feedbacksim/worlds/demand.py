"""Demand forecasting on censored sales: the retailer's feedback loop.

P products have true daily demand D_pt ~ Poisson(level_p * f_pt), with a seasonal factor
f_pt = 1 + amplitude * sin(2 pi t / period + 2 pi p / P) (products peak on different days;
f averages to 1 over a period). Each day the retailer forecasts each product's demand mean
from past *sales*, orders stock from the forecast (``order-up-to`` policy: the forecast
mean, or its Poisson quantile at a service level), and sells min(D, stock). The forecaster
never sees demand above stock: on a sold-out day it sees only that demand was at least the
stock.

Claims (derived in ``docs/worlds.md``, tested in ``tests/test_world_demand.py``):

* Ordering the forecast mean and fitting the mean of sales is the map
  s -> E[min(D, s)] < s for every s > 0, whose only fixed point is 0: stock spirals down,
  fastest while it is near demand, then ever more slowly (near 0 at rate 1 - P(D = 0)).
* Ordering a high quantile q of the forecast, the level settles at the positive fixed
  point L* of L -> E[min(D(L_true), Q_q(L))] (per unit seasonal factor), below the true
  level because high-quantile stock still sells out sometimes.
* A censoring-aware forecaster (sold-out days as lower bounds) recovers the true level.

Open loop: stock is unlimited for the forecaster's purposes, i.e. it observes demand.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Decision, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.policies import Policy
from feedbacksim.core.registry import register

stats = lazy_module("scipy.stats")

# Mean units a day: from a slow seller (a few a year) up to what a Poisson draw can hold;
# a level of 0 or a subnormal one makes the forecast ratio (forecast / expected) overflow.
Level = Annotated[float, Field(ge=1e-3, le=1e9)]


def seasonal_factors(day: float, products: int, amplitude: float, period: float) -> np.ndarray:
    """f_pt = 1 + amplitude * sin(2 pi day / period + 2 pi p / products) for every product p."""
    phase = 2 * np.pi * np.arange(products) / products
    return 1.0 + amplitude * np.sin(2 * np.pi * day / period + phase)


@register("policy", "order-up-to")
class OrderUpToPolicy(Policy):
    """Stock each case (product) up to its forecast: the mean, or a Poisson service-level quantile.

    ``scores`` are forecast demand means; ``actions`` are the stock levels. With
    ``service_level`` q the stock is the smallest s with P(Poisson(forecast) <= s) >= q.
    """

    def __init__(self, service_level: Annotated[float, Field(gt=0, lt=1)] | None = None) -> None:
        self.service_level = service_level

    def decide(self, scores: np.ndarray, batch: Batch, rng: np.random.Generator) -> Decision:
        forecast = np.maximum(scores, 0.0)
        if self.service_level is None:
            stock = forecast
        else:
            stock = stats.poisson.ppf(self.service_level, forecast)
            stock = np.where(forecast > 0, stock, 0.0)
        return Decision(scores, stock, np.ones(scores.shape[0]))


@register("environment", "demand")
class DemandWorld(Environment):
    """Products with Poisson seasonal demand; stock from a forecast trained on censored sales.

    Args:
        levels: true mean daily demand of each product at seasonal factor 1 (default:
            ``products`` levels evenly spaced over ``level_range``).
        products: number of products when ``levels`` is not given.
        level_range: ``[low, high]`` of the default levels.
        season_amplitude: relative amplitude of the seasonal factor (0: no seasonality).
        season_period: days per seasonal cycle (at least 1: the world steps daily).
        agent: the forecaster's name (default: the scenario's only agent).
    """

    metrics = {
        "forecast_ratio": "mean over products of forecast demand / true expected demand",
        "stock_ratio": "mean over products of stock / true expected demand",
        "fill_rate": "units sold / units demanded, over all products that day",
        "sellout_rate": "share of products whose demand reached their stock",
        "forecast_level": "forecast level (forecast / seasonal factor) per product",
        "true_level": "true demand level per product",
    }
    # Ratios to the true demand and shares of units or products.
    metric_scales = {
        "forecast_ratio": 1.0,
        "stock_ratio": 1.0,
        "fill_rate": 1.0,
        "sellout_rate": 1.0,
    }
    model_needs = "regressor"
    model_kinds = ("poisson-demand",)

    def __init__(
        self,
        levels: Annotated[list[Level], Field(min_length=1)] | None = None,
        products: Annotated[int, Field(ge=1)] = 20,
        level_range: Annotated[list[Level], Field(min_length=2, max_length=2)] | None = None,
        season_amplitude: Annotated[float, Field(ge=0, lt=1)] = 0.3,
        season_period: Annotated[float, Field(ge=1)] = 7.0,
        agent: str | None = None,
    ) -> None:
        self.level_range = level_range or [1.0, 8.0]
        self.levels = levels or list(
            np.linspace(self.level_range[0], self.level_range[1], products).tolist()
        )
        self.season_amplitude = season_amplitude
        self.season_period = season_period
        self.agent = agent

    @classmethod
    def check_params(cls, params: dict) -> None:
        low, high = params.get("level_range") or [1.0, 8.0]
        if low > high:
            raise ValueError(f"level_range must be [low, high], got [{low}, {high}]")

    def start(self) -> None:
        self.forecaster = (
            self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        )
        self._levels = np.asarray(self.levels, dtype=float)
        self._products = np.arange(self._levels.shape[0], dtype=float)
        for metric in ("forecast_ratio", "stock_ratio", "fill_rate", "sellout_rate"):
            self.declare(metric)
        self.declare("forecast_level", range(self._levels.shape[0]))
        self.declare("true_level", range(self._levels.shape[0]))
        self.every(1.0, self.step)

    def _factors(self, day: float) -> np.ndarray:
        return seasonal_factors(
            day, self._levels.shape[0], self.season_amplitude, self.season_period
        )

    def population_sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, None]:
        """``n`` uncensored product-days of history (products in turn, random days of the cycle)."""
        levels = np.asarray(self.levels, dtype=float)
        k = levels.shape[0]
        product = np.arange(n) % k
        day = rng.random(n) * self.season_period
        phase = 2 * np.pi * product / k
        factor = 1.0 + self.season_amplitude * np.sin(2 * np.pi * day / self.season_period + phase)
        demand = rng.poisson(levels[product] * factor).astype(float)
        return np.column_stack([product, factor, np.zeros(n)]), demand, None

    def step(self) -> None:
        """One day: forecast, stock, sell what demand and stock allow, report sales."""
        factors = self._factors(self.now)
        features = np.column_stack([self._products, factors, np.zeros_like(factors)])
        decision = self.decide(self.forecaster, Batch(features))
        stock = np.asarray(decision.actions, dtype=float)
        expected = self._levels * factors
        demand = self.rng.poisson(expected).astype(float)
        if self.open_loop:
            sales, sold_out = demand, np.zeros_like(demand)
        else:
            sales = np.minimum(demand, stock)
            sold_out = (demand >= stock).astype(float)
        features[:, 2] = sold_out
        self.deliver(self.forecaster, Observations(features, sales))

        forecast = np.asarray(decision.scores, dtype=float)
        self.record("forecast_ratio", float(np.mean(forecast / expected)))
        self.record("stock_ratio", float(np.mean(stock / expected)))
        self.record("fill_rate", sales.sum() / demand.sum() if demand.sum() > 0 else 1.0)
        self.record("sellout_rate", float(np.mean(demand >= stock)))
        self.record("forecast_level", forecast / factors)
        self.record("true_level", self._levels)
