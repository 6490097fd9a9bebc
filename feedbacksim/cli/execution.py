"""Command-line options of the commands that run replications: executor, workers, resume, quiet."""

from __future__ import annotations

import argparse
from pathlib import Path

from feedbacksim.errors import ScenarioError
from feedbacksim.run.executors import EXECUTORS
from feedbacksim.run.options import RunOptions
from feedbacksim.run.progress import make_progress


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """``--executor``, ``--workers``, ``--address``, ``--out``, ``--resume``, ``--quiet``, ``--no-report``."""
    parser.add_argument(
        "--replications", type=int, help="number of replications (default: the scenario's)"
    )
    parser.add_argument("--seed", type=int, help="seed of the run (default: the scenario's)")
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="processes",
        help="where replications run (default: processes, one worker per core)",
    )
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument(
        "--address", help="a Dask scheduler to use, e.g. tcp://host:8786 (implies --executor dask)"
    )
    parser.add_argument(
        "--out", type=Path, help="run directory (default: runs/<name>-<timestamp>/)"
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="continue the run in DIR, skipping complete replications",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="skip report.html, report.md and figures/ (regenerate later with feedbacksim report DIR)",
    )


def print_report_path(args: argparse.Namespace, directory: Path) -> None:
    """Say where the report that ``save`` wrote is, unless ``--no-report`` was given."""
    if args.report:
        print(f"report: {directory / 'report.html'}")


def write_report_unless_skipped(args: argparse.Namespace, directory: Path) -> None:
    """Build the directory's report unless ``--no-report`` was given, and say where it is."""
    if not args.report:
        return
    from feedbacksim.report import write_report

    print(f"report: {write_report(directory)['html']}")


def execution_options(args: argparse.Namespace, default_dir: Path) -> RunOptions:
    """The run options from the parsed command line."""
    if args.replications is not None and args.replications < 1:
        raise ScenarioError("--replications must be at least 1")
    if args.seed is not None and args.seed < 0:
        raise ScenarioError("--seed must be a non-negative integer")
    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers must be at least 1")
    if args.resume is not None and args.out is not None and args.resume != args.out:
        raise ScenarioError("--resume DIR is the run directory; do not also give --out")
    executor = "dask" if args.address else args.executor
    if args.address and args.executor not in ("dask", "processes"):
        raise ScenarioError("--address needs --executor dask")
    return RunOptions(
        executor=executor,
        workers=args.workers,
        address=args.address,
        directory=args.resume or args.out or default_dir,
        resume=args.resume is not None,
        progress=make_progress(args.quiet),
    )
