"""Deployment gates: whether a retrained model (the challenger) replaces the deployed one.

A gate has ``accept(agent, champion, challenger) -> (accepted, reason)``; the agent keeps
its champion and logs a ``deploy_rejected`` event with the reason when it says no.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.agent import model_scores
from feedbacksim.core.quality import auc, log_loss
from feedbacksim.core.registry import register

if TYPE_CHECKING:
    from feedbacksim.core.agent import Agent


@register("gate", "champion-challenger")
class ChampionChallengerGate:
    """Deploy the challenger only if it scores at least as well as the champion on recent labels.

    Both models are scored on the ``recent`` most recently observed rows of the agent's
    training data: the data a team has at hand when it decides, and exactly the data the
    deployed model's decisions shaped (for a lender, only approved applicants have labels).
    ``metric`` is ``auc`` (higher is better) or ``log_loss`` (lower is better); the
    challenger passes when it is no worse than the champion by more than ``margin``. When
    the recent rows cannot rank the models (fewer than ``recent`` rows is fine, but one
    class only is not), the challenger is accepted and the reason says so.

    Args:
        recent: how many of the most recently observed rows the comparison uses.
        metric: ``auc`` or ``log_loss``.
        margin: how much worse than the champion the challenger may be and still pass.
    """

    def __init__(
        self,
        recent: Annotated[int, Field(ge=2)] = 2000,
        metric: Literal["auc", "log_loss"] = "auc",
        margin: Annotated[float, Field(ge=0)] = 0.0,
    ) -> None:
        self.recent = recent
        self.metric = metric
        self.margin = margin

    def _score(self, model: Any, features: np.ndarray, labels: np.ndarray) -> float:
        """The metric, oriented so that higher is better."""
        scores = model_scores(model, features)
        if self.metric == "auc":
            return auc(labels, scores)
        return -log_loss(labels, scores)

    def accept(self, agent: Agent, champion: Any, challenger: Any) -> tuple[bool, str]:
        """Whether ``challenger`` may replace ``champion``, and why."""
        rows = agent.data.rows()
        order = np.argsort(rows["time"], kind="stable")[-self.recent :]
        features, labels = rows["features"][order], rows["labels"][order]
        if np.unique(labels).shape[0] < 2:
            return True, f"accepted unchecked: the {labels.shape[0]} recent labels have one class"
        old = self._score(champion, features, labels)
        new = self._score(challenger, features, labels)
        sign = -1.0 if self.metric == "log_loss" else 1.0
        verdict = f"challenger {self.metric} {sign * new:.4f}, champion {sign * old:.4f} on the {labels.shape[0]} most recent observed labels"
        if new >= old - self.margin:
            return True, verdict
        return False, verdict
