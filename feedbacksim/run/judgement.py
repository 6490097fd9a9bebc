"""Whether the evidence of a run can carry a verdict: ``pass``, ``fail`` or ``inconclusive``, and why.

A verdict is about the system a scenario declares. It cannot be given when that system
was not what ran, or when the replications cannot tell which side of a rule the design
is on. Per replication,
:func:`~feedbacksim.run.replication.replication_evidence` records what each agent did (a model
deployed or not, retrains done and skipped); per analyzer, :func:`rule_outcome` says
whether a verdict rule is decided by the replications at hand; :func:`overall` applies
the precedence:

1. **inconclusive** when an agent never had a model deployed in some replication: every
   decision was the placeholder score, so a pass or a fail would be about the
   placeholder, not the model.
2. **fail** when an analyzer of severity ``fail`` fails decisively: its rule trips even
   if every replication it could not judge had passed, and for a fraction rule the whole
   Wilson interval is above the fraction. A clear failure is never hidden behind another
   analyzer's doubt.
3. **inconclusive** when more than :data:`MAX_SKIPPED_SHARE` of an agent's retrain
   attempts failed (an estimator that raised, one class, non-finite values: the system
   that ran was mostly not retrained as declared; retrains skipped for want of rows, the
   design's own ``min_samples``, do not count), or when an
   analyzer's rule is undecided: the replications it could not judge would decide it, or
   its fraction's interval straddles the ``fail_if`` fraction (the reason says how many
   replications would decide it).
4. **pass** otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from feedbacksim.analyzers.base import Finding
from feedbacksim.analyzers.statistics import wilson_interval

if TYPE_CHECKING:
    from feedbacksim.run.results import AnalyzerSummary

Verdict = Literal["pass", "fail", "inconclusive"]
Outcome = Literal["pass", "fail", "undecided"]

#: above this share of an agent's retrain attempts failed, the run cannot be judged
MAX_SKIPPED_SHARE = 0.5
#: the largest number of replications :func:`replications_to_decide` looks for
MAX_REPLICATIONS = 10**7


def _bound_rule(rule: str | float) -> tuple[str, float]:
    """``("any", 0)``, ``("lower", x)`` or ``("fraction", x)``."""
    if rule == "any":
        return "any", 0.0
    if isinstance(rule, str) and rule.startswith("lower>"):
        return "lower", float(rule.removeprefix("lower>"))
    x = float(rule)
    return ("any", 0.0) if x == 0 else ("fraction", x)


def rule_outcome(rule: str | float, failed: int, n: int) -> Outcome:
    """Whether ``failed`` of ``n`` replications decide the verdict rule ``rule``.

    ``any``: fail from one failing replication, else pass. ``lower>x`` is one-sided by
    its definition (fail only when confident that more than x fail): fail when the Wilson
    95% lower bound exceeds x, else pass. A fraction x (> 0) is two-sided: fail when the
    lower bound exceeds x, pass when the upper bound is at most x, undecided when the
    interval straddles x.
    """
    kind, x = _bound_rule(rule)
    if kind == "any" or n == 0:
        return "fail" if failed > 0 else "pass"
    low, high = wilson_interval(failed, n)
    if low > x:
        return "fail"
    if kind == "lower" or high <= x:
        return "pass"
    return "undecided"


def replications_to_decide(fraction: float, threshold: float) -> int | None:
    """Fewest replications whose Wilson interval at ``fraction`` excludes ``threshold``.

    The interval's half-width shrinks like 1/sqrt(n); the answer assumes the observed
    fraction holds. ``None`` when no number up to :data:`MAX_REPLICATIONS` does (the
    fraction sits on the threshold).
    """

    def decides(n: int) -> bool:
        low, high = wilson_interval(round(fraction * n), n)
        return low > threshold or high <= threshold

    high = 2
    while not decides(high):
        high *= 2
        if high > MAX_REPLICATIONS:
            return None
    low = high // 2
    while high - low > 1:  # decides() is monotone in n at a fixed fraction, up to rounding
        middle = (low + high) // 2
        low, high = (low, middle) if decides(middle) else (middle, high)
    return high


def one_sided_note(rule: str | float, failed: int, n: int) -> str:
    """For a ``lower>x`` rule that passes with the observed fraction above x: how many would show it.

    The rule passes (it is one-sided), but a reader should know that the point estimate is
    on the failing side and that more replications would likely fail it.
    """
    kind, x = _bound_rule(rule)
    if kind != "lower" or n == 0 or failed / n <= x or rule_outcome(rule, failed, n) == "fail":
        return ""
    needed = replications_to_decide(failed / n, x)
    more = f"about {needed} replications at this rate" if needed else "more replications"
    return f" The fraction is above {x:g} but its interval reaches below: {more} would fail it."


def undecided_reason(summary: AnalyzerSummary, unjudged: int, why: str) -> str:
    """The sentence for an analyzer whose rule the replications do not decide."""
    n, k = summary.replications, summary.failed_replications
    kind, x = _bound_rule(summary.fail_if)
    if unjudged:
        return (
            f"{summary.analyzer} could not judge {unjudged}/{n} replications ({why}); "
            f"with {k}/{n} failing, those would decide fail_if {summary.fail_if}"
        )
    low, high = summary.interval
    needed = replications_to_decide(k / n, x) if kind == "fraction" else None
    more = (
        f"about {needed} replications at this rate would decide it"
        if needed is not None
        else "the observed fraction is on the threshold"
    )
    return (
        f"{summary.analyzer} failed in {k}/{n} replications ({k / n:.0%}, 95% CI "
        f"{low:.0%}-{high:.0%}), an interval that straddles fail_if {x:g}; {more}"
    )


@dataclass(frozen=True)
class AgentRecord:
    """One agent across replications: where no model was deployed, retrains done and skipped."""

    name: str
    undeployed: list[int]
    retrains: int
    skipped: int
    waiting: int
    reason: str

    @property
    def skipped_share(self) -> float:
        """Skipped retrain attempts over all attempts (0 without attempts)."""
        attempts = self.retrains + self.skipped
        return self.skipped / attempts if attempts else 0.0


def agent_records(evidence: Sequence[Finding]) -> list[AgentRecord]:
    """Pool the per-replication evidence findings by agent."""
    pooled: dict[str, dict[str, Any]] = {}
    for f in sorted(evidence, key=lambda f: f.replication or 0):
        for name, a in f.evidence.get("agents", {}).items():
            p = pooled.setdefault(
                name, {"undeployed": [], "retrains": 0, "skipped": 0, "waiting": 0, "reason": ""}
            )
            if not a["deployed"]:
                p["undeployed"].append(f.replication)
            p["retrains"] += a["retrains"]
            p["skipped"] += a["skipped"]
            p["waiting"] += a.get("waiting", 0)
            p["reason"] = p["reason"] or a.get("first_skip_reason", "")
    return [AgentRecord(name, **p) for name, p in pooled.items()]


def never_deployed(records: Sequence[AgentRecord], replications: int) -> str | None:
    """The reason when some agent had no model deployed in some replication, else None."""
    for r in records:
        if r.undeployed:
            why = f"; first skipped retrain: {r.reason}" if r.reason else ""
            return (
                f"no model was ever deployed by agent {r.name} in {len(r.undeployed)}/"
                f"{replications} replications ({r.retrains} retrains succeeded, {r.skipped} "
                f"failed, {r.waiting} waited for rows, in all){why}"
            )
    return None


def mostly_skipped(records: Sequence[AgentRecord]) -> str | None:
    """The reason when an agent skipped more than :data:`MAX_SKIPPED_SHARE` of its retrains."""
    for r in records:
        if r.skipped_share > MAX_SKIPPED_SHARE:
            return (
                f"{r.skipped} of agent {r.name}'s {r.retrains + r.skipped} retrain attempts "
                f"failed ({r.skipped_share:.0%}, more than {MAX_SKIPPED_SHARE:.0%}); first: "
                f"{r.reason}"
            )
    return None


def run_problem(evidence: Sequence[Finding], replications: int) -> str | None:
    """Why the system that ran was not the declared one (no model, most retrains skipped), or None."""
    records = agent_records(evidence)
    return never_deployed(records, replications) or mostly_skipped(records)


def overall(
    summaries: Sequence[AnalyzerSummary], evidence: Sequence[Finding], replications: int
) -> tuple[Verdict, str]:
    """The run's verdict and the one-line reason with its numbers (see the module's precedence)."""
    records = agent_records(evidence)
    reason = never_deployed(records, replications)
    if reason:
        return "inconclusive", reason
    failing = [s for s in summaries if s.status == "fail"]
    if failing:
        return "fail", "; ".join(_failed_sentence(s) for s in failing)
    reason = mostly_skipped(records)
    if reason:
        return "inconclusive", reason
    undecided = [s for s in summaries if s.status == "inconclusive"]
    if undecided:
        return "inconclusive", "; ".join(s.reason for s in undecided)
    judged = [s.analyzer for s in summaries if s.severity == "fail"]
    listed = f" ({', '.join(judged)})" if judged else ""
    return (
        "pass",
        f"no analyzer of severity fail tripped its rule in {replications} replications{listed}",
    )


def _failed_sentence(s: AnalyzerSummary) -> str:
    low, high = s.interval
    return (
        f"{s.analyzer} failed in {s.failed_replications}/{s.replications} replications "
        f"({s.fail_fraction:.0%}, 95% CI {low:.0%}-{high:.0%}; fail_if {s.fail_if})"
    )
