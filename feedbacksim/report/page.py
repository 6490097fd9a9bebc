"""The report's text: Markdown for pasting into a design doc, and one self-contained HTML page.

Both put the verdict first (pass/fail, which analyzers, fail fractions with intervals, one
sentence each), then the figures, then the scenario as resolved and the manifest with the
exact command that reproduces the run. The HTML embeds its images as data URIs and loads
no script, font or stylesheet from anywhere.
"""

from __future__ import annotations

import base64
import html as html_lib
import shlex
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from feedbacksim.report.build import RunRecord


class _ReportDumper(yaml.SafeDumper):
    """Dumps multi-line strings as literal blocks, the way a person writes them."""


_ReportDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value.strip() else None
    ),
)


def scenario_yaml(scenario: dict[str, Any]) -> str:
    """The resolved scenario as readable YAML."""
    cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in scenario.items()}
    return yaml.dump(cleaned, Dumper=_ReportDumper, sort_keys=False, width=100)


def reproduce_command(record: RunRecord) -> str:
    """The command that reruns exactly this run from the resolved scenario stored beside it."""
    manifest = record.manifest
    scenario = record.directory / "scenario.yaml"
    return shlex.join(
        [
            "feedbacksim",
            "run",
            str(scenario),
            "--seed",
            str(manifest.get("seed")),
            "--replications",
            str(manifest.get("replications")),
        ]
    )


def verdict_lines(findings: dict[str, Any]) -> list[str]:
    """One line per analyzer: verdict, fail fraction with its interval, detection time."""
    lines = []
    for s in findings.get("analyzers", []):
        low, high = s["interval"]
        status = "FAIL" if s["failed"] else "pass"
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


def _example_sentences(findings: dict[str, Any], limit: int = 3) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in findings.get("findings", []):
        messages = out.setdefault(f["analyzer"], [])
        if len(messages) < limit:
            messages.append(f"replication {f.get('replication')}: {f['message']}")
    return out


def _manifest_rows(record: RunRecord) -> list[tuple[str, str]]:
    m = record.manifest
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    return [
        ("scenario", str(m.get("scenario", {}).get("name", ""))),
        ("source", str(m.get("source"))),
        ("seed", str(m.get("seed"))),
        ("replications", str(m.get("replications"))),
        ("wall time", f"{m.get('wall_time_seconds', 0):.1f} s"),
        ("created", str(m.get("created", ""))),
        ("versions", versions),
        (
            "command",
            shlex.join(m.get("command", []))
            if isinstance(m.get("command"), list)
            else str(m.get("command")),
        ),
        ("reproduce", reproduce_command(record)),
    ]


def markdown(record: RunRecord) -> str:
    """The report as Markdown (figures linked relative to the run directory)."""
    f = record.findings
    name = record.manifest.get("scenario", {}).get("name", "scenario")
    out = [f"# {name}: verdict {f.get('verdict', 'pass').upper()}", ""]
    description = record.manifest.get("scenario", {}).get("description", "").strip()
    if description:
        out += [description, ""]
    out += [f"- {line}" for line in verdict_lines(f)] + [""]
    for analyzer, sentences in _example_sentences(f).items():
        out += [f"Examples from {analyzer}:", ""] + [f"- {s}" for s in sentences] + [""]
    out += ["## Figures", ""]
    for path in record.figures:
        out += [f"![{path.stem}](figures/{path.name})", ""]
    out += [
        "## Scenario (resolved)",
        "",
        "```yaml",
        scenario_yaml(record.manifest.get("scenario", {})).rstrip(),
        "```",
        "",
    ]
    out += ["## Manifest", "", "| | |", "|---|---|"]
    out += [
        f"| {k} | `{v}` |" if k in ("command", "reproduce") else f"| {k} | {v} |"
        for k, v in _manifest_rows(record)
    ]
    return "\n".join(out) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}.verdict{font-size:1.6rem;font-weight:700;padding:.6rem 1rem;border-radius:6px;display:inline-block}
.fail{background:#f8d7da;color:#842029}.pass{background:#d1e7dd;color:#0f5132}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;vertical-align:top}
tr.failed td{background:#fbe9eb}img{max-width:100%;height:auto;display:block;margin:1rem 0}
pre{background:#f6f8fa;padding:1rem;overflow-x:auto}code{font-family:ui-monospace,monospace}
"""


def _image(path: Any) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html_lib.escape(path.stem)}"></figure>'


def html(record: RunRecord) -> str:
    """The report as one self-contained HTML page."""
    esc = html_lib.escape
    f = record.findings
    verdict = f.get("verdict", "pass")
    name = record.manifest.get("scenario", {}).get("name", "scenario")
    rows = []
    for s in f.get("analyzers", []):
        low, high = s["interval"]
        when = "-" if s.get("median_detection") is None else f"t={s['median_detection']:g}"
        cells = [
            s["analyzer"],
            s["severity"],
            s["metric"],
            f"{s['fail_fraction']:.0%} ({low:.0%}-{high:.0%})",
            when,
            "FAIL" if s["failed"] else "pass",
            s["message"],
        ]
        rows.append(
            f'<tr class="{"failed" if s["failed"] else "passed"}">'
            + "".join(f"<td>{esc(str(c))}</td>" for c in cells)
            + "</tr>"
        )
    header = "".join(
        f"<th>{h}</th>"
        for h in [
            "analyzer",
            "severity",
            "metric",
            "fail fraction (95% CI)",
            "median first detection",
            "verdict",
            "summary",
        ]
    )
    examples = "".join(
        f"<h3>Examples from {esc(a)}</h3><ul>"
        + "".join(f"<li>{esc(s)}</li>" for s in sentences)
        + "</ul>"
        for a, sentences in _example_sentences(f).items()
    )
    manifest_rows = "".join(
        f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>"
        for k, v in _manifest_rows(record)
    )
    resolved = scenario_yaml(record.manifest.get("scenario", {}))
    description = esc(record.manifest.get("scenario", {}).get("description", "").strip())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(name)}: {verdict}</title><style>{CSS}</style></head>
<body>
<h1>{esc(name)}</h1>
<p class="verdict {verdict}">Verdict: {verdict.upper()}</p>
<p>{description}</p>
<table><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>
{examples}
<h2>Figures</h2>
{"".join(_image(p) for p in record.figures)}
<h2>Scenario (resolved)</h2>
<pre><code>{esc(resolved)}</code></pre>
<h2>Manifest</h2>
<table>{manifest_rows}</table>
</body></html>
"""
