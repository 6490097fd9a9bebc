"""The error messages shown in docs/scenarios.md are the ones `feedbacksim validate` prints.

The documented block is compared with the real output for each file it names, so the
format reference cannot drift from the code. One fresh interpreter validates them all:
what a message says about plugins depends on which modules a process has imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad_scenarios"
DOC = ROOT / "docs" / "scenarios.md"


def documented_lines() -> list[str]:
    """The lines of the documented error block (the fenced block that names bad files)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("```\nunknown_key_param.yaml") + 4
    block = text[start : text.index("```", start)]
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def actual_lines() -> set[str]:
    """`feedbacksim validate` on every documented file, as the documentation shows it."""
    names = [line.split(":")[0] for line in documented_lines()]
    done = subprocess.run(
        [sys.executable, "-m", "feedbacksim", "validate", *names],
        cwd=BAD,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = [line.removeprefix("error: ") for line in done.stderr.splitlines()]
    return {line.replace(str(BAD) + "/", "") for line in lines}


@pytest.mark.parametrize("line", documented_lines(), ids=lambda line: line.split(":")[0])
def test_documented_error_is_the_real_one(line, actual_lines):
    assert line in actual_lines
