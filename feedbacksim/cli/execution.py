"""Command-line options of the commands that run replications: executor, workers, resume, quiet.

Adding the options imports only light modules (the executors' names, the run options and
the progress display): ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from feedbacksim.errors import Problem, ScenarioError
from feedbacksim.run.executors import EXECUTORS
from feedbacksim.run.options import RunOptions
from feedbacksim.run.progress import Progress, make_progress

# A Dask scheduler address: an optional protocol, a host (name, IPv4 or [IPv6]) and a port.
_ADDRESS = re.compile(r"^((tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$")


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
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing: the exit code is the answer (errors still go to stderr)",
    )
    parser.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="skip report.html, report.md and figures/ (regenerate later with feedbacksim report DIR)",
    )


def add_mlflow_option(parser: argparse.ArgumentParser) -> None:
    """``--mlflow [URI]``: log the results to MLflow (default store: ./mlruns)."""
    parser.add_argument(
        "--mlflow",
        nargs="?",
        const="mlruns",
        default=None,
        metavar="URI",
        help="log the results to MLflow: a tracking URI, or a folder for a local store "
        "(default ./mlruns); needs feedbacksim[mlflow]",
    )


def check_mlflow(args: argparse.Namespace) -> None:
    """With ``--mlflow``, refuse at once (exit 2) when mlflow is not installed."""
    if getattr(args, "mlflow", None) is not None:
        from feedbacksim.mlflow import require_mlflow

        require_mlflow()


def log_to_mlflow(args: argparse.Namespace, directory: Path, kind: str, progress: Progress) -> int:
    """Log ``directory`` when ``--mlflow`` was given; 0, or 3 when MLflow could not take it."""
    if args.mlflow is None:
        return 0
    from feedbacksim import mlflow as tracking

    progress.phase(f"mlflow: logging the {kind} to {args.mlflow}")
    log = tracking.log_sweep if kind == "sweep" else tracking.log_run
    try:
        run_id = log(directory, args.mlflow)
    except Exception as exc:  # any tracking-server or store failure: the results are on disk
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: mlflow: could not log {directory}: {first}", file=sys.stderr)
        return 3
    if not args.quiet:
        print(f"mlflow: run {run_id} in {args.mlflow}")
    return 0


def progress_of(options: RunOptions) -> Progress:
    """The run's progress display (a silent one when none was made)."""
    return options.progress or Progress()


def announce_report(args: argparse.Namespace, progress: Progress) -> None:
    """The report phase's line (``save`` draws the report after the results)."""
    if args.report:
        progress.phase("report: drawing the figures and writing report.html and report.md")


def print_report_path(args: argparse.Namespace, directory: Path) -> None:
    """Say where the report that ``save`` wrote is, unless ``--no-report`` or ``--quiet``."""
    if args.report and not args.quiet:
        print(f"report: {directory / 'report.html'}")


def write_report_unless_skipped(
    args: argparse.Namespace, directory: Path, progress: Progress | None = None
) -> None:
    """Build the directory's report unless ``--no-report`` was given, and say where it is."""
    if not args.report:
        return
    from feedbacksim.report import write_report

    if progress is not None:
        announce_report(args, progress)
    paths = write_report(directory)
    if not args.quiet:
        print(f"report: {paths['html']}")


def execution_options(args: argparse.Namespace, default_dir: Path) -> RunOptions:
    """The run options from the parsed command line."""
    from feedbacksim.scenario.schema import MAX_REPLICATIONS

    if args.replications is not None and not 1 <= args.replications <= MAX_REPLICATIONS:
        raise ScenarioError(
            f"--replications must be between 1 and {MAX_REPLICATIONS:,}, found {args.replications}"
        )
    if args.seed is not None and args.seed < 0:
        raise ScenarioError("--seed must be a non-negative integer")
    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers must be at least 1")
    if args.resume is not None and args.out is not None and args.resume != args.out:
        raise ScenarioError("--resume DIR is the run directory; do not also give --out")
    executor = "dask" if args.address else args.executor
    if args.address and args.executor not in ("dask", "processes"):
        raise ScenarioError("--address needs --executor dask")
    if args.address is not None and not _ADDRESS.match(args.address):
        raise ScenarioError(
            f"--address {args.address!r}: expected a Dask scheduler address like tcp://host:8786"
        )
    directory = args.resume or args.out or default_dir
    check_run_directory(directory, resume=args.resume is not None)
    # Where a crash log goes if the command fails without a verdict (see feedbacksim.cli).
    args.run_directory = directory
    return RunOptions(
        executor=executor,
        workers=args.workers,
        address=args.address,
        directory=directory,
        resume=args.resume is not None,
        progress=make_progress(args.quiet),
    )


def check_run_directory(directory: Path, resume: bool) -> None:
    """Refuse a run directory that cannot be one: an existing file, or a missing ``--resume`` DIR."""
    flag = "--resume" if resume else "--out"
    if directory.exists() and not directory.is_dir():
        raise ScenarioError(Problem(f"{flag} {directory}: exists and is not a directory"))
    if resume and not directory.is_dir():
        raise ScenarioError(
            Problem(
                f"--resume {directory}: no such run directory (to start a run there, use --out)"
            )
        )
    for parent in directory.parents:
        if parent.exists() and not parent.is_dir():
            raise ScenarioError(Problem(f"{flag} {directory}: {parent} is not a directory"))
