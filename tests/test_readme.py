"""Every command the README shows runs as shown, at reduced sizes, with the exit code it states.

Commands are taken from the README itself: each line of a ```sh block, each ``$ `` line of a
```console block, and each inline ``feedbacksim ...`` span that names a shipped file.
```text blocks are synopses (placeholders), not commands. A command the README gains must
be added to ``EXPECTED`` with its exit code, so none goes unrun. Simulations are scaled
down (``--replications``, ``--set horizon=...``); the shipped seeds keep the verdicts.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

# Exit code of each command at the reduced size below (the README's words in the comment).
EXPECTED = {
    # "the run exits 1"
    "feedbacksim run scenarios/predictive_policing.yaml": 1,
    # equal rates: the uncorrected urn still settles at a random share, away from 0.5
    "feedbacksim run scenarios/predictive_policing.yaml "
    "--set environment.params.incident_rates=[0.5,0.5]": 1,
    # 10% exploration is not enough: 1 of these 4 replications still runs away
    "feedbacksim run scenarios/predictive_policing.yaml --set agents.dispatcher.policy.epsilon=0.1": 1,
    # "Exit 0 when B fails in no more replications than A"
    "feedbacksim compare scenarios/predictive_policing.yaml "
    "scenarios/predictive_policing_corrected.yaml": 0,
    "feedbacksim sweep scenarios/predictive_policing.yaml": 0,
    "feedbacksim validate examples/broken/broken.yaml": 2,
    # "Log any run or sweep to MLflow" (the store goes to a temporary folder here)
    "feedbacksim run scenarios/predictive_policing.yaml --mlflow=mlruns": 1,
    # the reproduction command the CI section quotes
    "feedbacksim run scenarios/predictive_policing.yaml "
    "--set 'environment.params.incident_rates=[0.5, 0.5]' --set horizon=300 --seed 7 "
    "--replications 5": 1,
}
SMALL = {
    "run": ["--replications", "4", "--set", "horizon=300"],
    "sweep": ["--replications", "1", "--set", "horizon=30"],
    "compare": ["--replications", "4", "--set-all", "horizon=300"],
}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced code block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)


def shown_commands(text: str) -> list[str]:
    """The commands of sh and console blocks (continuations joined), and inline ones."""
    out: list[str] = []
    for language, body in fenced_blocks(text):
        body = body.replace("\\\n", " ")
        if language == "sh":
            out += [line.strip() for line in body.splitlines() if line.strip()]
        elif language == "console":
            out += [line[2:].strip() for line in body.splitlines() if line.startswith("$ ")]
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for span in re.findall(r"`(feedbacksim [^`]+)`", prose):
        words = shlex.split(span)
        if len(words) > 2 and (ROOT / words[2]).is_file():
            out.append(span)
    return [" ".join(c.split()) for c in dict.fromkeys(out)]


def _normal(command: str) -> str:
    return " ".join(command.split())


def run_cli(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``feedbacksim ...`` at reduced size, in a subprocess, from the repository root."""
    words = shlex.split(command)
    assert words[0] == "feedbacksim"
    extra = list(SMALL.get(words[1], []))
    if "--replications" in words:
        extra = []  # the command sets its own (small) size
    if words[1] in SMALL:
        extra += ["--executor", "serial", "--out", str(tmp_path / "out")]
    # A local MLflow store named by the README goes under tmp_path, not into the checkout.
    words = [
        f"--mlflow={tmp_path / w.split('=', 1)[1]}" if w.startswith("--mlflow=") else w
        for w in words
    ]
    return subprocess.run(
        [sys.executable, "-m", "feedbacksim", *words[1:], *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"},
        timeout=600,
    )


def test_first_block_is_the_main_job_then_the_tests():
    language, body = fenced_blocks(README)[0]
    assert language == "sh"
    assert body.splitlines() == [
        "pip install . && feedbacksim run scenarios/predictive_policing.yaml",
        'pip install ".[dev]" && pytest',
    ]


def test_every_shown_feedbacksim_command_is_known():
    commands = [c for c in shown_commands(README) if c.startswith("feedbacksim ")]
    unknown = [c for c in commands if c not in {_normal(k) for k in EXPECTED}]
    assert not unknown, f"add these README commands to EXPECTED: {unknown}"
    assert len(commands) >= 6


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_command_runs_as_shown(command, tmp_path):
    assert _normal(command) in shown_commands(README), f"the README no longer shows {command}"
    done = run_cli(command, tmp_path)
    assert done.returncode == EXPECTED[command], done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_first_block_commands_after_the_install(tmp_path):
    """``feedbacksim run`` of the first block, as the README says: a FAIL verdict, exit 1."""
    first = fenced_blocks(README)[0][1].splitlines()[0]
    command = first.split("&&", 1)[1].strip()
    done = run_cli(command, tmp_path)
    assert done.returncode == 1
    assert "verdict: FAIL" in done.stdout
    assert (tmp_path / "out" / "report.html").is_file()


def test_validate_prints_what_the_readme_shows():
    block = next(b for lang, b in fenced_blocks(README) if "$ feedbacksim validate" in b)
    shown = block.splitlines()[1:]
    done = run_cli("feedbacksim validate examples/broken/broken.yaml", ROOT)
    printed = (done.stderr + done.stdout).splitlines()
    assert sorted(printed) == sorted(shown)


def _python_blocks() -> list[str]:
    return [body for language, body in fenced_blocks(README) if language == "python"]


def test_python_snippet_prints_what_its_comments_say():
    """The first snippet's comments are the values its expressions have."""
    snippet = _python_blocks()[0]
    namespace: dict = {}
    checked = 0
    statement: list[str] = []
    for line in snippet.splitlines():
        code, _, comment = line.partition("  # ")
        statement.append(code)
        text = "\n".join(statement)
        try:
            compiled = compile(text, "README", "eval")
        except SyntaxError:
            try:
                exec(compile(text, "README", "exec"), namespace)  # noqa: S102
            except SyntaxError:
                continue  # an unfinished statement: read the next line
            statement = []
            continue
        value = eval(compiled, namespace)  # noqa: S307
        statement = []
        if comment.startswith('"'):
            expected = comment.strip().strip('"')
            prefix = expected.split("...")[0]
            assert str(value).startswith(prefix), (text, value, expected)
            checked += 1
    assert checked == 2  # the verdict and the message


def test_main_guard_snippet_runs(tmp_path):
    snippet = _python_blocks()[1]
    assert 'if __name__ == "__main__":' in snippet
    script = snippet.replace("replications=200", "replications=2").replace(
        '"runs/policing-200"', repr(str(tmp_path / "policing"))
    )
    script = script.replace(".run(\n", '.with_overrides({"horizon": 100}).run(\n')
    assert script.count("replications=2,") == 1 and "horizon" in script
    path = tmp_path / "script.py"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "policing" / "replications" / "rep-000001.npz").is_file()


