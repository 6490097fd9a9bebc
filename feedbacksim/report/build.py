"""Build a run directory's report: ``figures/*.png``, ``report.md`` and a self-contained ``report.html``.

The report is made from what the run stored (findings.json, manifest.json, the metrics
table and events), so ``feedbacksim report DIR`` regenerates it at any time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from feedbacksim.report import page
from feedbacksim.report.style import figure_style, save


@dataclass
class RunRecord:
    """What a report needs from a run directory."""

    directory: Path
    manifest: dict[str, Any]
    findings: dict[str, Any]
    metrics: pd.DataFrame
    events: pd.DataFrame | None = None
    figures: list[Path] = field(default_factory=list)


def read_metrics(directory: Path) -> pd.DataFrame:
    """The long metrics table (Parquet when present, else CSV)."""
    parquet, csv = directory / "metrics.parquet", directory / "metrics.csv"
    if parquet.is_file():
        try:
            return pd.read_parquet(parquet)
        except ImportError:
            pass
    if csv.is_file():
        return pd.read_csv(csv, keep_default_na=False, dtype={"group": str})
    raise FileNotFoundError(f"{directory} holds no metrics.parquet or metrics.csv")


def read_run(directory: str | Path) -> RunRecord:
    """Load a run directory written by ``feedbacksim run``."""
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    findings = json.loads((directory / "findings.json").read_text(encoding="utf-8"))
    events_path = directory / "events.csv"
    events = pd.read_csv(events_path, keep_default_na=False) if events_path.is_file() else None
    return RunRecord(directory, manifest, findings, read_metrics(directory), events)


def time_unit(manifest: dict[str, Any]) -> str:
    """The world's time unit (``days`` unless the environment class says otherwise)."""
    from feedbacksim.registry import registry

    kind = manifest.get("scenario", {}).get("environment", {}).get("kind")
    try:
        return getattr(registry.get("environment", kind).cls, "time_unit", "days")
    except KeyError:
        return "days"


def analyzed_metrics(record: RunRecord) -> list[tuple[str, str | None]]:
    """``(metric, reference metric or None)`` for every metric an analyzer of the run reads."""
    recorded = set(record.metrics["metric"].unique())
    out: list[tuple[str, str | None]] = []
    for spec in record.manifest.get("scenario", {}).get("analyzers", []):
        metric = spec.get("metric")
        reference = spec.get("reference")
        reference = reference if isinstance(reference, str) and reference in recorded else None
        if metric in recorded and (metric, reference) not in out:
            out.append((metric, reference))
    for s in record.findings.get("analyzers", []):
        for metric in str(s.get("metric", "")).split(", "):
            if metric in recorded and all(metric != m for m, _ in out):
                out.append((metric, None))
    return out


def build_figures(record: RunRecord) -> list[Path]:
    """Draw the verdict table and one band figure per analyzed metric into ``figures/``."""
    from feedbacksim.report import figures

    out_dir = record.directory / "figures"
    paths = []
    summaries = record.findings.get("analyzers", [])
    events = None
    if record.events is not None and "replication" in record.events:
        events = record.events[record.events["replication"] == 0]
    unit = time_unit(record.manifest)
    with figure_style():
        path = out_dir / "verdict.png"
        save(figures.verdict_table(summaries, record.findings.get("verdict", "pass")), path)
        paths.append(path)
        for metric, reference in analyzed_metrics(record):
            detections = [
                (s["analyzer"], s["median_detection"])
                for s in summaries
                if s.get("median_detection") is not None
                and metric in str(s.get("metric", "")).split(", ")
            ]
            fig = figures.metric_bands(
                record.metrics,
                metric,
                time_unit=unit,
                reference=reference,
                events=events,
                detections=detections,
            )
            path = out_dir / f"{metric}.png"
            save(fig, path)
            paths.append(path)
    return paths


def write_report(directory: str | Path) -> dict[str, Path]:
    """(Re)generate ``figures/``, ``report.md`` and ``report.html`` for a run directory."""
    record = read_run(directory)
    scenario_path = record.directory / "scenario.yaml"
    if not scenario_path.is_file():
        scenario_path.write_text(
            yaml.safe_dump(record.manifest.get("scenario", {}), sort_keys=False), encoding="utf-8"
        )
    record.figures = build_figures(record)
    markdown = page.markdown(record)
    html = page.html(record)
    (record.directory / "report.md").write_text(markdown, encoding="utf-8")
    (record.directory / "report.html").write_text(html, encoding="utf-8")
    return {"html": record.directory / "report.html", "markdown": record.directory / "report.md"}
