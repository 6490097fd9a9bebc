"""Tolerances in a metric's own scale: what "far" means when an analyzer compares a distance.

An analyzer's tolerance is written one of three ways in a scenario:

* ``{relative: 0.1}``: a fraction of the metric's *scale* (the default form);
* ``{absolute: 0.25, unit: "forecast / true demand"}``: a number in the metric's own units,
  which the user writes with its unit;
* a bare number ``0.25``: the same as ``{absolute: 0.25}`` in the metric's units (the form
  of scenario files written before scales; still read as it always was).

The scale of a relative tolerance is, in order: the analyzer's ``scale`` (a number in the
metric's units, or one of ``declared``, ``reference``, ``range``, ``noise``); else the scale
the world declares for the metric (``Environment.metric_scales``: a ratio to the truth has
scale 1, a share the width of its range [0, 1]); else the level of the reference (the mean
``|reference|`` over the run: a bias judged against the Bayes classifier's bias delta is
judged in units of delta); else the noise of the metric estimated from the trace. Each
default gives the same verdict when a world is rescaled without changing its dynamics: a
share stays a share, a ratio a ratio, and a level multiplied by ten has a reference
multiplied by ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from feedbacksim.core.trace import METRIC_SCALES, Trace

#: Consistency constant of the median absolute deviation for Gaussian noise.
MAD_TO_SD = 1.4826


class ToleranceSpec(BaseModel):
    """A tolerance written as a mapping: ``{relative: x}`` or ``{absolute: x, unit: "..."}``."""

    model_config = ConfigDict(extra="forbid")
    relative: Annotated[float, Field(gt=0)] | None = None
    absolute: Annotated[float, Field(gt=0)] | None = None
    unit: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ToleranceSpec:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("write either relative: <fraction of the scale> or absolute: <number>")
        if self.absolute is not None and self.unit is None:
            raise ValueError("an absolute tolerance needs its unit: {absolute: x, unit: ...}")
        if self.relative is not None and self.unit is not None:
            raise ValueError("a relative tolerance has no unit (it is a fraction of the scale)")
        return self


def RelativeTolerance(relative: float) -> ToleranceSpec:  # noqa: N802 - reads as a type
    """``{relative: relative}``."""
    return ToleranceSpec(relative=relative)


def AbsoluteTolerance(absolute: float, unit: str) -> ToleranceSpec:  # noqa: N802
    """``{absolute: absolute, unit: unit}``."""
    return ToleranceSpec(absolute=absolute, unit=unit)


#: What a scenario may write for a tolerance (a bare number is absolute, in the metric's units).
Tolerance = Annotated[float, Field(gt=0)] | ToleranceSpec
#: What a scenario may write for a scale: a number in the metric's units, or where to find it.
ScaleSource = Literal["declared", "reference", "range", "noise"]
Scale = Annotated[float, Field(gt=0)] | ScaleSource


@dataclass(frozen=True)
class ResolvedTolerance:
    """A tolerance in the metric's units, with the sentence saying where it came from."""

    value: float
    scale: float | None
    source: str

    def describe(self) -> str:
        """E.g. ``0.1 (0.1 x 1, the declared scale of patrol_share)``."""
        return f"{self.value:.4g} ({self.source})"


def as_tolerance(value: object) -> ToleranceSpec | float:
    """A tolerance from Python or YAML data (a dict becomes its model; numbers stay numbers)."""
    if isinstance(value, dict):
        return ToleranceSpec(**value)
    if isinstance(value, ToleranceSpec):
        return value
    return float(value)  # type: ignore[arg-type]


def declared_scale(trace: Trace, metric: str) -> float | None:
    """The scale the world declares for ``metric`` (``None`` when it declares none)."""
    scale = dict(trace.metadata.get(METRIC_SCALES) or {}).get(metric)
    return None if scale is None else float(scale)


def noise_scale(values: np.ndarray) -> float:
    """The noise SD of a series from its first differences: ``1.4826 MAD(diff) / sqrt(2)``.

    Differences remove a slow trend (a runaway's own movement) and the median absolute
    deviation ignores the occasional jump, so the estimate is the step-to-step noise.
    """
    v = np.asarray(values, dtype=float)
    diffs = np.diff(v, axis=0).ravel()
    diffs = diffs[np.isfinite(diffs)]
    if diffs.size == 0:
        return 0.0
    return float(MAD_TO_SD * np.median(np.abs(diffs - np.median(diffs))) / np.sqrt(2.0))


class NoScale(ValueError):
    """A metric with nothing to scale a relative tolerance by: no declared scale, a zero
    reference and no noise (a constant metric). Its verdict is inconclusive, not a crash."""


def resolve_scale(
    trace: Trace,
    metric: str,
    how: float | str | None,
    reference: np.ndarray | None,
    values: np.ndarray,
) -> tuple[float, str]:
    """The scale of ``metric`` and a phrase naming it; ``how`` is the analyzer's ``scale``.

    ``reference`` is the reference's values (for the reference level) and ``values`` the
    metric's (for the noise). Raises ``ValueError`` when an explicitly asked-for scale
    does not exist (``range``/``declared`` in a world that declares none, a zero level).
    """
    if isinstance(how, (int, float)) and not isinstance(how, bool):
        return float(how), "the scenario's scale"
    declared = declared_scale(trace, metric)
    if how in (None, "declared", "range") and declared is not None:
        return declared, f"the declared scale of {metric}"
    if how in ("declared", "range"):
        raise ValueError(
            f"scale: {how} for {metric!r}, but the world declares no scale for it; give "
            "a number, or scale: reference / noise"
        )
    level = float(np.nanmean(np.abs(reference))) if reference is not None else 0.0
    if how in (None, "reference") and np.isfinite(level) and level > 0:
        return level, "the reference's mean level"
    if how == "reference":
        raise ValueError(f"scale: reference for {metric!r}, but the reference's level is 0")
    noise = noise_scale(values)
    if noise > 0:
        return noise, f"the noise SD of {metric} estimated from the trace"
    raise NoScale(
        f"{metric!r} has no scale to judge a relative tolerance by (no declared scale, a "
        "zero reference and no noise): write tolerance: {absolute: ..., unit: ...}"
    )


def resolve_tolerance(
    tolerance: ToleranceSpec | float,
    trace: Trace,
    metric: str,
    how: float | str | None,
    reference: np.ndarray | None,
    values: np.ndarray,
) -> ResolvedTolerance:
    """``tolerance`` in ``metric``'s units, for one replication's trace."""
    if not isinstance(tolerance, ToleranceSpec):
        return ResolvedTolerance(float(tolerance), None, "absolute, in the metric's units")
    if tolerance.relative is None:
        return ResolvedTolerance(
            float(tolerance.absolute or 0.0), None, f"absolute, {tolerance.unit}"
        )
    scale, source = resolve_scale(trace, metric, how, reference, values)
    return ResolvedTolerance(
        tolerance.relative * scale,
        scale,
        f"{tolerance.relative:g} x {scale:.4g}, {source}",
    )