def test_gym_snippet_runs_and_shows_ground_truth():
    pytest.importorskip("gymnasium")
    snippet = _python_blocks()[3]
    assert "feedbacksim.gym.make" in snippet
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(snippet, "README", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    share = namespace["info"]["metrics"]["best_arm_share"]
    assert share.shape == (1,) and 0.0 <= float(share[0]) <= 1.0
    assert namespace["env"].action_space.n == 2


def _pytest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=900,
    )


def test_gate_snippet_passes_on_the_corrected_design(tmp_path):
    snippet = _python_blocks()[2]
    path = tmp_path / "test_gate.py"
    path.write_text(textwrap.dedent(snippet), encoding="utf-8")
    done = _pytest(
        "-p",
        "feedbacksim.testing.plugin",
        str(path),
        "--rootdir",
        str(tmp_path),
        "--feedbacksim-horizon",
        "100",
        "--feedbacksim-replications",
        "2",
        env={"FEEDBACKSIM_MAX_EXAMPLES": "3"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.mark.slow
def test_ci_gate_command_fails_on_the_lending_gate_as_the_readme_says(tmp_path):
    """The README: the dispatcher gate passes, the lending gate fails (band-label-bias),
    and the printed command reproduces the failure."""
    (command,) = [c for c in shown_commands(README) if "examples/ci" in c]
    words = shlex.split(command)
    env = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
    args = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
    assert args[0] == "pytest"
    done = _pytest(*args[1:], env=env)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 failed, 1 passed" in out
    assert "FAILED examples/ci/test_lending_design.py::test_lending_design_passes" in out
    assert "band-label-bias detected in 5/5 replications" in out
    shown = re.search(r"`epsilon=([\d.]+), label_delay=([\d.]+)`", README)
    assert shown is not None
    assert f"'agents.lender.policy.epsilon': {shown.group(1)}" in out
    reproduce = out.split("feedbacksim: reproduce", 1)[1].splitlines()[2].strip()
    assert reproduce.startswith("feedbacksim run scenarios/lending.yaml")
    again = run_cli(reproduce, tmp_path)
    assert again.returncode == 1, again.stdout + again.stderr
