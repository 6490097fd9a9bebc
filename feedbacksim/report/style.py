"""One matplotlib style for every figure, readable at slide size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from feedbacksim.run.files import atomic_save_figure

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

RC: dict[str, Any] = {
    "figure.figsize": (9.0, 4.8),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 12,
    "axes.titlesize": 14,
    "axes.labelsize": 12,
    "legend.fontsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": None,  # set in figure_style (needs cycler)
}


@contextmanager
def figure_style() -> Iterator[None]:
    """Use the project's style inside the block.

    Figures are drawn as ``matplotlib.figure.Figure`` objects, never through pyplot's
    state machine, so building a report changes neither the caller's backend nor its
    open figures.
    """
    import matplotlib
    from cycler import cycler

    rc: Any = {**RC, "axes.prop_cycle": cycler(color=PALETTE)}
    with matplotlib.rc_context(rc):
        yield


def save(fig: Any, path: Path) -> None:
    """Save ``fig`` as PNG (Agg), creating the folder."""
    atomic_save_figure(fig, path)
