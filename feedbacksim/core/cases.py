"""The arrays that cross the agent/environment boundary: batches, decisions, observations.

Everything here is a batch of cases held in numpy arrays, never one object per case, so a
world with 100,000 applicants a day pays the same Python overhead as a world with two
regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class Batch:
    """Cases an environment asks an agent to decide on.

    Attributes:
        features: ``(n, d)`` array of what the agent may see about each case.
        groups: optional ``(n,)`` group labels (visible to the agent, e.g. for per-group
            thresholds).
        capacity: units the agent may allocate over the batch (patrols, loans, slots);
            ``None`` when each case gets its own yes/no decision.
    """

    features: np.ndarray
    groups: np.ndarray | None = None
    capacity: int | None = None

    def __len__(self) -> int:
        return self.features.shape[0]


@dataclass(slots=True)
class Decision:
    """An agent's answer to a batch.

    Attributes:
        scores: ``(n,)`` model scores the policy acted on.
        actions: ``(n,)`` what was done to each case: 0/1 for accept/reject policies, the
            number of units allocated for allocation policies.
        propensity: ``(n,)`` probability that each case was acted on (accept policies) or
            the share of each unit it received (allocation policies). Observations made
            because of the decision carry it, so an agent can correct for its own
            selection (inverse-propensity weighting, Ensign-style thinning).
    """

    scores: np.ndarray
    actions: np.ndarray
    propensity: np.ndarray


@dataclass(slots=True)
class Observations:
    """Labelled rows an agent is allowed to see, delivered by the environment.

    Attributes:
        features: ``(m, d)`` features of the observed cases.
        labels: ``(m,)`` observed outcomes.
        groups: optional ``(m,)`` group labels.
        propensity: optional ``(m,)`` probability that each row was observed, given the
            decision that led to it (1 for rows observed regardless of the decision).
        min_propensity: optional ``(m,)`` smallest propensity among the cases of the
            decision each row came from; with ``propensity`` it lets a model thin its
            observations to what an unbiased sampler would have seen.
    """

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray | None = None
    propensity: np.ndarray | None = None
    min_propensity: np.ndarray | None = None

    def __len__(self) -> int:
        return self.labels.shape[0]
