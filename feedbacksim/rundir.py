"""The run directory: findings.json, metrics (CSV, and Parquet when pyarrow is installed), manifest.json."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from feedbacksim.results import Results

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


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (no half-written files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine a run's numbers."""
    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def manifest(results: Results, command: list[str] | None = None) -> dict[str, Any]:
    """What makes the run reproducible: the resolved scenario, seed, versions, wall time, command."""
    return {
        "scenario": results.scenario.to_dict(),
        "source": str(results.scenario.source) if results.scenario.source else None,
        "seed": results.seed,
        "replications": results.replications,
        "versions": package_versions(),
        "platform": platform.platform(),
        "wall_time_seconds": round(results.wall_time, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command if command is not None else ["feedbacksim", *sys.argv[1:]],
    }


def write_run(results: Results, directory: Path, command: list[str] | None = None) -> Path:
    """Write findings.json, metrics.csv (and metrics.parquet with pyarrow) and manifest.json."""
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        directory / "findings.json", json.dumps(results.to_json(), indent=2, default=str)
    )
    frame = results.to_frame()
    atomic_write_text(directory / "metrics.csv", frame.to_csv(index=False, float_format="%.10g"))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        frame.to_parquet(directory / "metrics.parquet", index=False)
    atomic_write_text(
        directory / "manifest.json", json.dumps(manifest(results, command), indent=2, default=str)
    )
    return directory
