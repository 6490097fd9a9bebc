"""Liu et al.'s one-step delayed impact on the FICO tables, computed exactly (no simulation).

Liu, Dean, Rolf, Simchowitz, Hardt (2018), "Delayed Impact of Fair Machine Learning",
Sections 2-3 and 6. A group's scores take the values of the table's rows with the shares
of its ``pmf``; a lender approves each group from the top score down, so a policy is a
*selection rate* beta per group, with the lowest approved score approved at random for a
fraction (a randomized threshold). Everything below is piecewise linear in beta between
the rows, so it is computed exactly on the rows' edges.

* The **outcome curve** Delta mu(beta): the expected change of the group's mean score when
  its top beta are approved. An approved person with score x and repayment probability
  p(x) moves by ``clip(x + p * gain - (1 - p) * loss, 300, 850) - x`` in Liu et al.'s
  code (the *expected* new score is clipped to the range, ``exp_move``); with
  ``clip="outcome"`` each outcome is clipped instead, which is what the simulated world
  does (``p * min(gain, 850 - x) - (1 - p) * min(loss, x - 300)``).
* The lender's expected utility of approving x is ``u_plus * p - u_minus * (1 - p)``,
  positive where p exceeds the break-even ``u_minus / (u_plus + u_minus)`` (0.8 at the
  paper's utility ratio u-/u+ = -4).
* **MaxUtil** approves every score whose p reaches the break-even; **DemParity** the common
  selection rate, **EqOpt** the common true-positive rate (share of the group's repayers
  approved), each the one that maximizes the population's expected utility, groups
  weighted by their sizes.
* The impact on a group, as Liu et al. define it: *active harm* when its Delta mu < 0;
  otherwise *relative harm* or *relative improvement* against MaxUtil's Delta mu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedbacksim.data.fico_tables import FicoTables

SCORE_RANGE = (300.0, 850.0)


def expected_move(
    scores: np.ndarray, repay: np.ndarray, gain: float, loss: float, clip: str = "expected"
) -> np.ndarray:
    """Expected score change of an approved person at each score (see the module docstring)."""
    low, high = SCORE_RANGE
    if clip == "expected":
        return np.clip(scores + repay * gain - (1.0 - repay) * loss, low, high) - scores
    if clip == "outcome":
        return repay * np.minimum(gain, high - scores) - (1.0 - repay) * np.minimum(
            loss, scores - low
        )
    raise ValueError(f"clip must be 'expected' or 'outcome', not {clip!r}")


def _from_top(pmf: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Selection rates at the rows' edges (highest score first) and the cumulative sum of values there."""
    mass = pmf[::-1]
    return (
        np.concatenate([[0.0], np.cumsum(mass)]),
        np.concatenate([[0.0], np.cumsum(mass * values[::-1])]),
    )


