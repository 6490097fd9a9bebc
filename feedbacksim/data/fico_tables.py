"""The FICO TransRisk tables (Federal Reserve, 2007): per group, the score distribution and repayment rate.

These are the three tables Liu et al. (2018, "Delayed Impact of Fair Machine Learning")
read for their FICO experiments, shipped in ``feedbacksim/data/fico/`` (see
``PROVENANCE.md`` there):

* ``transrisk_cdf_by_race_ssa.csv``: for each TransRisk score (0 to 100 in steps of 0.5,
  198 rows), the percentage of each group with that score or lower;
* ``transrisk_performance_by_race_ssa.csv``: for each score, the percentage of each group's
  accounts with that score that did *not* perform (went 90 days or more delinquent), so
  the repayment probability is ``1 - value / 100``;
* ``totals.csv``: the number of people of each group in the sample.

:func:`load_fico` reads them as Liu et al.'s code does: the TransRisk score, a percentile
of the national population, is mapped onto the FICO range 300-850 by the piecewise-linear
national FICO score distribution of their ``convert_percentiles`` (an interpolation of the
cumulative shares of the 50-point bins), and the group names are ``White`` (the report's
"Non-Hispanic white"), ``Black``, ``Hispanic`` and ``Asian``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

GROUPS = ("White", "Black", "Hispanic", "Asian")
_COLUMNS = {"Non- Hispanic white": "White"}
# Share (percent) of the national population in each 50-point FICO bin starting at the
# value, as used by Liu et al. to map the TransRisk percentile to a FICO score.
_NATIONAL_BINS = (
    (300, 2.1),
    (350, 4.2),
    (400, 5.4),
    (450, 6.5),
    (500, 7.9),
    (550, 9.6),
    (600, 12.0),
    (650, 13.8),
    (700, 17.0),
    (750, 15.8),
    (800, 5.7),
)


@dataclass(frozen=True)
class FicoTables:
    """The FICO tables on Liu et al.'s score scale, one column per group.

    Attributes:
        transrisk: the TransRisk scores of the rows (0-100).
        scores: the same scores on the FICO scale (300-850), increasing.
        groups: the group names, in column order.
        cdf: share of each group with that score or lower (rows x groups, 0-1).
        repay: repayment probability at each score (rows x groups, 0-1).
        totals: people of each group in the sample.
    """

    transrisk: np.ndarray
    scores: np.ndarray
    groups: tuple[str, ...]
    cdf: np.ndarray
    repay: np.ndarray
    totals: np.ndarray

    @property
    def pmf(self) -> np.ndarray:
        """Share of each group at each score (rows x groups; each column sums to 1)."""
        return np.diff(self.cdf, axis=0, prepend=0.0)

    def column(self, group: str) -> int:
        """Column index of a group, with a clear error for an unknown name."""
        if group not in self.groups:
            raise ValueError(f"unknown FICO group {group!r}; expected one of {list(self.groups)}")
        return self.groups.index(group)

    def select(self, groups: list[str] | tuple[str, ...]) -> FicoTables:
        """The tables restricted to ``groups``, in that order."""
        idx = [self.column(g) for g in groups]
        return FicoTables(
            self.transrisk,
            self.scores,
            tuple(groups),
            self.cdf[:, idx],
            self.repay[:, idx],
            self.totals[idx],
        )


def transrisk_to_fico(transrisk: np.ndarray) -> np.ndarray:
    """Map TransRisk scores (national percentiles, 0-100) onto the FICO range 300-850."""
    values = [v for v, _ in _NATIONAL_BINS] + [850]
    cumulative = np.concatenate([[0.0], np.cumsum([s for _, s in _NATIONAL_BINS])])
    cumulative[-1] = 100.0  # the bins' shares sum to 100 up to rounding
    return np.interp(np.asarray(transrisk, dtype=float), cumulative, values)


def _read(name: str) -> tuple[list[str], list[str], np.ndarray]:
    """A shipped CSV file as its group names, its first column and its numeric columns."""
    text = (
        resources.files("feedbacksim.data")
        .joinpath("fico")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
    rows = list(csv.reader(text.splitlines()))
    header = [_COLUMNS.get(h, h) for h in rows[0][1:]]
    body = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    return header, [row[0] for row in rows[1:]], body


@lru_cache(maxsize=1)
def load_fico() -> FicoTables:
    """Read the shipped FICO TransRisk tables (all four groups; read once, arrays read-only)."""
    header, rows, cdf = _read("transrisk_cdf_by_race_ssa.csv")
    perf_header, perf_rows, nonperforming = _read("transrisk_performance_by_race_ssa.csv")
    totals_header, _, totals = _read("totals.csv")
    if perf_header != header or totals_header != header or perf_rows != rows:
        raise ValueError("the FICO tables' groups or scores disagree")
    order = [header.index(g) for g in GROUPS]
    transrisk = np.array([float(r) for r in rows])
    arrays = (
        transrisk,
        transrisk_to_fico(transrisk),
        cdf[:, order] / 100.0,
        1.0 - nonperforming[:, order] / 100.0,
        totals[0, order],
    )
    for array in arrays:
        array.flags.writeable = False  # shared by every caller of the cache
    transrisk, scores, cdf_share, repay, group_totals = arrays
    return FicoTables(transrisk, scores, GROUPS, cdf_share, repay, group_totals)
