"""Predictive policing as a generalized Pólya urn (Ensign et al. 2018).

K regions have true daily incident rates. Each day the dispatcher allocates
``patrols_per_day`` patrols over the regions; incidents are *discovered* only in patrolled
regions (selective labels), plus, optionally, *reported* anywhere with probability
``reporting_rate``. The dispatcher retrains on what it discovered, so it patrols where it
has patrolled: with a proportional policy one region's share runs away to 1 even when the
true rates differ only a little (Ensign et al., "Runaway Feedback Loops in Predictive
Policing", FAT* 2018).

Open loop (the twin with the loop cut): incidents are observed in every region, whatever
the patrols.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from feedbacksim.cases import Batch, Observations
from feedbacksim.environment import Environment
from feedbacksim.registry import register

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
        agent: the dispatcher's name (default: the scenario's only agent).
    """

    metrics = {
        "patrol_share": "the policy's allocation probability per region (not the day's 0/1 draw)",
        "true_incident_share": "the region's true rate divided by the sum of rates",
        "discovered": "incidents discovered by patrols that day, per region",
        "missed": "incidents that occurred and were not discovered by patrols that day",
    }
    open_loop_doc = "incidents are observed in every region, whatever the patrols"

    def __init__(
        self,
        incident_rates: Annotated[list[Rate], Field(min_length=2)],
        patrols_per_day: Annotated[int, Field(ge=1)] = 1,
        discovery: Literal["bernoulli", "poisson"] = "bernoulli",
        reporting_rate: Probability = 0.0,
        agent: str | None = None,
    ) -> None:
        self.incident_rates = incident_rates
        self.patrols_per_day = patrols_per_day
        self.discovery = discovery
        self.reporting_rate = reporting_rate
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
        """An incident-count model needs one prior count per region (checked at load)."""
        counts = (
            agent.model.params.get("prior_counts") if agent.model.kind == "incident-count" else None
        )
        regions = len(params["incident_rates"])
        if isinstance(counts, list) and len(counts) != regions:
            return {
                "model.params.prior_counts": f"has {len(counts)} values but "
                f"environment.params.incident_rates has {regions} regions"
            }
        return {}

    def start(self) -> None:
        self.rates = np.asarray(self.incident_rates, dtype=float)
        k = self.rates.shape[0]
        self.dispatcher = (
            self.agents[self.agent] if self.agent else next(iter(self.agents.values()))
        )
        self._batch = Batch(np.arange(k, dtype=float).reshape(k, 1), capacity=self.patrols_per_day)
        self._true_share = self.rates / self.rates.sum()
        for metric in self.metrics:
            self.declare(metric, groups=range(k))
        self.every(1.0, self.step)

    def step(self) -> None:
        """One day: allocate patrols, draw incidents, let the dispatcher see what it found."""
        rng = self.rng
        decision = self.dispatcher.decide(self._batch)
        share = decision.propensity
        patrolled = decision.actions > 0
        if self.discovery == "bernoulli":
            incidents = (rng.random(self.rates.shape[0]) < self.rates).astype(float)
        else:
            incidents = rng.poisson(self.rates).astype(float)
        discovered = np.where(patrolled, incidents, 0.0)
        missed = incidents - discovered

        if self.open_loop:
            seen = np.ones_like(patrolled)
            obs = Observations(self._batch.features, incidents)
        else:
            # Probability that a region is patrolled at least once today, given the allocation.
            units = self.patrols_per_day
            observed_p = share if units == 1 else 1.0 - (1.0 - share) ** units
            seen = patrolled
            obs = Observations(
                self._batch.features[seen],
                discovered[seen],
                propensity=observed_p[seen],
                min_propensity=np.full(int(seen.sum()), observed_p.min()),
            )
        self.deliver(self.dispatcher, obs)
        if self.reporting_rate > 0:
            reported = rng.binomial(missed.astype(np.int64), self.reporting_rate).astype(float)
            has = (reported > 0) & ~seen
            if has.any():
                self.deliver(
                    self.dispatcher, Observations(self._batch.features[has], reported[has])
                )

        self.record("patrol_share", share)
        self.record("true_incident_share", self._true_share)
        self.record("discovered", discovered)
        self.record("missed", missed)
