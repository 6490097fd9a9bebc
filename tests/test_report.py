"""Reports: figures are real PNGs, report.md carries the verdict, report.html renders in a browser."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

import feedbacksim
from feedbacksim.cli import main
from feedbacksim.report import write_report
from feedbacksim.rundir import write_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG header (and a check that it is one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    scenario = feedbacksim.load(
        Path(__file__).parent.parent / "scenarios" / "predictive_policing.yaml"
    )
    results = scenario.with_overrides({"horizon": 400}).run(replications=8, seed=5)
    directory = tmp_path_factory.mktemp("run")
    write_run(results, directory)
    write_report(directory)
    return directory


def test_run_report_files_and_figures(run_dir):
    assert (run_dir / "report.html").is_file() and (run_dir / "report.md").is_file()
    figures = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
    assert figures == ["patrol_share.png", "verdict.png"]
    for name in figures:
        path = run_dir / "figures" / name
        width, height = png_size(path)
        assert width >= 600 and height >= 150
        assert path.stat().st_size > 10_000  # drawn content, not an empty canvas


def test_markdown_puts_verdict_first_and_reproduces(run_dir):
    findings = json.loads((run_dir / "findings.json").read_text())
    text = (run_dir / "report.md").read_text()
    first = text.splitlines()[0]
    assert first == f"# predictive-policing: verdict {findings['verdict'].upper()}"
    s = findings["analyzers"][0]
    assert f"{s['failed_replications']}/8 replications" in text
    assert f"feedbacksim run {run_dir / 'scenario.yaml'} --seed 5 --replications 8" in text
    assert "![patrol_share](figures/patrol_share.png)" in text


def test_html_is_self_contained(run_dir):
    html = (run_dir / "report.html").read_text()
    assert "<script" not in html
    assert "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == 2


def test_report_command_regenerates(run_dir):
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").is_file()


def test_report_command_rejects_non_run_dir(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


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
