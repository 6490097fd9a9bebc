"""Predictive policing as a generalized Pólya urn (Ensign et al. 2018).

K regions have true daily incident rates. Each day the dispatcher allocates
``patrols_per_day`` patrols over the regions; incidents are *discovered* only in patrolled
regions (selective labels), plus, optionally, *reported* anywhere with probability
``reporting_rate``. The dispatcher retrains on what it discovered, so it patrols where it
has patrolled: with a proportional policy one region's share runs away to 1 even when the
true rates differ only a little (Ensign et al., "Runaway Feedback Loops in Predictive
Policing", FAT* 2018).

With ``dynamic_rate = d > 0`` the world also answers the allocation (D'Amour et al.,
"Fairness is not static", FAT* 2020): a region's incident rate rises by d on each day it
gets no patrol and falls by d per patrol it gets, floored at 0, so neglected regions get
worse and over-patrolled ones quieter. With ``discoveries_per_patrol`` each patrol
discovers at most that many incidents (the attention units of D'Amour et al. discover one
each), so several patrols in one region find more than one.

Open loop (the twin with the loop cut): incidents are observed in every region, whatever
the patrols.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.cases import Batch, Observations
from feedbacksim.core.environment import Environment
from feedbacksim.core.registry import register

Rate = Annotated[float, Field(ge=0.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


@register("environment", "policing")
class PolicingWorld(Environment):
    """Patrols follow discovered crime; crime is only discovered where patrols go.

    Args:
        incident_rates: true daily incident rate of each region (a probability for
            Bernoulli discovery, a Poisson mean otherwise).
        patrols_per_day: patrol units allocated each day.
        discovery: ``bernoulli`` (one possible incident per patrolled region-day, with
            probability = rate) or ``poisson`` (Poisson(rate) incidents per region-day).
        reporting_rate: probability that an incident not discovered by a patrol is
            reported by the public (observed whatever the patrols).
        dynamic_rate: d; a region's rate rises by d on a day without patrol and falls by
            d per patrol, floored at 0 (0: rates are fixed). With Bernoulli discovery a
            rate above 1 means an incident every day.
        discoveries_per_patrol: most incidents one patrol discovers in a day (``None``:
            a patrolled region's incidents are all discovered, whatever the patrols).
        allocation_features: give the dispatcher two more feature columns: the day's
            discovery cap in the region (``discoveries_per_patrol`` times the patrols sent;
            -1 when discovery is not capped, and in the open loop; 0 in the batch, which is
            decided before the patrols) and the day, so that a model can tell a count
            capped by its patrols from an uncapped one and keep a window in days
            (``censored-poisson``).
        agent: the dispatcher's name (default: the scenario's only agent).
    """

    metrics = {
        "patrol_share": "the policy's allocation probability per region (not the day's 0/1 draw)",
        "patrols": "patrol units sent to the region that day (they sum to patrols_per_day)",
        "true_incident_share": "the region's true rate divided by the sum of rates",
        "discovered": "incidents discovered by patrols that day, per region",
        "missed": "incidents that occurred and were not discovered by patrols that day",
        "incident_rate": "the region's true incident rate that day (changes with dynamic_rate)",
        "mean_missed": "missed incidents per day in the region, averaged over the days so far",
    }
    metric_scales = {"patrol_share": 1.0, "true_incident_share": 1.0}  # shares
    model_needs = "regressor"
    model_kinds = ("incident-count", "incident-rate", "censored-poisson")

    def __init__(
        self,
        incident_rates: Annotated[list[Rate], Field(min_length=2)],
        patrols_per_day: Annotated[int, Field(ge=1)] = 1,
        discovery: Literal["bernoulli", "poisson"] = "bernoulli",
        reporting_rate: Probability = 0.0,
        dynamic_rate: Rate = 0.0,
        discoveries_per_patrol: Annotated[int, Field(ge=1)] | None = None,
        allocation_features: bool = False,
        agent: str | None = None,
    ) -> None:
        self.incident_rates = incident_rates
        self.patrols_per_day = patrols_per_day
        self.discovery = discovery
        self.reporting_rate = reporting_rate
        self.dynamic_rate = dynamic_rate
        self.discoveries_per_patrol = discoveries_per_patrol
        self.allocation_features = allocation_features
        self.agent = agent

    @classmethod
    def check_params(cls, params: dict) -> None:
        rates = params["incident_rates"]
        if params.get("discovery", "bernoulli") == "bernoulli" and max(rates) > 1:
            raise ValueError("incident_rates must be probabilities (<= 1) with bernoulli discovery")
        if sum(rates) <= 0:
            raise ValueError("at least one incident rate must be positive")

    @classmethod
    def check_agent(cls, params: dict, agent: Any) -> dict[str, str]:
        """Checks at load: one prior value per region; a censored-poisson model gets its features."""
        regions = len(params["incident_rates"])
        model = agent.model
        problems = {}
        for kind, key in (
            ("incident-count", "prior_counts"),
            ("censored-poisson", "prior_rates"),
        ):
            values = model.params.get(key) if model.kind == kind else None
            if isinstance(values, list) and len(values) != regions:
                problems[f"model.params.{key}"] = (
                    f"has {len(values)} values but "
                    f"environment.params.incident_rates has {regions} regions"
                )
        if model.kind == "censored-poisson":
            given = model.params.get("regions")
            if isinstance(given, int) and given != regions:
                problems["model.params.regions"] = (
                    f"is {given} but environment.params.incident_rates has {regions} regions"
                )
            if not params.get("allocation_features", False):
                problems["model.kind"] = (
                    "censored-poisson reads the discovery cap and the day: set "
                    "environment.params.allocation_features: true"
                )
        return problems

    def start(self) -> None:
        self.rates = np.asarray(self.incident_rates, dtype=float)
        k = self.rates.shape[0]
        self.dispatcher = (
            self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        )
        columns = 3 if self.allocation_features else 1
        features = np.zeros((k, columns))
        features[:, 0] = np.arange(k)
        self._batch = Batch(features, capacity=self.patrols_per_day)
        self._true_share = self.rates / self.rates.sum()
        self._missed_total = np.zeros(k)
        self._days = 0
        for metric in self.metrics:
            self.declare(metric, groups=range(k))
        self.every(1.0, self.step)

    def step(self) -> None:
        """One day: allocate patrols, draw incidents, let the dispatcher see what it found."""
        rng = self.rng
        if self.allocation_features:
            self._batch.features[:, 2] = self.now
        decision = self.dispatcher.decide(self._batch)
        share = decision.propensity
        patrolled = decision.actions > 0
        rates = self.rates
        if self.discovery == "bernoulli":
            incidents = (rng.random(rates.shape[0]) < rates).astype(float)
        else:
            incidents = rng.poisson(rates).astype(float)
        discovered = np.where(patrolled, incidents, 0.0)
        if self.discoveries_per_patrol is not None:
            discovered = np.minimum(discovered, self.discoveries_per_patrol * decision.actions)
        missed = incidents - discovered
        if self.dynamic_rate > 0:
            d = self.dynamic_rate
            self.rates = np.maximum(
                0.0, np.where(patrolled, rates - d * decision.actions, rates + d)
            )
            total = rates.sum()
            self._true_share = (
                rates / total if total > 0 else np.full(rates.shape[0], 1.0 / rates.shape[0])
            )

        features = self._batch.features
        if self.allocation_features:
            # The discovery cap: the most incidents the patrols could find (-1: no cap).
            features = features.copy()
            capped = self.discoveries_per_patrol is not None and not self.open_loop
            features[:, 1] = self.discoveries_per_patrol * decision.actions if capped else -1.0
        if self.open_loop:
            seen = np.ones_like(patrolled)
            obs = Observations(features, incidents)
        else:
            # Probability that a region is patrolled at least once today, given the allocation.
            units = self.patrols_per_day
            observed_p = share if units == 1 else 1.0 - (1.0 - share) ** units
            seen = patrolled
            labels = discovered[seen]
            obs = Observations(
                features[seen],
                labels,
                propensity=observed_p[seen],
                min_propensity=np.full(labels.shape[0], observed_p.min()),
            )
        self.deliver(self.dispatcher, obs)
        if self.reporting_rate > 0:
            reported = rng.binomial(missed.astype(np.int64), self.reporting_rate).astype(float)
            has = (reported > 0) & ~seen
            if has.any():
                self.deliver(self.dispatcher, Observations(features[has], reported[has]))

        self.record("patrol_share", share)
        self.record("patrols", decision.actions)
        self.record("true_incident_share", self._true_share)
        self.record("discovered", discovered)
        self.record("missed", missed)
        self.record("incident_rate", rates)
        self._missed_total += missed
        self._days += 1
        self.record("mean_missed", self._missed_total / self._days)
