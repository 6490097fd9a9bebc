"""What the report layer draws when a sweep or a comparison is saved.

``SweepResults.save`` and ``Comparison.save`` call these through their class's ``reporter``
(:class:`~feedbacksim.core.lazy_import.UpwardCall`), so the run layer never imports the
report layer; this module is imported when the first of them is saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from feedbacksim.report.build import write_report
from feedbacksim.report.comparison import comparison_figure
from feedbacksim.report.phase import phase_diagram

if TYPE_CHECKING:
    from feedbacksim.run.compare import Comparison
    from feedbacksim.run.sweep import SweepResults


def report_sweep(sweep: SweepResults, directory: Path, report: bool) -> None:
    """Draw a saved sweep's phase diagram and, when ``report``, its report."""
    phase_diagram(sweep, directory / "phase_diagram.png")
    if report:
        write_report(directory)


def report_comparison(comparison: Comparison, directory: Path, report: bool) -> None:
    """Draw a saved comparison's figure and, when ``report``, its report."""
    comparison_figure(comparison, directory / "comparison.png")
    if report:
        write_report(directory)
