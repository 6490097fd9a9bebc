"""``feedbacksim run SCENARIO``: replications, a verdict table, a run directory, an exit code."""

from __future__ import annotations

import argparse
from pathlib import Path

from feedbacksim.cli.display import print_verdict
from feedbacksim.cli.options import add_scenario_options, load_scenario
from feedbacksim.rundir import default_run_dir, write_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``run`` subcommand."""
    parser = sub.add_parser("run", help="run a scenario and print its verdict")
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument(
        "--replications", type=int, help="number of replications (default: the scenario's)"
    )
    parser.add_argument("--seed", type=int, help="seed of the run (default: the scenario's)")
    parser.add_argument(
        "--out", type=Path, help="run directory (default: runs/<name>-<timestamp>/)"
    )
    add_scenario_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the scenario; exit 0 when the verdict passes, 1 when it fails."""
    scenario = load_scenario(args.scenario, args)
    if args.replications is not None and args.replications < 1:
        from feedbacksim.errors import ScenarioError

        raise ScenarioError("--replications must be at least 1")
    results = scenario.run(replications=args.replications, seed=args.seed)
    out = write_run(results, args.out or default_run_dir(scenario.name))
    print_verdict(results)
    print(f"results: {out}")
    return 0 if results.verdict == "pass" else 1
