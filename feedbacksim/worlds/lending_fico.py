"""Lending on the FICO TransRisk tables (Liu et al. 2018's FICO experiments) with selective and delayed labels.

The :class:`~feedbacksim.worlds.lending.LendingWorld` loop (daily applicants, a retrained
model, labels only for approved loans, after a delay, scores moving +``repay_gain`` on
repayment and -``default_loss`` on default) on real data instead of an invented curve:

* each group's initial scores are drawn from its TransRisk score distribution
  (``feedbacksim/data/fico``, on the FICO scale 300-850 as Liu et al. map it);
* a person of group g with score x repays with the group's empirical repayment rate
  p_g(x), interpolated linearly between the table's scores (a score that moved off the
  table's points after a loan takes the rate between its neighbours);
* the lender sees one feature, the calibrated log-odds of repayment logit(p_g(x)) clipped
  to +-6. Liu et al.'s lender knows each group's repayment probability at each score; a
  logistic regression on this feature is well specified (coefficient 1, intercept 0), so a
  retrained model recovers those probabilities and the per-group policies
  (``max-util``, ``demographic-parity``, ``equal-opportunity``) apply Liu et al.'s rules.

The groups compared in the paper are ``Black`` and ``White`` (the default), with shares
from the tables' totals (12.1% and 87.9%). :mod:`feedbacksim.worlds.fico_impact` computes
the one-step outcome curves and the three policies exactly; :meth:`FicoLendingWorld.impact`
gives that analysis for this world's groups and score changes.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.core.lazy_import import lazy_function
from feedbacksim.core.registry import register
from feedbacksim.data.fico_tables import GROUPS, FicoTables, load_fico
from feedbacksim.worlds.fico_impact import DelayedImpact
from feedbacksim.worlds.lending import QUANTILES, LendingWorld

logit = lazy_function("scipy.special", "logit")

LOG_ODDS_LIMIT = 6.0  # repayment rates in the tables lie in [0.003, 0.997]: |logit| < 6


@register("environment", "lending_fico")
class FicoLendingWorld(LendingWorld):
    """Liu et al.'s FICO lending: groups' scores and repayment rates from the TransRisk tables.

    Args:
        groups: the tables' groups in the population (``White``, ``Black``, ``Hispanic``,
            ``Asian``), in group-label order.
        group_shares: share of the population in each group (default: the tables' totals).
        repay_gain: score gained by repaying a loan (Liu et al.: 75).
        default_loss: score lost by defaulting (Liu et al.: 150).
        population_size: people in the population.
        applicants_per_day: applications per day (different people, drawn uniformly; at most
            ``population_size``).
        label_delay: days from approval to the outcome (label and score change).
        band: the score band in which the training set's default rate is compared with the
            applicants'.
        auc_sample: size of the fresh population sample the deployed model's true AUC is
            measured on after each deployment.
        agent: the lender's name (default: the scenario's only agent).

    Features seen by the lender: ``logit(p_g(score))`` clipped to +-6; groups are given
    with the batch. Label 1 means repaid. Metrics: those of ``lending``.
    """

    def __init__(
        self,
        groups: Annotated[list[str], Field(min_length=1)] = ["Black", "White"],  # noqa: B006
        group_shares: list[Annotated[float, Field(gt=0)]] | None = None,
        repay_gain: Annotated[float, Field(ge=0)] = 75.0,
        default_loss: Annotated[float, Field(ge=0)] = 150.0,
        population_size: Annotated[int, Field(ge=10)] = 10_000,
        applicants_per_day: Annotated[int, Field(ge=1)] = 200,
        label_delay: Annotated[float, Field(ge=0)] = 30.0,
        band: Annotated[list[float], Field(min_length=2, max_length=2)] = [600.0, 700.0],  # noqa: B006
        auc_sample: Annotated[int, Field(ge=10)] = 4000,
        agent: str | None = None,
    ) -> None:
        self.tables: FicoTables = load_fico().select(groups)
        shares = self.tables.totals / self.tables.totals.sum()
        super().__init__(
            group_shares=list(shares) if group_shares is None else group_shares,
            score_means=[0.0] * len(groups),  # unused: the scores come from the tables
            score_sds=[1.0] * len(groups),
            repay_gain=repay_gain,
            default_loss=default_loss,
            population_size=population_size,
            applicants_per_day=applicants_per_day,
            label_delay=label_delay,
            band=band,
            auc_sample=auc_sample,
            agent=agent,
        )
        # ``self.groups`` becomes each person's group label at the start, as in ``lending``.
        self.group_names = groups
        self.group_shares_given = group_shares

    @classmethod
    def check_params(cls, params: dict) -> None:
        names = params["groups"]
        unknown = [g for g in names if g not in GROUPS]
        if unknown:
            raise ValueError(f"unknown FICO groups {unknown}; the tables have {list(GROUPS)}")
        if len(set(names)) != len(names):
            raise ValueError("groups must not repeat")
        shares = params.get("group_shares")
        if shares is not None and len(shares) != len(names):
            raise ValueError("group_shares needs one value per group")
        if not params["band"][0] < params["band"][1]:
            raise ValueError("band must be [low, high] with low < high")
        totals = np.asarray(shares if shares is not None else [1.0] * len(names), dtype=float)
        if np.floor(totals / totals.sum() * params["population_size"]).min() < 1:
            raise ValueError("every group needs at least one person: raise population_size")

    # -- the world's model -------------------------------------------------------------
    def repay_probability(self, scores: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """p_g(x): the group's empirical repayment rate at score x (linear between the table's scores)."""
        scores = np.asarray(scores, dtype=float)
        if groups is None:
            raise ValueError("repayment in the FICO world depends on the group: pass groups")
        groups = np.broadcast_to(np.asarray(groups, dtype=np.int64), scores.shape)
        out = np.empty(scores.shape)
        for g in range(len(self.group_names)):  # one interpolation per group, not per person
            mine = groups == g
            out[mine] = np.interp(scores[mine], self.tables.scores, self.tables.repay[:, g])
        return out

    def initial_quantiles(self, group: int, n: int = QUANTILES) -> np.ndarray:
        """``n`` equally spaced quantiles of a group's score distribution in the tables, highest first."""
        u = 1.0 - (np.arange(n) + 0.5) / n
        rows = np.searchsorted(self.tables.cdf[:, group], u, side="left")
        return self.tables.scores[np.minimum(rows, self.tables.scores.shape[0] - 1)]

    def initial_scores(self, rng: np.random.Generator) -> np.ndarray:
        """Each person's score drawn from their group's TransRisk distribution."""
        scores = np.empty(self.groups.shape[0])
        pmf = self.tables.pmf
        for g in range(pmf.shape[1]):
            mine = self.groups == g
            rows = rng.choice(pmf.shape[0], size=int(mine.sum()), p=pmf[:, g] / pmf[:, g].sum())
            scores[mine] = self.tables.scores[rows]
        return scores

    def applicants(self, rng: np.random.Generator) -> np.ndarray:
        """Today's applicants: ``applicants_per_day`` different people (a person applies once a day at most)."""
        return rng.choice(
            self.population_size, min(self.applicants_per_day, self.population_size), replace=False
        )

    def _features(
        self, scores: np.ndarray, groups: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """The calibrated log-odds of repayment, the only feature."""
        p = self.repay_probability(scores, groups)
        return np.clip(logit(p), -LOG_ODDS_LIMIT, LOG_ODDS_LIMIT).reshape(-1, 1)

    def impact(self, u_plus: float = 1.0, u_minus: float = 4.0) -> DelayedImpact:
        """Liu et al.'s exact one-step analysis of this world (scores clipped per outcome, as simulated)."""
        tables = self.tables
        if self.group_shares_given is not None:
            tables = FicoTables(
                tables.transrisk,
                tables.scores,
                tables.groups,
                tables.cdf,
                tables.repay,
                np.asarray(self.group_shares_given, dtype=float),
            )
        return DelayedImpact(
            tables, u_plus, u_minus, self.repay_gain, self.default_loss, clip="outcome"
        )
