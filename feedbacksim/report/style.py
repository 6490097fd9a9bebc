"""One matplotlib style for every figure: non-interactive backend, readable at slide size."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

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
def figure_style():
    """Use the Agg backend and the project's style inside the block; yields ``pyplot``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from cycler import cycler

    rc = {**RC, "axes.prop_cycle": cycler(color=PALETTE)}
    with plt.rc_context(rc):
        yield plt


def save(fig: Any, path: Any) -> None:
    """Save ``fig`` as PNG and release it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
