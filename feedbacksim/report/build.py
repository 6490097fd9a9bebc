"""Build the report of a run, sweep or comparison directory from what it stored.

``figures/*.png``, ``report.md`` and a self-contained ``report.html`` are made from the
directory's JSON documents, metrics and per-replication files, so ``feedbacksim report DIR``
regenerates them at any time. The kind of directory is told by what it holds:
``comparison.json`` (compare), ``sweep.json`` (sweep) or ``findings.json`` (run).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from feedbacksim.report import page
from feedbacksim.report.content import Report, Table
from feedbacksim.report.labels import metric_description, metric_label, time_unit
from feedbacksim.report.style import figure_style, save
from feedbacksim.run.files import atomic_write, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd


class _ReportDumper(yaml.SafeDumper):
    """Dumps multi-line strings as literal blocks, the way a person writes them."""


_ReportDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value.strip() else None
    ),
)


def scenario_yaml(scenario: dict[str, Any]) -> str:
    """A resolved scenario as readable YAML."""
    cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in scenario.items()}
    return yaml.dump(cleaned, Dumper=_ReportDumper, sort_keys=False, width=100)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_scenario(directory: Path, name: str, scenario: dict[str, Any]) -> Path:
    """Store a resolved scenario beside the results, so the reproduce command needs nothing else."""
    path = directory / name
    if not path.is_file():
        atomic_write_text(path, scenario_yaml(scenario))
    return path


def read_metrics(directory: Path) -> pd.DataFrame:
    """The long metrics table of a run (Parquet when present and readable, else CSV)."""
    import pandas as pd

    parquet, csv = directory / "metrics.parquet", directory / "metrics.csv"
    if parquet.is_file():
        try:
            return pd.read_parquet(parquet)
        except ImportError:
            pass
    if csv.is_file():
        return pd.read_csv(csv, keep_default_na=False, dtype={"group": str})
    raise FileNotFoundError(f"{directory} holds no metrics.parquet or metrics.csv")


def first_replication_events(directory: Path) -> Sequence[tuple[float, str, str, str]] | None:
    """Events of replication 0 (retrains, skipped retrains), from its stored file."""
    from feedbacksim.run.store import ReplicationStore

    store = ReplicationStore(directory / "replications")
    if 0 not in store.complete():
        return None
    return store.load_trace(0).events


def _manifest_rows(manifest: dict[str, Any], reproduce: str) -> list[tuple[str, str]]:
    versions = ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items())
    command = manifest.get("command", [])
    rows = [
        ("source", str(manifest.get("source") or manifest.get("sources"))),
        ("seed", str(manifest.get("seed"))),
        (
            "replications",
            str(manifest.get("replications") or manifest.get("replications_per_point")),
        ),
        (
            "executor",
            f"{manifest.get('executor', 'serial')} ({manifest.get('workers', 1)} workers)",
        ),
        ("wall time", f"{manifest.get('wall_time_seconds', 0):.1f} s"),
        ("created", str(manifest.get("created", ""))),
        ("versions", versions),
        ("platform", str(manifest.get("platform", ""))),
        ("command", shlex.join(command) if isinstance(command, list) else str(command)),
        ("reproduce", reproduce),
    ]
    return rows


def _overrides_text(overrides: Any) -> str:
    if not overrides:
        return "none"
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in dict(overrides).items())


def _executor_text(executor: str, workers: Any) -> str:
    if executor == "serial":
        return "serial (in the command's process)"
    return f"{executor} ({workers} workers)" if workers else f"{executor} (one worker per core)"


def what_ran(
    manifest: dict[str, Any], scenario: dict[str, Any], replications: Any, seed: Any
) -> Table:
    """What actually ran: replications, horizon, seed, overrides, executor, wall time."""
    unit = time_unit(scenario)
    workers = manifest.get("workers")
    rows = [
        ["replications", str(replications)],
        ["horizon", f"{scenario.get('horizon')} {unit}"],
        ["seed", str(seed)],
        [
            "overrides",
            _overrides_text(manifest["overrides"]) if "overrides" in manifest else "not recorded",
        ],
        ["executor", _executor_text(manifest.get("executor", "serial"), workers)],
        ["wall time", f"{manifest.get('wall_time_seconds', 0):.1f} s"],
    ]
    return Table("What ran", ["", "value"], rows)


def as_ran(
    scenario: dict[str, Any], replications: Any, seed: Any, sweep: bool = False
) -> dict[str, Any]:
    """The resolved scenario with the replications and seed the run actually used."""
    out = dict(scenario)
    out["replications"], out["seed"] = replications, seed
    if sweep and isinstance(out.get("sweep"), dict):
        out["sweep"] = {**out["sweep"], "replications": replications}
    elif "sweep" in out and not sweep:
        out.pop("sweep")  # a run does not sweep; its scenario file keeps the block
    return out


def _reproduce(command: str, files: list[Path], manifest: dict[str, Any], replications: Any) -> str:
    """``feedbacksim <command> FILES --seed S --replications N`` from the stored resolved scenarios."""
    words = ["feedbacksim", command, *map(str, files)]
    return shlex.join(
        [*words, "--seed", str(manifest.get("seed")), "--replications", str(replications)]
    )


def _fraction(s: dict[str, Any]) -> str:
    low, high = s["interval"]
    return f"{s['fail_fraction']:.0%} ({low:.0%}-{high:.0%})"


def analyzer_table(summaries: list[dict[str, Any]]) -> Table:
    """The verdict table: analyzer, severity, metric, fail fraction (95% CI), detection, verdict."""
    rows, failed = [], set()
    for i, s in enumerate(summaries):
        when = "-" if s.get("median_detection") is None else f"t={s['median_detection']:g}"
        status = str(s.get("status") or ("fail" if s["failed"] else "pass")).upper()
        rows.append([s["analyzer"], s["severity"], s["metric"], _fraction(s), when, status])
        if s["failed"]:
            failed.add(i)
    columns = [
        "analyzer",
        "severity",
        "metric",
        "fail fraction (95% CI)",
        "median first detection",
        "verdict",
    ]
    return Table("Analyzers across replications", columns, rows, failed)


def verdict_lines(summaries: list[dict[str, Any]]) -> list[str]:
    """One line per analyzer: verdict, fail fraction with its interval, detection time."""
    lines = []
    for s in summaries:
        low, high = s["interval"]
        status = str(s.get("status") or ("fail" if s["failed"] else "pass")).upper()
        when = (
            ""
            if s.get("median_detection") is None
            else f"; median first detection t={s['median_detection']:g}"
        )
        lines.append(
            f"{status}: {s['analyzer']} ({s['severity']}) on {s['metric']}: "
            f"{s['failed_replications']}/{s['replications']} replications "
            f"({s['fail_fraction']:.0%}, 95% CI {low:.0%}-{high:.0%}){when}"
        )
    return lines


def _examples(findings: list[dict[str, Any]], limit: int = 3) -> dict[str, list[str]]:
    """Up to ``limit`` replications per analyzer, one sentence each (an event seen in every
    group is told once, with the groups named)."""
    out: dict[str, list[str]] = {}
    seen: dict[tuple[str, Any], list[str]] = {}
    for f in findings:
        key = (f["analyzer"], f.get("replication"))
        if key in seen:
            seen[key].append(str(f.get("group")))
            continue
        messages = out.setdefault(f["analyzer"], [])
        if len(messages) < limit:
            seen[key] = [str(f.get("group"))]
            messages.append(f"replication {f.get('replication')}: {f['message']}")
    for (analyzer, replication), groups in seen.items():
        if len(groups) > 1:
            messages = out[analyzer]
            i = next(
                i for i, m in enumerate(messages) if m.startswith(f"replication {replication}:")
            )
            messages[i] += (
                f" (also seen in group{'s' if len(groups) > 2 else ''} {', '.join(groups[1:])})"
            )
    return out


def analyzed_metrics(scenario: dict[str, Any], recorded: set[str]) -> list[tuple[str, str | None]]:
    """``(metric, reference metric or None)`` for every recorded metric an analyzer names."""
    out: list[tuple[str, str | None]] = []
    for spec in scenario.get("analyzers", []):
        metric, reference = spec.get("metric"), spec.get("reference")
        reference = reference if isinstance(reference, str) and reference in recorded else None
        if metric in recorded and all(metric != m for m, _ in out):
            out.append((metric, reference))
        condition = spec.get("condition")
        if isinstance(condition, str):
            from feedbacksim.core.expressions import parse

            for name in sorted(parse(condition).metrics()):
                if name in recorded and all(name != m for m, _ in out):
                    out.append((name, None))
    return out


def run_report(directory: Path) -> Report:
    """The report of a ``feedbacksim run`` directory."""
    from feedbacksim.report import figures
    from feedbacksim.run.exports import read_metric_arrays

    manifest = _read_json(directory / "manifest.json")
    findings = _read_json(directory / "findings.json")
    scenario = manifest.get("scenario", {})
    summaries = findings.get("analyzers", [])
    metrics = read_metric_arrays(directory)
    events = first_replication_events(directory)
    unit = time_unit(scenario)
    paths, captions = [], {}
    with figure_style():
        for metric, reference in analyzed_metrics(scenario, set(metrics)):
            detections = [
                (s["analyzer"], s["median_detection"])
                for s in summaries
                if s.get("median_detection") is not None
                and metric in str(s.get("metric", "")).split(", ")
            ]
            fig = figures.metric_bands(
                metrics,
                metric,
                time_unit=unit,
                ylabel=metric_label(scenario, metric),
                reference=reference,
                events=events,
                detections=detections,
            )
            path = directory / "figures" / f"{metric}.png"
            save(fig, path)
            paths.append(path)
            captions[path.name] = metric_description(scenario, metric)
    replications, seed = manifest.get("replications"), manifest.get("seed")
    ran = as_ran(scenario, replications, seed)
    scenario_file = _write_scenario(directory, "scenario.yaml", ran)
    reproduce = _reproduce("run", [scenario_file], manifest, replications)
    return Report(
        title=scenario.get("name", "scenario"),
        verdict=findings.get("verdict", "pass"),
        reason=str(findings.get("reason", "")),
        headline=f"{replications} replications of {scenario.get('horizon')} {unit}, seed {seed}.",
        description=str(scenario.get("description", "")).strip(),
        ran=what_ran(manifest, scenario, replications, seed),
        lines=verdict_lines(summaries),
        tables=[analyzer_table(summaries)],
        examples=_examples(findings.get("findings", [])),
        figures=paths,
        captions=captions,
        scenarios={"Scenario (as run)": scenario_yaml(ran)},
        manifest=_manifest_rows(manifest, reproduce),
    )


def _copy_figure(source: Path, directory: Path) -> list[Path]:
    if not source.is_file():
        return []
    target = directory / "figures" / source.name
    atomic_write(target, lambda handle: handle.write(source.read_bytes()), binary=True)
    return [target]


def _cell(value: Any) -> str:
    return (
        json.dumps(value)
        if isinstance(value, (list, dict))
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def sweep_report(directory: Path) -> Report:
    """The report of a ``feedbacksim sweep`` directory: fail fractions per point, the phase diagram."""
    manifest = _read_json(directory / "manifest.json")
    sweep = _read_json(directory / "sweep.json")
    scenario = manifest.get("scenario", {})
    points = sweep.get("points", [])
    paths = list(dict.fromkeys(path for p in points for path in p["overrides"]))  # plan order
    analyzers = [s["analyzer"] for s in points[0]["analyzers"]] if points else []
    rows, failed = [], set()
    for i, p in enumerate(points):
        row = [str(p["point"]), *(_cell(p["overrides"].get(path)) for path in paths)]
        row += [_fraction(s) for s in p["analyzers"]]
        row.append(p["verdict"].upper())
        rows.append(row)
        if p["verdict"] == "fail":
            failed.add(i)
    columns = ["point", *paths, *(f"{a} fail fraction (95% CI)" for a in analyzers), "verdict"]
    lines = []
    for a in analyzers:
        fractions = [
            s["fail_fraction"] for p in points for s in p["analyzers"] if s["analyzer"] == a
        ]
        lines.append(
            f"{a}: fail fraction from {min(fractions):.0%} to {max(fractions):.0%} across {len(points)} points"
        )
    replications, seed = sweep.get("replications_per_point"), sweep.get("seed")
    ran = as_ran(scenario, replications, seed, sweep=True)
    scenario_file = _write_scenario(directory, "scenario.yaml", ran)
    reproduce = _reproduce("sweep", [scenario_file], manifest, replications)
    ran_table = what_ran(manifest, scenario, f"{replications} per point", seed)
    ran_table.rows.insert(0, ["points", str(len(points))])
    return Report(
        title=f"{scenario.get('name', 'scenario')} sweep",
        verdict=None,
        headline=f"{len(points)} points x {replications} replications, seed {seed}; every point uses the same replication seeds.",
        description=str(scenario.get("description", "")).strip(),
        ran=ran_table,
        lines=lines,
        tables=[Table("Fail fraction per point", columns, rows, failed)],
        figures=_copy_figure(directory / "phase_diagram.png", directory),
        scenarios={"Scenario (as run)": scenario_yaml(ran)},
        manifest=_manifest_rows(manifest, reproduce),
    )


def compare_report(directory: Path) -> Report:
    """The report of a ``feedbacksim compare`` directory: A and B side by side, paired differences."""
    manifest = _read_json(directory / "manifest.json")
    comparison = _read_json(directory / "comparison.json")
    a, b = manifest.get("a", {}), manifest.get("b", {})
    rows, failed = [], set()
    for i, r in enumerate(comparison.get("analyzers", [])):
        fa = f"{r['fraction_a']:.0%} ({r['interval_a'][0]:.0%}-{r['interval_a'][1]:.0%})"
        fb = f"{r['fraction_b']:.0%} ({r['interval_b'][0]:.0%}-{r['interval_b'][1]:.0%})"
        rows.append([r["analyzer"], fa, fb, "yes" if r["b_at_least_as_good"] else "NO"])
        if not r["b_at_least_as_good"]:
            failed.add(i)
    analyzers = Table(
        "Fail fraction per analyzer (95% CI)",
        ["analyzer", f"A: {comparison['a']}", f"B: {comparison['b']}", "B at least as good"],
        rows,
        failed,
    )
    diffs = [
        [
            d["metric"],
            str(d["group"]),
            f"{d['mean_a']:.4g}",
            f"{d['mean_b']:.4g}",
            f"{d['difference']:+.4g}",
            f"{d['low']:+.4g} to {d['high']:+.4g}",
        ]
        for d in comparison.get("paired_differences", [])
    ]
    paired = Table(
        "Final value, paired by seed (B - A, 95% CI)",
        ["metric", "group", "mean A", "mean B", "difference", "95% CI"],
        diffs,
    )
    better = comparison.get("b_at_least_as_good", False)
    replications, seed = comparison.get("replications"), comparison.get("seed")
    a, b = as_ran(a, replications, seed), as_ran(b, replications, seed)
    file_a = _write_scenario(directory, "a.yaml", a)
    file_b = _write_scenario(directory, "b.yaml", b)
    reproduce = _reproduce("compare", [file_a, file_b], manifest, replications)
    ran_table = what_ran(manifest, a, f"{replications} each (same seeds for A and B)", seed)
    if b.get("horizon") != a.get("horizon"):
        ran_table.rows[1][1] += f" (A), {b.get('horizon')} (B)"
    return Report(
        title=f"{comparison['a']} vs {comparison['b']}",
        verdict=comparison.get("verdict", "pass" if better else "fail"),
        reason=str(comparison.get("reason", "")),
        headline=(
            f"B ({comparison['b']}) is {'at least as good as' if better else 'worse than'} A ({comparison['a']}) "
            f"on every analyzer: {comparison['replications']} replications each, the same seeds for both."
        ),
        ran=ran_table,
        tables=[analyzers, paired],
        figures=_copy_figure(directory / "comparison.png", directory),
        scenarios={
            "Scenario A (as run)": scenario_yaml(a),
            "Scenario B (as run)": scenario_yaml(b),
        },
        manifest=_manifest_rows(manifest, reproduce),
    )


def write_report(directory: str | Path) -> dict[str, Path]:
    """(Re)generate ``figures/``, ``report.md`` and ``report.html`` for a run, sweep or compare directory."""
    directory = Path(directory)
    if (directory / "comparison.json").is_file():
        report = compare_report(directory)
    elif (directory / "sweep.json").is_file():
        report = sweep_report(directory)
    elif (directory / "findings.json").is_file():
        report = run_report(directory)
    else:
        raise FileNotFoundError(f"{directory}: no findings.json, sweep.json or comparison.json")
    atomic_write_text(directory / "report.md", page.markdown(report))
    atomic_write_text(directory / "report.html", page.html(report))
    return {"html": directory / "report.html", "markdown": directory / "report.md"}
