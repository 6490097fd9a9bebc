"""Shifts of a table world, declared in YAML and composed: who arrives, their labels, their features.

Each shift has a *schedule*: its intensity ``s(t)`` in [0, 1] at time ``t``.

``constant`` (the default)
    ``s = 1`` from ``start`` on (0 before).
``sudden``
    the same as ``constant``: 0 before ``start``, 1 from it.
``gradual``
    0 before ``start``, rising linearly to 1 at ``end``, 1 after.
``seasonal``
    ``(1 - cos(2 pi (t - start) / period)) / 2`` from ``start``: 0, 1 at half a period, 0.

Shift kinds (a table world applies them in the order written):

``covariate``
    rows are reweighted by a column: rows whose ``column`` equals ``value`` get weight
    ``1 + s (factor - 1)`` (a group or a category grows or shrinks), or, for a numeric
    column, weight ``exp(s tilt z)`` with ``z`` the column standardized on the table.
``prior``
    rows are reweighted by label so that the positive share moves from the table's
    (under the shifts before it) to ``positive_rate``: ``(1 - s) p0 + s positive_rate``.
``concept``
    labels of the rows in a region (``column`` equal to ``value``, or ``above`` /
    ``below`` a number) flip with probability ``s flip``.
``strategic``
    cases move their ``mutable`` numeric features to maximize the deployed model's logit
    minus a quadratic cost ``cost / 2 * |move|^2`` (``cost`` per squared unit of feature):
    one gradient step, ``move = s * grad_mutable logit(x) / cost``, which for a linear
    model is exactly the best response ``w_mutable / cost`` (Perdomo et al. 2020's
    strategic classification; Hardt et al. 2016). ``immutable`` features are declared and
    never move. Labels stay those of the unmoved case.
``feedback``
    population feedback: a case that was not acted on (denied) comes back after ``delay``
    with probability ``returns`` with its numeric columns changed by ``change`` (column ->
    amount), and otherwise its row's weight is multiplied by ``1 - leave`` (denied kinds
    of cases leave the population).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from feedbacksim.core.lazy_import import lazy_module

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported on first use: start-up stays light

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Schedule(BaseModel):
    """When a shift acts and how strongly: ``s(t)`` in [0, 1]."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Literal["constant", "sudden", "gradual", "seasonal"] = "constant"
    start: Annotated[float, Field(ge=0)] = 0.0
    end: Annotated[float, Field(ge=0)] | None = None
    period: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Schedule:
        if self.kind == "gradual" and (self.end is None or self.end <= self.start):
            raise ValueError("a gradual schedule needs an end after its start")
        if self.kind == "seasonal" and self.period is None:
            raise ValueError("a seasonal schedule needs a period")
        return self

    def intensity(self, t: float) -> float:
        """``s(t)``."""
        if t < self.start:
            return 0.0
        if self.kind == "gradual":
            assert self.end is not None
            return min(1.0, (t - self.start) / (self.end - self.start))
        if self.kind == "seasonal":
            assert self.period is not None
            return float((1.0 - np.cos(2.0 * np.pi * (t - self.start) / self.period)) / 2.0)
        return 1.0


