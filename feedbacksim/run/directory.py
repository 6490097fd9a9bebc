"""The run directory: findings.json, metrics.parquet (metrics.csv on request), manifest.json."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedbacksim.run.exports import write_metrics
from feedbacksim.run.files import atomic_write_text
from feedbacksim.run.runlock import hold_run_directory

if TYPE_CHECKING:
    from feedbacksim.run.results import Results

VERSIONED_PACKAGES = (
    "feedbacksim",
    "numpy",
    "simpy",
    "scikit-learn",
    "scipy",
    "pandas",
    "pydantic",
)


def default_run_dir(name: str, root: str | os.PathLike[str] = "runs") -> Path:
    """``runs/<name>-<UTC timestamp>/`` (not created)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{name}-{stamp}"


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine a run's numbers."""
    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def manifest(
    subject: dict[str, Any],
    *,
    seed: int,
    wall_time: float,
    command: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What makes a run, sweep or comparison reproducible: its resolved scenarios
    (``subject``), seed, package versions, platform, wall time and command."""
    return {
        **subject,
        "seed": seed,
        "versions": package_versions(),
        "platform": platform.platform(),
        "wall_time_seconds": round(wall_time, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command if command is not None else ["feedbacksim", *sys.argv[1:]],
        **(extra or {}),
    }


def write_json(path: Path, document: Any) -> None:
    """``document`` as indented JSON, written atomically."""
    atomic_write_text(path, json.dumps(document, indent=2, default=str))


def write_run(
    results: Results,
    directory: Path,
    command: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    csv: bool = False,
) -> Path:
    """Write findings.json, metrics.parquet (and metrics.csv when ``csv``) and manifest.json."""
    with hold_run_directory(directory, command):
        write_json(directory / "findings.json", results.to_json())
        write_metrics(results, directory, csv=csv)
        subject = {
            "scenario": results.scenario.to_dict(),
            "source": str(results.scenario.source) if results.scenario.source else None,
            "replications": results.replications,
            "overrides": results.scenario.overrides,
        }
        document = manifest(
            subject, seed=results.seed, wall_time=results.wall_time, command=command, extra=extra
        )
        write_json(directory / "manifest.json", document)
    return directory
