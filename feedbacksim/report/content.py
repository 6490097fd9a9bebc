"""What a report says, independent of its format: the verdict, tables, figures, scenario, manifest.

:mod:`feedbacksim.report.build` fills a :class:`Report` from a run, sweep or comparison
directory; :mod:`feedbacksim.report.page` renders it as Markdown and as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    """A titled table of strings; ``failed_rows`` are highlighted."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    failed_rows: set[int] = field(default_factory=set)


@dataclass
class Report:
    """One report: the verdict first, then tables, sentences, figures, scenario and manifest."""

    title: str
    verdict: str | None  # "pass", "fail", "inconclusive", or None when nothing is judged (a sweep)
    headline: str
    reason: str = ""  # the verdict's one-line reason with its numbers (first line of the report)
    description: str = ""
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    scenarios: dict[str, str] = field(default_factory=dict)  # label -> resolved YAML
    manifest: list[tuple[str, str]] = field(default_factory=list)
