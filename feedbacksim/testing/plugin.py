"""pytest plugin: scale scenario runs from the command line, reproduce failures from the report.

Options:
    ``--feedbacksim-replications N``: replications of every run made with ``run_scenario``
        (overrides the test's own number: few in CI, many at night).
    ``--feedbacksim-horizon T``: simulated horizon of those runs (a ``horizon`` override,
        so it appears in the reproduction command).

Fixture ``run_scenario(scenario, overrides=None, replications=None, seed=None) ->
Results``: loads (a path) or takes a Scenario, applies the options and runs it.

When a test fails, its report gets a section with the ``feedbacksim run`` command that
reproduces the failing run: the command of a failed feedbacksim assertion, else of the
last run the test made with ``run_scenario``. The plugin is registered under the
``pytest11`` entry point; without an install, load it with ``-p feedbacksim.testing.plugin``.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import pytest

from feedbacksim.run.results import Results
from feedbacksim.scenario.scenario import Scenario, load
from feedbacksim.testing.assertions import FeedbackLoopFailure
from feedbacksim.testing.profile import register_profile
from feedbacksim.testing.reproduce import reproduce_command

# Registered on import, before hypothesis's own plugin loads a ``--hypothesis-profile``.
register_profile()

SECTION = "feedbacksim: reproduce"
LAST_RESULTS = pytest.StashKey[Results]()


class ScenarioRunner:
    """Runs scenarios for tests with the session's scaling options; remembers each test's last run."""

    def __init__(self, replications: int | None, horizon: float | None) -> None:
        self.replications = replications
        self.horizon = horizon
        self.item: pytest.Item | None = None

    def __call__(
        self,
        scenario: Scenario | str | os.PathLike[str],
        overrides: Mapping[str, Any] | None = None,
        replications: int | None = None,
        seed: int | None = None,
    ) -> Results:
        """Run ``scenario`` with ``overrides``; the session's options win over the arguments."""
        if not isinstance(scenario, Scenario):
            scenario = load(scenario)
        changes = dict(overrides or {})
        if self.horizon is not None:
            changes["horizon"] = self.horizon
        if changes:
            scenario = scenario.with_overrides(changes)
        results = scenario.run(replications=self.replications or replications, seed=seed)
        if self.item is not None:
            self.item.stash[LAST_RESULTS] = results
        return results


RUNNER = pytest.StashKey[ScenarioRunner]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("feedbacksim", "feedbacksim scenario runs")
    group.addoption(
        "--feedbacksim-replications",
        type=int,
        default=None,
        metavar="N",
        help="replications of every run_scenario run (default: what the test asks)",
    )
    group.addoption(
        "--feedbacksim-horizon",
        type=float,
        default=None,
        metavar="T",
        help="simulated horizon of every run_scenario run (default: the scenario's)",
    )


def pytest_configure(config: pytest.Config) -> None:
    replications = config.getoption("--feedbacksim-replications")
    horizon = config.getoption("--feedbacksim-horizon")
    if replications is not None and replications < 1:
        raise pytest.UsageError("--feedbacksim-replications must be at least 1")
    if horizon is not None and not horizon > 0:
        raise pytest.UsageError("--feedbacksim-horizon must be positive")
    if horizon is not None and horizon.is_integer():
        horizon = int(horizon)  # reads as horizon=300 in the reproduction command
    config.stash[RUNNER] = ScenarioRunner(replications, horizon)


@pytest.fixture(scope="session")
def run_scenario(pytestconfig: pytest.Config) -> ScenarioRunner:
    """Run a scenario (a path or a Scenario) scaled by the session's feedbacksim options.

    Session-scoped so that hypothesis tests may use it: it holds no per-example state.
    """
    return pytestconfig.stash[RUNNER]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    runner = item.config.stash.get(RUNNER, None)
    if runner is not None:
        runner.item = item
    try:
        return (yield)
    finally:
        if runner is not None:
            runner.item = None


def _failure(exc: BaseException | None) -> FeedbackLoopFailure | None:
    """The feedbacksim assertion inside ``exc`` (itself or in an exception group)."""
    if isinstance(exc, FeedbackLoopFailure):
        return exc
    # An exception group (hypothesis reports several distinct failures as one).
    for inner in getattr(exc, "exceptions", ()):
        found = _failure(inner)
        if found is not None:
            return found
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when != "call" or not report.failed:
        return report
    failure = _failure(call.excinfo.value if call.excinfo else None)
    text = None
    if failure is not None and failure.command is not None:
        text = failure.command
    elif LAST_RESULTS in item.stash:
        try:
            text = f"(the test's last run) {reproduce_command(item.stash[LAST_RESULTS])}"
        except ValueError:
            text = None
    if text is not None:
        report.sections.append((SECTION, f"in {os.getcwd()}:\n{text}"))
        item.user_properties.append(("feedbacksim_reproduce", text))
    return report
