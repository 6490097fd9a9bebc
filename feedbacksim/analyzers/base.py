"""Analyzer interface and Findings.

An analyzer reads a :class:`~feedbacksim.trace.Trace` (which holds the environment's
ground-truth metrics as well as what the agents did) and returns :class:`Finding` objects:
what happened, in which metric and group, when it was first visible, the statistic and the
threshold it crossed, and one plain sentence with the numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

from feedbacksim.trace import Trace

Severity = Literal["info", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    """One analyzer's conclusion about one metric and group of one replication.

    ``failed`` is true when the analyzer detected what it looks for; the finding's
    ``severity`` then says how much that matters (``info`` findings report a clean pass).
    """

    analyzer: str
    kind: str
    severity: Severity
    failed: bool
    metric: str
    group: str
    first_detected_at: float | None
    statistic: float | None
    threshold: float | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    replication: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


class Analyzer:
    """Base class: subclasses implement :meth:`analyze` and :meth:`required_metrics`.

    ``name`` (from the scenario, default the kind) identifies the analyzer in findings;
    ``severity`` is what a detection is reported as; ``fail_if`` is the verdict rule across
    replications: ``any`` (a detection in any replication fails the verdict), a number x
    (fails when the fraction of replications with a detection exceeds x), or ``lower>x``
    (fails when the Wilson 95% lower bound of that fraction exceeds x).
    """

    kind: ClassVar[str] = ""
    context_params: ClassVar[tuple[str, ...]] = ("name",)

    def __init__(
        self, name: str | None = None, severity: Severity = "fail", fail_if: str | float = "any"
    ) -> None:
        self.name = name or self.kind
        self.severity = severity
        self.fail_if = fail_if

    def required_metrics(self) -> set[str]:
        """Metrics the analyzer reads (checked against what the environment records)."""
        return set()

    def analyze(self, trace: Trace) -> list[Finding]:
        """Findings for one replication."""
        raise NotImplementedError

    def finding(self, *, failed: bool, metric: str, group: str = "", **fields: Any) -> Finding:
        """A Finding stamped with this analyzer's name, kind and severity."""
        return Finding(
            analyzer=self.name,
            kind=self.kind,
            severity=self.severity if failed else "info",
            failed=failed,
            metric=metric,
            group=group,
            **fields,
        )
