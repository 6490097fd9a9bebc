"""Make the screenshots in this folder: a run, a sweep and a compare report in a real browser.

Runs the three commands on the shipped policing scenarios (at a size that takes seconds),
then opens each ``report.html`` in headless Chromium at 1,300 px width and saves the page
as ``run.png``, ``sweep.png`` and ``compare.png`` beside this script. Run it from the
repository root after changing the report layout:

    python docs/screenshots/make.py

Needs Debian's ``chromium`` (``apt-get install -y chromium``) or ``CHROMIUM=/path/to/it``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WIDTH = 1300
SCENARIOS = ROOT / "scenarios"
SMALL = ["--executor", "serial", "--quiet"]

# name -> (command, window height in px: the page down to the end of its figures)
REPORTS = {
    "run": (
        ["run", SCENARIOS / "predictive_policing.yaml", "--replications", "20"],
        2300,
    ),
    "sweep": (
        [
            "sweep",
            SCENARIOS / "predictive_policing.yaml",
            "--replications",
            "6",
            "--set",
            "horizon=500",
        ],
        2500,
    ),
    "compare": (
        [
            "compare",
            SCENARIOS / "predictive_policing.yaml",
            SCENARIOS / "predictive_policing_corrected.yaml",
            "--replications",
            "20",
            "--set-all",
            "horizon=1000",
        ],
        2900,
    ),
}


def chromium() -> str:
    """The Chromium executable (``CHROMIUM`` or the first on PATH)."""
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        sys.exit("no chromium found: apt-get install -y chromium, or set CHROMIUM")
    return found


def screenshot(browser: str, page: Path, target: Path, height: int) -> None:
    """Headless Chromium, no network, a fresh profile: ``page`` at WIDTH x height into ``target``."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={target}",
                f"--window-size={WIDTH},{height}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    """Run the three commands, screenshot their reports, print where the PNGs are."""
    browser = chromium()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as work:
        for name, (command, height) in REPORTS.items():
            out = Path(work) / name
            args = [sys.executable, "-m", "feedbacksim", *map(str, command), *SMALL]
            done = subprocess.run([*args, "--out", str(out)], cwd=ROOT, env=env, timeout=900)
            if done.returncode not in (0, 1):
                sys.exit(f"{name}: feedbacksim exited {done.returncode}")
            target = HERE / f"{name}.png"
            screenshot(browser, out / "report.html", target, height)
            print(target.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
