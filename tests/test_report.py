"""Reports: figures are real PNGs, report.md carries the verdict, report.html renders in a browser.

Each kind of results directory (run, sweep, compare) gets its report from the CLI, as a user
gets it; the golden lines of report.md are the verdict of a fixed seed.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from feedbacksim.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
POLICING = SCENARIOS / "predictive_policing.yaml"
CORRECTED = SCENARIOS / "predictive_policing_corrected.yaml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SERIAL = ["--executor", "serial", "--quiet"]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG header (and a check that it is one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def assert_real_png(path: Path, min_width: int = 600, min_bytes: int = 10_000) -> None:
    width, height = png_size(path)
    assert width >= min_width and height >= 150, (path, width, height)
    assert path.stat().st_size > min_bytes, f"{path} looks empty"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    args = [
        "run",
        str(POLICING),
        *SERIAL,
        "--set",
        "horizon=400",
        "--replications",
        "8",
        "--seed",
        "5",
    ]
    assert main([*args, "--out", str(out)]) == 1
    return out


def test_run_report_files_and_figures(run_dir):
    assert (run_dir / "report.html").is_file() and (run_dir / "report.md").is_file()
    figures = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
    assert figures == ["patrol_share.png", "verdict.png"]
    for name in figures:
        assert_real_png(run_dir / "figures" / name)


def test_markdown_golden_verdict(run_dir):
    """Fixed seed 5, 8 replications, 400 days: the verdict lines as a reader sees them."""
    lines = (run_dir / "report.md").read_text().splitlines()
    assert lines[0] == (
        "# predictive-policing: verdict FAIL: runaway failed in 4/8 replications "
        "(50%, 95% CI 22%-78%; fail_if any)"
    )
    assert lines[2] == "8 replications of 400 days, seed 5."
    findings = json.loads((run_dir / "findings.json").read_text())
    s = findings["analyzers"][0]
    low, high = s["interval"]
    expected = (
        f"- FAIL: runaway (fail) on patrol_share: {s['failed_replications']}/8 replications "
        f"({s['fail_fraction']:.0%}, 95% CI {low:.0%}-{high:.0%}); "
        f"median first detection t={s['median_detection']:g}"
    )
    assert expected in lines
    assert GOLDEN_RUNAWAY in lines


# The golden line for this seed. It changes only when the world, the seeds or the runaway
# analyzer change on purpose; then regenerate it from `feedbacksim run ... --seed 5` and
# check the new numbers against the band figure.
GOLDEN_RUNAWAY = (
    "- FAIL: runaway (fail) on patrol_share: 4/8 replications (50%, 95% CI 22%-78%); "
    "median first detection t=99"
)


def test_markdown_reproduce_command_and_figures(run_dir):
    text = (run_dir / "report.md").read_text()
    assert f"feedbacksim run {run_dir / 'scenario.yaml'} --seed 5 --replications 8" in text
    assert "![patrol_share](figures/patrol_share.png)" in text


def test_reproduce_command_reproduces(run_dir, tmp_path):
    out = tmp_path / "again"
    args = [
        "run",
        str(run_dir / "scenario.yaml"),
        "--seed",
        "5",
        "--replications",
        "8",
        *SERIAL,
        "--no-report",
    ]
    assert main([*args, "--out", str(out)]) == 1
    assert not (out / "report.html").exists()
    assert (
        json.loads((out / "findings.json").read_text())["analyzers"]
        == json.loads((run_dir / "findings.json").read_text())["analyzers"]
    )


def test_html_is_self_contained(run_dir):
    html = (run_dir / "report.html").read_text()
    assert "<script" not in html
    assert "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == 2


def test_report_command_regenerates(run_dir):
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").is_file()


def test_report_command_rejects_other_directories(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run, sweep or compare directory" in capsys.readouterr().err


def test_sweep_report(tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", str(POLICING), *SERIAL, "--set", "horizon=150", "--replications", "2"]
    assert main([*args, "--out", str(out)]) == 0
    assert_real_png(out / "figures" / "phase_diagram.png")
    text = (out / "report.md").read_text()
    assert text.startswith("# predictive-policing sweep\n\n16 points x 2 replications, seed 7")
    assert text.count("\n| ") >= 17  # header + 16 points
    assert "No verdict (exploration)" in (out / "report.html").read_text()


def test_compare_report(tmp_path):
    out = tmp_path / "compare"
    args = [
        "compare",
        str(POLICING),
        str(CORRECTED),
        *SERIAL,
        "--set-all",
        "horizon=400",
        "--replications",
        "6",
    ]
    assert main([*args, "--out", str(out)]) == 0
    assert_real_png(out / "figures" / "comparison.png")
    text = (out / "report.md").read_text()
    assert text.startswith("# predictive-policing vs predictive-policing-corrected: verdict PASS")
    assert "Final value, paired by seed (B - A, 95% CI)" in text
    assert (out / "a.yaml").is_file() and (out / "b.yaml").is_file()


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((run_dir / "report.html").as_uri())
        widths = page.evaluate(
            "Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
        )
        verdict = page.inner_text("p.verdict")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert len(widths) == 2 and all(w > 0 for w in widths)
    assert errors == []
    findings = json.loads((run_dir / "findings.json").read_text())
    assert verdict == f"Verdict: {findings['verdict'].upper()}"
    assert png_size(shot)[1] > 900