class _Shift(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    schedule: Schedule = Field(default_factory=Schedule)


class CovariateShift(_Shift):
    """Rows reweighted by a column (a group, a category, or a numeric tilt)."""

    kind: Literal["covariate"]
    column: str
    value: str | int | float | bool | None = None
    factor: Annotated[float, Field(ge=0)] = 1.0
    tilt: float = 0.0

    @model_validator(mode="after")
    def _one(self) -> CovariateShift:
        if (self.value is None) == (self.tilt == 0.0):
            raise ValueError("a covariate shift needs either value (with factor) or tilt")
        return self


class PriorShift(_Shift):
    """Rows reweighted by label towards a positive share."""

    kind: Literal["prior"]
    positive_rate: Annotated[float, Field(gt=0.0, lt=1.0)]


class ConceptShift(_Shift):
    """Labels flip in a region."""

    kind: Literal["concept"]
    column: str
    value: str | int | float | bool | None = None
    above: float | None = None
    below: float | None = None
    flip: Fraction = 1.0

    @model_validator(mode="after")
    def _region(self) -> ConceptShift:
        if self.value is None and self.above is None and self.below is None:
            raise ValueError("a concept shift needs a region: value, above or below")
        return self


class StrategicShift(_Shift):
    """Cases move mutable features towards the deployed model's favour at a cost."""

    kind: Literal["strategic"]
    mutable: Annotated[list[str], Field(min_length=1)]
    immutable: list[str] = Field(default_factory=list)
    cost: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _disjoint(self) -> StrategicShift:
        both = sorted(set(self.mutable) & set(self.immutable))
        if both:
            raise ValueError(f"features both mutable and immutable: {both}")
        return self


class FeedbackShift(_Shift):
    """Denied cases return later changed, or leave."""

    kind: Literal["feedback"]
    returns: Fraction = 0.0
    leave: Fraction = 0.0
    delay: Annotated[float, Field(gt=0)] = 30.0
    change: dict[str, float] = Field(default_factory=dict)


Shift = CovariateShift | PriorShift | ConceptShift | StrategicShift | FeedbackShift
SHIFT_KINDS: dict[str, type[Shift]] = {
    "covariate": CovariateShift,
    "prior": PriorShift,
    "concept": ConceptShift,
    "strategic": StrategicShift,
    "feedback": FeedbackShift,
}


def parse_shifts(specs: list[dict[str, Any]], columns: list[str] | None = None) -> list[Shift]:
    """Validated shifts; raises ``ValueError`` naming the shift (by index) and the problem."""
    shifts: list[Shift] = []
    for i, spec in enumerate(specs):
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if kind not in SHIFT_KINDS:
            raise ValueError(f"shifts[{i}]: unknown kind {kind!r}; known: {', '.join(SHIFT_KINDS)}")
        try:
            shift = SHIFT_KINDS[kind].model_validate(spec)
        except Exception as exc:  # pydantic's message, first line, with the shift's index
            errors = getattr(exc, "errors", None)
            detail = (
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
                if errors
                else str(exc)
            )
            raise ValueError(f"shifts[{i}] ({kind}): {detail}") from None
        if columns is not None:
            named = [getattr(shift, "column", None), *getattr(shift, "mutable", [])]
            named += [*getattr(shift, "immutable", []), *getattr(shift, "change", {})]
            for name in named:
                if name is not None and name not in columns:
                    raise ValueError(f"shifts[{i}] ({kind}): no column {name!r} in the table")
        shifts.append(shift)
    return shifts


def region(shift: ConceptShift | CovariateShift, frame: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows a shift's ``value`` / ``above`` / ``below`` selects."""
    column = frame[shift.column]
    mask = np.ones(len(frame), dtype=bool)
    if shift.value is not None:
        mask &= (column == shift.value).to_numpy()
    above, below = getattr(shift, "above", None), getattr(shift, "below", None)
    if above is not None:
        mask &= (column > above).to_numpy()
    if below is not None:
        mask &= (column < below).to_numpy()
    return mask


class ShiftState:
    """The table's rows under the declared shifts at a time: weights and label-flip probabilities.

    Built once per part of the table (arrivals, held-out), so that the per-row masks and
    standardized columns are computed once; :meth:`at` costs O(rows x shifts).
    """

    def __init__(self, shifts: list[Shift], frame: pd.DataFrame, labels: np.ndarray) -> None:
        self.shifts = shifts
        self.labels = labels
        self._terms: list[tuple[Shift, np.ndarray]] = []
        for shift in shifts:
            if isinstance(shift, CovariateShift):
                if shift.value is not None:
                    term = region(shift, frame).astype(float)
                else:
                    column = frame[shift.column].to_numpy(dtype=float)
                    sd = column.std()
                    term = (column - column.mean()) / (sd if sd > 0 else 1.0)
                self._terms.append((shift, term))
            elif isinstance(shift, ConceptShift):
                self._terms.append((shift, region(shift, frame)))
            elif isinstance(shift, PriorShift):
                self._terms.append((shift, labels > 0.5))

    def at(self, t: float, base: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(weights, flip_probability)`` per row at time ``t`` (``base``: starting weights)."""
        n = self.labels.shape[0]
        weights = np.ones(n) if base is None else base.copy()
        flip = np.zeros(n)
        for shift, term in self._terms:
            s = shift.schedule.intensity(t)
            if s == 0.0:
                continue
            if isinstance(shift, CovariateShift):
                if shift.value is not None:
                    weights *= 1.0 + s * (shift.factor - 1.0) * term
                else:
                    weights *= np.exp(s * shift.tilt * term)
            elif isinstance(shift, PriorShift):
                total = weights.sum()
                p0 = weights[term].sum() / total if total > 0 else 0.0
                if 0.0 < p0 < 1.0:
                    target = (1.0 - s) * p0 + s * shift.positive_rate
                    weights = np.where(
                        term, weights * target / p0, weights * (1 - target) / (1 - p0)
                    )
            elif isinstance(shift, ConceptShift):
                # Two flips in one region compose: P(odd number of flips).
                q = s * shift.flip * term
                flip = flip + q - 2.0 * flip * q
        return weights, flip


def strategic_move(
    model_logit: Any,
    frame: pd.DataFrame,
    shifts: list[Shift],
    t: float,
    steps: dict[str, float],
) -> tuple[pd.DataFrame, dict[str, float]]:
    """``frame`` with its mutable features moved by each active strategic shift; mean move per feature.

    ``model_logit(frame) -> logits`` is the deployed model's; its gradient in each mutable
    feature is a forward difference of width ``steps[feature]`` (exact for a linear
    model), all of them from one call of the model on the stacked, perturbed copies.
    """
    moves: dict[str, float] = {}
    for shift in shifts:
        if not isinstance(shift, StrategicShift):
            continue
        s = shift.schedule.intensity(t)
        if s == 0.0:
            continue
        n = len(frame)
        copies = [frame]
        for feature in shift.mutable:
            up = frame.copy()
            up[feature] = up[feature] + steps[feature]
            copies.append(up)
        logits = model_logit(pd.concat(copies, ignore_index=True)).reshape(len(copies), n)
        frame = frame.copy()
        for k, feature in enumerate(shift.mutable, start=1):
            move = s * (logits[k] - logits[0]) / steps[feature] / shift.cost
            frame[feature] = frame[feature] + move
            moves[feature] = moves.get(feature, 0.0) + float(np.mean(move))
    return frame, moves
