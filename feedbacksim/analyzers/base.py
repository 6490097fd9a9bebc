"""Analyzer interface and Findings.

An analyzer reads a :class:`~feedbacksim.core.trace.Trace` (which holds the environment's
ground-truth metrics as well as what the agents did) and returns :class:`Finding` objects:
what happened, in which metric and group, when it was first visible, the statistic and the
threshold it crossed, and one plain sentence with the numbers.

Three optional capabilities are declared on the class, so that the runner pays for them
only when a scenario's analyzers ask:

* ``needs_open_loop``: the analyzer compares the trace with its open-loop twin (the same
  replication, same seed, with the loop cut) and implements ``analyze(trace, twin)``.
* ``retrain_measures``: measurements the framework takes at each retrain on a fresh sample
  of the true population (``quality``, ``drift``, ``training``, ``parameters``; see
  :mod:`feedbacksim.run.measures`), recorded as metrics of the trace.
* ``stop_on_fail`` (a parameter of every analyzer): the analyzer also runs online, at
  retrain boundaries, and a failing finding ends the replication early.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from feedbacksim.core.trace import Trace

Severity = Literal["info", "warn", "fail"]
FailIf = (
    Annotated[str, Field(pattern=r"^(any|lower>(0(\.\d+)?|1(\.0+)?))$")]
    | Annotated[float, Field(ge=0.0, lt=1.0)]
)


@dataclass(frozen=True)
class Finding:
    """One analyzer's conclusion about one metric and group of one replication.

    ``failed`` is true when the analyzer detected what it looks for; the finding's
    ``severity`` then says how much that matters (``info`` findings report a clean pass).
    ``first_detected_at`` is the simulation time at which the detection first held,
    ``statistic`` and ``threshold`` the number that was compared and its limit, and
    ``evidence`` a small JSON-able dict with the numbers behind the sentence in ``message``.
    ``online`` marks a finding produced during the run (``stop_on_fail``) that stopped it.
    ``inconclusive`` marks a finding that could not judge (its metric was never measured,
    is NaN throughout, or is shorter than the analyzer's minimum window): ``message`` says
    why, with the numbers, and such a replication counts for neither pass nor fail.
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
    online: bool = False
    inconclusive: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (numpy scalars and arrays in the evidence become plain Python)."""
        out = asdict(self)
        out["evidence"] = plain(out["evidence"])
        for key in ("first_detected_at", "statistic", "threshold"):
            out[key] = plain(out[key])
        return out


def plain(value: Any) -> Any:
    """``value`` with numpy types replaced by Python ones and non-finite floats by None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class Analyzer:
    """Base class: subclasses implement :meth:`analyze` and :meth:`required_metrics`.

    ``name`` (from the scenario, default the kind) identifies the analyzer in findings;
    ``severity`` is what a detection is reported as; ``fail_if`` is the verdict rule across
    replications: ``any`` (a detection in any replication fails the verdict), a number x
    (fails when the fraction of replications with a detection exceeds x), or ``lower>x``
    (fails when the Wilson 95% lower bound of that fraction exceeds x). ``stop_on_fail``
    runs the analyzer at retrain boundaries during the replication and ends it at the first
    failing finding; ``check_every`` spaces those online checks at least that much
    simulated time apart (``None``: at every retrain).
    """

    kind: ClassVar[str] = ""
    #: fewest recorded points of each required metric the analyzer can judge (shorter: inconclusive)
    min_points: ClassVar[int] = 1
    context_params: ClassVar[tuple[str, ...]] = ("name",)
    needs_open_loop: ClassVar[bool] = False
    retrain_measures: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        self.name = name or self.kind
        self.severity = severity
        self.fail_if = fail_if
        self.stop_on_fail = stop_on_fail
        self.check_every = check_every

    @property
    def population_sample_size(self) -> int:
        """Rows of the true population sampled per retrain measurement (``retrain_measures``)."""
        return int(getattr(self, "sample_size", 0))

    def required_metrics(self) -> set[str]:
        """Metrics of the *world* the analyzer reads (checked against what it records)."""
        return set()

    def analyze(self, trace: Trace) -> list[Finding]:
        """Findings for one replication."""
        raise NotImplementedError

    def analyze_with_twin(self, trace: Trace, twin: Trace | None) -> list[Finding]:
        """Findings for one replication; ``twin`` is its open-loop run when ``needs_open_loop``."""
        return self.analyze(trace)

    def aggregate(self, findings: Sequence[Finding]) -> dict[str, Any]:
        """Summary numbers across replications beyond the fail fraction (default: none)."""
        return {}

    def finding(self, *, failed: bool, metric: str, group: str = "", **fields: Any) -> Finding:
        """A Finding stamped with this analyzer's name, kind and severity."""
        fields.setdefault("first_detected_at", None)
        fields.setdefault("statistic", None)
        fields.setdefault("threshold", None)
        return Finding(
            analyzer=self.name,
            kind=self.kind,
            severity=self.severity if failed else "info",
            failed=failed,
            metric=metric,
            group=group,
            **fields,
        )
