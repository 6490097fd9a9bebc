"""Property tests of designs: hypothesis strategies over scenarios, assertions over Results.

A team gates its design in CI with a test such as::

    from hypothesis import given
    import feedbacksim
    from feedbacksim.testing import assert_no_failure, ci_settings, scenario_params

    base = feedbacksim.load("scenarios/lending.yaml")

    @ci_settings()
    @given(params=scenario_params(base, {"environment.params.label_delay": (0, 60)}))
    def test_lending_never_runs_away(params):
        assert_no_failure(base.with_overrides(params).run(replications=5), "runaway")

A failing assertion's message holds the finding's sentence and the ``feedbacksim run``
command that reproduces hypothesis's shrunk counterexample; results that cannot carry the
judgement (a model never deployed, most retrains failed, unjudged replications) raise
``CouldNotJudge`` ("could not judge: ..."), never a pass. The pytest plugin
(:mod:`feedbacksim.testing.plugin`) adds options to scale runs and a ``run_scenario``
fixture.
"""

from feedbacksim.testing.assertions import (
    CouldNotJudge,
    FeedbackLoopFailure,
    assert_fail_fraction_below,
    assert_no_failure,
    assert_verdict,
)
from feedbacksim.testing.profile import PROFILE, ci_settings, register_profile
from feedbacksim.testing.reproduce import reproduce_command, scenario_command
from feedbacksim.testing.strategies import (
    declared_field,
    environment_params,
    scenario_params,
    scenarios,
)

__all__ = [
    "PROFILE",
    "CouldNotJudge",
    "FeedbackLoopFailure",
    "assert_fail_fraction_below",
    "assert_no_failure",
    "assert_verdict",
    "ci_settings",
    "declared_field",
    "environment_params",
    "register_profile",
    "reproduce_command",
    "scenario_command",
    "scenario_params",
    "scenarios",
]
