"""An inconclusive verdict (exit 3) when the evidence cannot carry a judgement, with its reason first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedbacksim.analyzers.base import Analyzer, Finding
from feedbacksim.analyzers.statistics import wilson_interval
from feedbacksim.cli import main
from feedbacksim.run.judgement import overall, replications_to_decide, rule_outcome
from feedbacksim.run.results import summarize
from feedbacksim.scenario import Scenario

TOY = """\
name: toy-judged
horizon: {horizon}
replications: 2
seed: 4
plugins: [toy_world]
environment: {{kind: toy, params: {{batch_size: 20, constant_label: {label}}}}}
agents:
  - name: scorer
    model: {model}
    policy: {{kind: threshold, threshold: 0.5}}
    retrain: {{every: 2, min_samples: 5}}
analyzers:
  - {{kind: invariant, name: some-accepted, condition: "min(acceptance_rate) >= 0"}}
{extra}"""


def toy_file(
    tmp_path: Path, *, model: str, label: str = "null", horizon: int = 10, extra: str = ""
) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY.format(model=model, label=label, horizon=horizon, extra=extra))
    return path


def run(path: Path, out: Path, capsys, *args: str) -> tuple[int, str]:
    code = main(["run", str(path), "--executor", "serial", "--quiet", "--out", str(out), *args])
    return code, capsys.readouterr().out


NEVER_TRAINED = {
    # liblinear has no elasticnet penalty: every fit raises.
    "elasticnet": (
        "{kind: sklearn.linear_model.LogisticRegression, params: {solver: liblinear, penalty: elasticnet, l1_ratio: 0.5}}",
        "null",
        "fit raised ValueError",
    ),
    # Every label is 0: every training set has one class.
    "one-class": (
        "{kind: sklearn.linear_model.LogisticRegression}",
        "0",
        "one class in training labels",
    ),
}


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("case", NEVER_TRAINED, ids=str)
def test_a_never_trained_model_is_inconclusive_with_the_reason_first(case, tmp_path, capsys):
    model, label, why = NEVER_TRAINED[case]
    code, out = run(toy_file(tmp_path, model=model, label=label), tmp_path / "run", capsys)
    assert code == 3
    first = out.splitlines()[0]
    # 10 days, a retrain attempt every 2 days from t=2: 4 per replication, 8 in all.
    assert first.startswith(
        "verdict: INCONCLUSIVE: no model was ever deployed by agent scorer in 2/2 replications "
        "(0 retrains succeeded, 8 failed"
    ), first
    assert why in first
    findings = json.loads((tmp_path / "run" / "findings.json").read_text())
    assert findings["verdict"] == "inconclusive" and findings["reason"] in first
    assert (
        (tmp_path / "run" / "findings.json")
        .read_text()
        .splitlines()[1]
        .startswith('  "verdict": "inconclusive"')
    )
    report = (tmp_path / "run" / "report.md").read_text().splitlines()[0]
    assert report.startswith("# toy-judged: verdict INCONCLUSIVE: no model was ever deployed")
    html = (tmp_path / "run" / "report.html").read_text()
    assert (
        '<p class="verdict inconclusive">Verdict: INCONCLUSIVE</p>\n<p class="reason">no model'
        in html
    )


def test_results_verdict_and_reason_from_python():
    base = Scenario.from_dict(
        {
            "name": "toy",
            "horizon": 10,
            "plugins": ["toy_world"],
            "environment": {"kind": "toy"},
            "agents": [
                {
                    "name": "scorer",
                    "model": {"kind": "toy-failing"},
                    "policy": {"kind": "threshold", "threshold": 0.5},
                    "retrain": {"every": 2},
                }
            ],
        }
    )
    results = base.run(replications=1)
    assert results.verdict == "inconclusive"
    assert results.inconclusive_reason == results.verdict_reason
    assert "fit raised RuntimeError: solver diverged" in results.verdict_reason


def test_a_run_shorter_than_the_analyzer_window_is_inconclusive(tmp_path, capsys):
    """The runaway test needs 20 points; 10 days give 10 (toy world, one record a day)."""
    extra = "  - {kind: runaway, metric: acceptance_rate, reference: 0.5, tolerance: 0.4}\n"
    code, out = run(
        toy_file(tmp_path, model="{kind: toy-constant, params: {probability: 0.7}}", extra=extra),
        tmp_path / "run",
        capsys,
    )
    assert code == 3
    assert out.splitlines()[0].startswith(
        "verdict: INCONCLUSIVE: runaway could not judge 2/2 replications (runaway could not "
        "judge acceptance_rate: 10 recorded points, fewer than the 20 it needs)"
    ), out.splitlines()[0]
    code, out = run(
        toy_file(
            tmp_path,
            model="{kind: toy-constant, params: {probability: 0.7}}",
            extra=extra,
            horizon=30,
        ),
        tmp_path / "run30",
        capsys,
    )
    assert code == 0, out.splitlines()[0]


class Fake(Analyzer):
    kind = "fake"


def findings(name: str, failed: int, n: int, unjudged: int = 0) -> list[Finding]:
    out = []
    for i in range(n):
        out.append(
            Finding(
                analyzer=name,
                kind="fake",
                severity="fail" if i < failed else "info",
                failed=i < failed,
                metric="m",
                group="",
                first_detected_at=None,
                statistic=None,
                threshold=None,
                message="could not judge m: reason" if failed <= i < failed + unjudged else "ok",
                replication=i,
                inconclusive=failed <= i < failed + unjudged,
            )
        )
    return out


def test_a_fraction_rule_whose_interval_straddles_the_threshold_is_inconclusive():
    # 4/10: Wilson 95% interval 17%-69%, around 0.3.
    s = summarize(Fake(name="a", fail_if=0.3), findings("a", 4, 10), 10)
    assert s.status == "inconclusive" and not s.failed
    needed = replications_to_decide(0.4, 0.3)
    # At 40% the lower bound passes 0.3 from n = needed on, not one replication earlier.
    assert wilson_interval(round(0.4 * needed), needed)[0] > 0.3
    assert wilson_interval(round(0.4 * (needed - 1)), needed - 1)[0] <= 0.3
    assert 80 < needed < 100
    assert f"about {needed} replications at this rate would decide it" in s.reason
    assert (
        "4/10 replications (40%, 95% CI 17%-69%), an interval that straddles fail_if 0.3"
        in s.reason
    )
    # 9/10: lower bound 60% > 0.3, decided; 0/10: upper bound 28% <= 0.3, decided.
    assert summarize(Fake(name="a", fail_if=0.3), findings("a", 9, 10), 10).status == "fail"
    assert summarize(Fake(name="a", fail_if=0.3), findings("a", 0, 10), 10).status == "pass"


def test_lower_rule_is_one_sided_and_any_needs_no_interval():
    assert rule_outcome("lower>0.1", 12, 100) == "pass"  # 12% (7-20%): not confident above 10%
    assert rule_outcome("lower>0.1", 25, 100) == "fail"
    # The pass says so when the observed fraction is above x (bandit_mitigated as shipped).
    s = summarize(Fake(name="a", fail_if="lower>0.1"), findings("a", 12, 100), 100)
    assert s.status == "pass"
    needed = replications_to_decide(0.12, 0.1)
    assert wilson_interval(round(0.12 * needed), needed)[0] > 0.1 and 700 < needed < 1000
    assert s.message.endswith(
        f"The fraction is above 0.1 but its interval reaches below: about {needed} "
        "replications at this rate would fail it."
    )
    assert rule_outcome("any", 1, 100) == "fail" and rule_outcome("any", 0, 1) == "pass"
    assert rule_outcome(0.0, 0, 5) == "pass"  # fraction 0 is 'any'


def test_unjudged_replications_decide_only_when_they_could_flip_the_rule():
    # 'any', none failing, 2 of 10 unjudged: those two could have failed.
    s = summarize(Fake(name="a"), findings("a", 0, 10, unjudged=2), 10)
    assert s.status == "inconclusive" and s.unjudged == 2
    assert s.reason.startswith("a could not judge 2/10 replications (could not judge m: reason)")
    # One failing replication fails 'any' whatever the unjudged ones show.
    assert summarize(Fake(name="a"), findings("a", 1, 10, unjudged=2), 10).status == "fail"


def evidence(deployed: bool, retrains: int, skipped: int) -> list[Finding]:
    return [
        Finding(
            analyzer="evidence",
            kind="evidence",
            severity="info",
            failed=False,
            metric="",
            group="",
            first_detected_at=None,
            statistic=None,
            threshold=None,
            message="",
            evidence={
                "agents": {
                    "lender": {
                        "deployed": deployed,
                        "retrains": retrains,
                        "skipped": skipped,
                        "waiting": 0,
                        "first_skip_reason": "fit raised ValueError: bad",
                    }
                }
            },
            replication=0,
        )
    ]


def test_precedence_a_clear_fail_is_never_hidden_but_an_undeployed_model_judges_nothing():
    clear_fail = summarize(Fake(name="clear"), findings("clear", 3, 10), 10)
    undecided = summarize(Fake(name="doubt", fail_if=0.3), findings("doubt", 4, 10), 10)
    verdict, reason = overall([clear_fail, undecided], evidence(True, 10, 0), 10)
    assert verdict == "fail" and reason.startswith("clear failed in 3/10 replications")
    verdict, reason = overall([undecided], evidence(True, 10, 0), 10)
    assert verdict == "inconclusive" and reason.startswith("doubt failed in 4/10")
    # Most retrains failed: inconclusive unless an analyzer clearly fails.
    verdict, reason = overall([], evidence(True, 4, 6), 10)
    assert verdict == "inconclusive"
    assert reason == (
        "6 of agent lender's 10 retrain attempts failed (60%, more than 50%); first: "
        "fit raised ValueError: bad"
    )
    assert overall([clear_fail], evidence(True, 4, 6), 10)[0] == "fail"
    assert overall([], evidence(True, 5, 5), 10)[0] == "pass"  # 50% is not more than 50%
    # No model ever deployed: even a failing analyzer judged the placeholder scores.
    assert overall([clear_fail], evidence(False, 0, 6), 10)[0] == "inconclusive"


def test_compare_of_an_undeployed_design_exits_3(tmp_path, capsys):
    path = toy_file(tmp_path, model="{kind: toy-failing}")
    code = main(
        ["compare", str(path), str(path), "--executor", "serial", "--quiet", "--no-report"]
        + ["--out", str(tmp_path / "cmp"), "--replications", "1"]
    )
    out = capsys.readouterr().out
    assert code == 3
    assert out.splitlines()[0].startswith(
        "verdict: INCONCLUSIVE: A (toy-judged): no model was ever deployed by agent scorer"
    )
    document = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert document["verdict"] == "inconclusive"
