"""Deployment gates: whether a retrained model (the challenger) replaces the deployed one.

A gate has two methods. ``holdout(times, unseen)`` says which of the training window's
rows are held out of the challenger's fit (a boolean mask over the rows, given their
observation times and which of them the champion was not trained on); ``accept(champion, challenger,
features, labels) -> (accepted, reason)`` compares the two models on those held-out rows.
The agent keeps its champion and logs a ``deploy_rejected`` event with the reason when
the gate says no.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.agent import model_scores
from feedbacksim.core.quality import auc, log_loss
from feedbacksim.core.registry import register


@register("gate", "champion-challenger")
class ChampionChallengerGate:
    """Deploy the challenger only if it scores at least as well as the champion on held-out recent labels.

    The comparison uses labels neither model was trained on: rows observed after the
    champion was deployed (so the champion never saw them), the most recent of which are
    held out of the challenger's fit. ``holdout`` of those new rows (at most ``recent``)
    are held out, the rest train the challenger, so that it still learns from what arrived
    since the last deployment. Scoring a challenger on rows it was fitted on would favour
    it: a model that memorises its training rows (a deep tree) beats any champion there.
    These are the labels a team has at hand when it decides, and exactly the data the
    deployed model's decisions shaped (for a lender, only approved applicants have labels).
    ``metric`` is ``auc`` (higher is better) or ``log_loss`` (lower is better); the
    challenger passes when it is no worse than the champion by more than ``margin``. When
    the held-out rows cannot rank the models (none, or one class only), the challenger is
    accepted and the reason says so.

    Args:
        recent: the most held-out rows the comparison uses.
        metric: ``auc`` or ``log_loss``.
        margin: how much worse than the champion the challenger may be and still pass.
        holdout: the share of the rows observed since the champion's deployment that is
            held out of the challenger's fit (the most recent ones, at most ``recent``).
    """

    def __init__(
        self,
        recent: Annotated[int, Field(ge=2)] = 2000,
        metric: Literal["auc", "log_loss"] = "auc",
        margin: Annotated[float, Field(ge=0)] = 0.0,
        holdout: Annotated[float, Field(gt=0, lt=1)] = 0.5,
    ) -> None:
        self.recent = recent
        self.metric = metric
        self.margin = margin
        self.holdout_share = holdout

    def holdout(self, times: np.ndarray, unseen: np.ndarray) -> np.ndarray:
        """Mask of the rows held out of the challenger's fit: the newest of the ``unseen`` ones."""
        fresh = np.flatnonzero(unseen)
        keep = min(self.recent, int(fresh.shape[0] * self.holdout_share))
        mask = np.zeros(times.shape[0], dtype=bool)
        if keep:
            newest = fresh[np.argsort(times[fresh], kind="stable")[-keep:]]
            mask[newest] = True
        return mask

    def _score(self, model: Any, features: np.ndarray, labels: np.ndarray) -> float:
        """The metric, oriented so that higher is better."""
        scores = model_scores(model, features)
        if self.metric == "auc":
            return auc(labels, scores)
        return -log_loss(labels, scores)

    def accept(
        self, champion: Any, challenger: Any, features: np.ndarray, labels: np.ndarray
    ) -> tuple[bool, str]:
        """Whether ``challenger`` may replace ``champion``, judged on the held-out ``features``, ``labels``."""
        n = labels.shape[0]
        if n == 0:
            return True, "accepted unchecked: no held-out labels since the last deployment"
        if np.unique(labels).shape[0] < 2:
            return True, f"accepted unchecked: the {n} held-out labels have one class"
        old = self._score(champion, features, labels)
        new = self._score(challenger, features, labels)
        sign = -1.0 if self.metric == "log_loss" else 1.0
        verdict = (
            f"challenger {self.metric} {sign * new:.4f}, champion {sign * old:.4f} on the {n} "
            "most recent observed labels, held out of the challenger's fit"
        )
        return new >= old - self.margin, verdict
