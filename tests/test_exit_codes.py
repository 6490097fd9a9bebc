"""Every outcome has its exit code: invalid commands exit 2 in one line, faults exit 3 in
one line with a crash log, Ctrl-C 130, and plugin modules run only when trusted.

The malformed files themselves are in ``tests/data/bad_scenarios`` (see
``test_scenario_files.py``); here are the command-line options, the faults and the trust
model, and a fuzz over documents and ``--set`` values.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedbacksim.cli import main
from feedbacksim.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
POLICING = ROOT / "scenarios" / "predictive_policing.yaml"
SMALL = ["--set", "horizon=20", "--replications", "2", "--executor", "serial", "--quiet"]


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Run from a temporary folder, so a default ``runs/`` directory lands in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


COMMAND_CASES = {
    "out-is-a-file": (["run", str(POLICING), "--out", "{file}"], "--out"),
    "out-under-a-file": (["run", str(POLICING), "--out", "{file}/run"], "is not a directory"),
    "address-not-a-url": (["run", str(POLICING), "--address", "not-a-url"], "--address"),
    "resume-missing": (["run", str(POLICING), "--resume", "{tmp}/missing"], "--resume"),
    "replications-cap": (["run", str(POLICING), "--replications", "1000000000"], "1,000,000"),
    "sweep-total-cap": (
        ["sweep", str(POLICING), "--replications", "1000000"],
        "16 points x 1000000 replications is more than the cap",
    ),
    "set-nested-deep": (
        ["validate", str(POLICING), "--set", "horizon=" + "[" * 1000 + "]" * 1000],
        "--set horizon: cannot read the value",
    ),
    "set-unparsable": (["validate", str(POLICING), "--set", "horizon=[1,"], "'[1,'"),
    "set-extends": (
        ["validate", str(POLICING), "--set", "extends=other.yaml"],
        "--set extends: cannot be overridden",
    ),
    "set-index-out-of-range": (
        ["validate", str(POLICING), "--set", "agents.3.policy.epsilon=0.1"],
        "index 3 is not in agents (the only index is 0, or a name: dispatcher)",
    ),
    "set-name-too-long": (
        ["validate", str(POLICING), "--set", "name=" + "x" * 5000],
        "--set name: at most 100 characters",
    ),
    "set-name-escapes": (
        ["run", str(POLICING), "--set", "name=../../outside"],
        "--set name: names the run directory",
    ),
    "set-horizon-nan": (
        ["validate", str(POLICING), "--set", "horizon=.nan"],
        "--set horizon: expected a finite number, found nan",
    ),
}


@pytest.mark.parametrize("case", sorted(COMMAND_CASES))
def test_invalid_command_exits_2_in_one_line(case, in_tmp, capsys):
    args, fragment = COMMAND_CASES[case]
    (in_tmp / "file").write_text("not a directory")
    args = [a.replace("{file}", str(in_tmp / "file")).replace("{tmp}", str(in_tmp)) for a in args]
    started = time.process_time()
    code = main([*args, "--quiet"] if args[0] != "validate" else args)
    assert time.process_time() - started < 5
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID, err
    (line,) = error_lines(err)
    assert fragment in line
    assert "Traceback" not in err and "<scenario>" not in err and "<unicode string>" not in err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["file"]  # nothing was written


def test_a_fault_while_writing_is_exit_3_with_a_crash_log_in_the_run_directory(
    in_tmp, capsys, monkeypatch
):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "metrics.csv")

    # The command imports its writer when it runs: patch it where it lives.
    monkeypatch.setattr("feedbacksim.run.directory.write_run", disk_full)
    out = in_tmp / "run"
    code = main(["run", str(POLICING), *SMALL, "--no-report", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == ExitCode.NO_VERDICT
    (line,) = err.splitlines()
    assert os.strerror(errno.ENOSPC) in line and f"details: {out / 'crash.log'}" in line
    log = (out / "crash.log").read_text()
    assert "Traceback" in log and "disk_full" in log


def test_debug_prints_the_traceback(in_tmp, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal error")

    monkeypatch.setattr("feedbacksim.run.directory.write_run", broken)
    args = ["run", str(POLICING), *SMALL, "--no-report", "--out", str(in_tmp / "r")]
    assert main([*args, "--debug"]) == ExitCode.NO_VERDICT
    err = capsys.readouterr().err
    assert "Traceback" in err and "in broken" in err
    assert err.splitlines()[-1].startswith("feedbacksim: no verdict: RuntimeError: internal error")


def test_a_fault_before_any_run_directory_logs_to_a_named_temporary_file(capsys, monkeypatch):
    import feedbacksim.cli.validate as validate_command

    def broken(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(validate_command, "load_scenario", broken)
    assert main(["validate", str(POLICING)]) == ExitCode.NO_VERDICT
    (line,) = capsys.readouterr().err.splitlines()
    log = Path(line.split("details: ")[1].split(" (--debug")[0])
    try:
        assert "MemoryError" in line and "MemoryError" in log.read_text()
    finally:
        log.unlink()


def test_ctrl_c_is_130(capsys, monkeypatch):
    import feedbacksim.cli.validate as validate_command

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(validate_command, "load_scenario", interrupted)
    assert main(["validate", str(POLICING)]) == 130


def test_a_corrupt_replication_file_on_resume_never_exits_1_or_prints_a_traceback(in_tmp, capsys):
    out = in_tmp / "run"
    args = ["run", str(POLICING), *SMALL, "--no-report"]
    assert main([*args, "--out", str(out)]) in (ExitCode.PASS, ExitCode.FAIL)
    for path in out.rglob("rep-*.npz"):
        path.write_bytes(b"garbage, not a zip file")
    capsys.readouterr()
    code = main([*args, "--resume", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # Either the resume recomputes the corrupt replications, or it says in one line why not.
    assert code in (ExitCode.PASS, ExitCode.FAIL, ExitCode.NO_VERDICT)
    if code == ExitCode.NO_VERDICT:
        assert len(err.strip().splitlines()) == 1 and "details:" in err


# -- plugins are code: imported only when trusted ------------------------------------------
MARKER_PLUGIN = """
from pathlib import Path
Path({marker!r}).write_text("imported")
"""


def plugin_scenario(folder: Path, module: str) -> Path:
    path = folder / "uses_plugin.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: uses-plugin
            horizon: 10
            plugins: [{module}]
            environment:
              kind: policing
              params: {{incident_rates: [0.6, 0.4]}}
            agents:
              - name: dispatcher
                model: {{kind: incident-count, params: {{prior_counts: [1, 1]}}}}
                policy: {{kind: proportional}}
            """
        )
    )
    return path