def _at_rates(pmf: np.ndarray, values: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Sum of ``pmf * values`` over the top ``rates`` of a group (randomized at the boundary row)."""
    edges, totals = _from_top(pmf, values)
    # np.interp needs strictly increasing x: drop rows with no mass (they add nothing).
    keep = np.concatenate([[True], np.diff(edges) > 0])
    return np.interp(np.asarray(rates, dtype=float), edges[keep], totals[keep])


@dataclass(frozen=True)
class Policy:
    """A policy's selection rate, outcome and utility per group."""

    name: str
    selection_rates: np.ndarray
    delta_mu: np.ndarray
    utility: float


class DelayedImpact:
    """Liu et al.'s analysis of two or more groups of the FICO tables.

    Args:
        tables: the FICO tables, restricted to the compared groups
            (:meth:`FicoTables.select`).
        u_plus: the lender's utility of a repaid loan.
        u_minus: the lender's loss on a default (the utility ratio is ``-u_minus / u_plus``).
        gain: score change on repayment (Liu et al.: +75).
        loss: score change on default, as a positive number (Liu et al.: 150).
        clip: ``"expected"`` (Liu et al.'s code) or ``"outcome"`` (the simulated world).
    """

    def __init__(
        self,
        tables: FicoTables,
        u_plus: float = 1.0,
        u_minus: float = 4.0,
        gain: float = 75.0,
        loss: float = 150.0,
        clip: str = "expected",
    ) -> None:
        self.tables = tables
        self.u_plus = u_plus
        self.u_minus = u_minus
        self.break_even = u_minus / (u_plus + u_minus)
        self.gain = gain
        self.loss = loss
        self.clip = clip
        self.shares = tables.totals / tables.totals.sum()
        self._pmf = tables.pmf
        self._moves = expected_move(
            tables.scores[:, None], tables.repay, gain, loss, clip
        )  # rows x groups

    @property
    def n_groups(self) -> int:
        return len(self.tables.groups)

    # -- per-group curves ------------------------------------------------------------
    def outcome_curve(self, rates: np.ndarray, group: int) -> np.ndarray:
        """Delta mu(beta) of a group at the selection rates ``rates``."""
        return _at_rates(self._pmf[:, group], self._moves[:, group], rates)

    def outcome_second_moment(self, rates: np.ndarray, group: int) -> np.ndarray:
        """E[change^2] per member of a group at the selection rates ``rates`` (clipped per outcome).

        With the mean (:meth:`outcome_curve`, ``clip="outcome"``) it gives the variance of
        one member's score change, from which a simulation's sampling margin follows.
        """
        low, high = SCORE_RANGE
        x = self.tables.scores
        p = self.tables.repay[:, group]
        square = (
            p * np.minimum(self.gain, high - x) ** 2
            + (1.0 - p) * np.minimum(self.loss, x - low) ** 2
        )
        return _at_rates(self._pmf[:, group], square, rates)

    def _edges(self, group: int) -> np.ndarray:
        """Selection rates at the edges of a group's rows (from the top score down)."""
        return _from_top(self._pmf[:, group], self._moves[:, group])[0]

    def utility_curve(self, rates: np.ndarray, group: int) -> np.ndarray:
        """The lender's expected utility per member of a group at the selection rates ``rates``."""
        p = self.tables.repay[:, group]
        per_loan = self.u_plus * p - self.u_minus * (1.0 - p)
        return _at_rates(self._pmf[:, group], per_loan, rates)

    def true_positive_rate(self, rates: np.ndarray, group: int) -> np.ndarray:
        """Share of a group's repayers approved at the selection rates ``rates``."""
        p = self.tables.repay[:, group]
        pmf = self._pmf[:, group]
        return _at_rates(pmf, p, rates) / float(np.sum(pmf * p))

    def _rate_at_tpr(self, tpr: np.ndarray, group: int) -> np.ndarray:
        """Selection rate at which a group's true-positive rate reaches ``tpr`` (inverse of the above)."""
        p = self.tables.repay[:, group]
        edges, repayers = _from_top(self._pmf[:, group], p)
        keep = np.concatenate([[True], np.diff(repayers) > 0])
        return np.interp(tpr, repayers[keep] / repayers[-1], edges[keep])

    def harm_rate(self, group: int) -> float:
        """Largest selection rate at which a group's Delta mu is still >= 0 (Liu et al.'s active-harm threshold)."""
        edges, totals = _from_top(self._pmf[:, group], self._moves[:, group])
        negative = np.nonzero(totals[1:] < 0)[0]
        if negative.size == 0:
            return 1.0
        i = int(negative[0])  # totals[i] >= 0 > totals[i + 1]
        return float(edges[i] + (edges[i + 1] - edges[i]) * totals[i] / (totals[i] - totals[i + 1]))

    # -- policies ----------------------------------------------------------------------
    def _total_utility(self, rates: np.ndarray) -> np.ndarray:
        """Population utility for candidate rates (candidates x groups), groups weighted by size."""
        return sum(
            self.shares[g] * self.utility_curve(rates[:, g], g) for g in range(self.n_groups)
        )

    def _policy(self, name: str, rates: np.ndarray) -> Policy:
        rates = np.asarray(rates, dtype=float)
        return Policy(
            name,
            rates,
            np.array([self.outcome_curve(rates[g], g) for g in range(self.n_groups)]),
            float(self._total_utility(rates[None, :])[0]),
        )

    def max_util(self) -> Policy:
        """Approve every score whose repayment probability reaches the break-even, in every group."""
        rates = [
            float(self._pmf[self.tables.repay[:, g] >= self.break_even, g].sum())
            for g in range(self.n_groups)
        ]
        return self._policy("MaxUtil", np.array(rates))

    def dem_parity(self) -> Policy:
        """The common selection rate with the highest utility (exact: the utility is piecewise linear)."""
        candidates = np.unique(np.concatenate([self._edges(g) for g in range(self.n_groups)]))
        rates = np.repeat(candidates[:, None], self.n_groups, axis=1)
        return self._policy("DemParity", rates[int(np.argmax(self._total_utility(rates)))])

    def equal_opportunity(self) -> Policy:
        """The common true-positive rate with the highest utility (exact, on the rows' edges)."""
        tprs = np.unique(
            np.concatenate(
                [self.true_positive_rate(self._edges(g), g) for g in range(self.n_groups)]
            )
        )
        rates = np.stack([self._rate_at_tpr(tprs, g) for g in range(self.n_groups)], axis=1)
        return self._policy("EqOpt", rates[int(np.argmax(self._total_utility(rates)))])

    def policies(self) -> list[Policy]:
        """MaxUtil, DemParity and EqOpt."""
        return [self.max_util(), self.dem_parity(), self.equal_opportunity()]

    def impact(self, policy: Policy, group: int) -> str:
        """Liu et al.'s definition for one group: active harm, relative harm or relative improvement."""
        delta = float(policy.delta_mu[group])
        if delta < 0:
            return "active harm"
        reference = float(self.max_util().delta_mu[group])
        if np.isclose(delta, reference, rtol=0, atol=1e-9):
            return "same as MaxUtil"
        return "relative improvement" if delta > reference else "relative harm"
