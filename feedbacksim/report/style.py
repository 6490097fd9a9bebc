"""One matplotlib style for every figure, sized for a document column and sharp when printed.

Figures are 6.5 x 4.4 inches (the text width of a letter or A4 page with 1-inch margins)
saved at 160 dpi, about 1,040 px wide: legible pasted into a design doc or a slide as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from feedbacksim.run.files import atomic_save_figure

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

COLUMN_FIGSIZE = (6.5, 4.4)  # inches: one document column
DPI = 160

RC: dict[str, Any] = {
    "figure.figsize": COLUMN_FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
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