@pytest.mark.parametrize(
    ("flags", "imported"),
    [([], False), (["--plugin", "{module}"], True), (["--trust-plugins"], True)],
)
def test_validate_imports_a_listed_plugin_only_when_told(
    flags, imported, tmp_path, monkeypatch, capsys
):
    module = f"marker_plugin_{len(flags)}_{os.getpid()}"
    marker = tmp_path / "imported.txt"
    (tmp_path / f"{module}.py").write_text(MARKER_PLUGIN.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = plugin_scenario(tmp_path, module)
    flags = [f.replace("{module}", module) for f in flags]
    assert main(["validate", str(path), *flags]) == ExitCode.PASS
    out = capsys.readouterr().out
    assert marker.exists() == imported
    assert (f"plugin modules not imported: {module}" in out) == (not imported)
    sys.modules.pop(module, None)


def test_run_refuses_an_untrusted_plugin_without_importing_it(tmp_path, monkeypatch, capsys):
    module = f"marker_plugin_run_{os.getpid()}"
    marker = tmp_path / "imported.txt"
    (tmp_path / f"{module}.py").write_text(MARKER_PLUGIN.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    path = plugin_scenario(tmp_path, module)
    assert main(["run", str(path), "--quiet", "--executor", "serial"]) == ExitCode.INVALID
    (line,) = error_lines(capsys.readouterr().err)
    assert f"{path}:3:" in line and f"--plugin {module}" in line
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_bounded_inputs_are_refused_in_little_memory_and_time():
    """validate of the sweeps, replications and world sizes that used to fill memory."""
    bad = ROOT / "tests" / "data" / "bad_scenarios"
    names = ["sweep_linspace_huge", "sweep_random_huge", "replications_huge", "world_too_large"]
    script = (
        "import resource, sys, time\n"
        "from feedbacksim.cli import main\n"
        f"code = main(['validate', *{[str(bad / f'{n}.yaml') for n in names]!r}])\n"
        "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print(usage.ru_maxrss, time.process_time())\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == ExitCode.INVALID, done.stderr
    assert len(error_lines(done.stderr)) == len(names)
    max_rss_kb, cpu_seconds = done.stdout.split()
    assert int(max_rss_kb) < 1024**2  # under 1 GB (ru_maxrss is in KiB on Linux)
    assert float(cpu_seconds) < 20


def test_python_m_does_not_import_from_the_current_directory(tmp_path):
    """Even with --trust-plugins, a module is not found in the folder you run from."""
    marker = tmp_path / "imported.txt"
    (tmp_path / "cwd_plugin.py").write_text(MARKER_PLUGIN.format(marker=str(marker)))
    path = plugin_scenario(tmp_path, "cwd_plugin")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "feedbacksim", "validate", str(path), "--trust-plugins"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == ExitCode.INVALID, done.stderr
    assert "cannot import plugin module 'cwd_plugin'" in done.stderr
    assert not marker.exists()


# -- fuzz: whatever the input, an invalid one is exit 2 in one line per problem -------------
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["../..", "/dev/zero", "{linspace: [0, 1, 1000000000]}", ".nan", "[["])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
PATHS = st.sampled_from(
    [
        "horizon",
        "name",
        "replications",
        "seed",
        "sweep",
        "plugins",
        "agents.dispatcher.policy",
        "agents.dispatcher.policy.epsilon",
        "agents.0.model",
        "agents.7.model.kind",
        "environment.params.incident_rates",
        "environment.params.patrols_per_day",
        "sweep.agents.dispatcher.policy.epsilon",
        "sweep.random",
        "stop_when",
    ]
)


def assert_clean_invalid_or_ok(code: int, err: str) -> None:
    assert code in (ExitCode.PASS, ExitCode.INVALID), err
    assert "Traceback" not in err and "<scenario>" not in err
    for line in err.splitlines():
        assert line.startswith("error: ") or line.endswith("file(s) invalid"), line


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> list[Path]:
    """The policing scenario, and a copy whose sweep takes the file's replications."""
    data = yaml.safe_load(POLICING.read_text())
    del data["sweep"]["replications"]
    copy = tmp_path_factory.mktemp("bases") / "sweep_file_replications.yaml"
    copy.write_text(yaml.safe_dump(data))
    return [POLICING, copy]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    base=st.integers(0, 1),
    changes=st.lists(st.tuples(PATHS, VALUES | st.text(max_size=30)), min_size=1, max_size=3),
)
def test_fuzzed_set_values_are_valid_or_exit_2(base, changes, bases, capsys):
    args = ["validate", str(bases[base])]
    for path, value in changes:
        text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True)
        args += ["--set", f"{path}={text.strip()}"]
    code = main(args)
    assert_clean_invalid_or_ok(code, capsys.readouterr().err)


DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "name": SCALARS,
        "horizon": SCALARS,
        "replications": SCALARS,
        "extends": SCALARS,
        "plugins": VALUES,
        "environment": VALUES,
        "agents": VALUES,
        "sweep": VALUES,
        "stop_when": SCALARS,
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=DOCUMENTS | VALUES)
def test_fuzzed_documents_are_valid_or_exit_2(document, tmp_path_factory, capsys):
    path = tmp_path_factory.mktemp("fuzz") / "doc.yaml"
    path.write_text(yaml.safe_dump(document))
    started = time.process_time()
    code = main(["validate", str(path)])
    assert time.process_time() - started < 5
    assert_clean_invalid_or_ok(code, capsys.readouterr().err)
