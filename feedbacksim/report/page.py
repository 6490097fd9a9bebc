"""Render a :class:`~feedbacksim.report.content.Report` as Markdown and as one self-contained HTML page.

The HTML embeds its images as data URIs and loads no script, font or stylesheet from
anywhere, so it can be mailed, attached to a review or opened offline.
"""

from __future__ import annotations

import base64
import html as html_lib
from pathlib import Path

from feedbacksim.report.content import Report, Table

CODE_ROWS = ("command", "reproduce")


def _md_table(table: Table) -> list[str]:
    out = [f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |"]
    out.append("|" + "---|" * len(table.columns))
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table.rows]
    return [*out, ""]


def markdown(report: Report) -> str:
    """The report as Markdown (figures linked relative to the directory)."""
    verdict = f": verdict {report.verdict.upper()}" if report.verdict else ""
    reason = f": {report.reason}" if report.reason else ""
    out = [f"# {report.title}{verdict}{reason}", "", report.headline, ""]
    if report.description:
        out += [report.description, ""]
    out += [f"- {line}" for line in report.lines]
    out += [""] if report.lines else []
    for table in report.tables:
        out += _md_table(table)
    for name, sentences in report.examples.items():
        out += [f"Examples from {name}:", ""] + [f"- {s}" for s in sentences] + [""]
    out += ["## Figures", ""]
    for path in report.figures:
        out += [f"![{path.stem}](figures/{path.name})", ""]
    for label, text in report.scenarios.items():
        out += [f"## {label}", "", "```yaml", text.rstrip(), "```", ""]
    out += ["## Manifest", "", "| | |", "|---|---|"]
    out += [f"| {k} | `{v}` |" if k in CODE_ROWS else f"| {k} | {v} |" for k, v in report.manifest]
    return "\n".join(out) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}.verdict{font-size:1.6rem;font-weight:700;padding:.6rem 1rem;border-radius:6px;display:inline-block}
.fail{background:#f8d7da;color:#842029}.inconclusive{background:#fff3cd;color:#664d03}.pass{background:#d1e7dd;color:#0f5132}.none{background:#e2e3e5;color:#41464b}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600;padding:.3rem 0}tr.failed td{background:#fbe9eb}
img{max-width:100%;height:auto;display:block;margin:1rem 0}
pre{background:#f6f8fa;padding:1rem;overflow-x:auto}code{font-family:ui-monospace,monospace}
"""


def _html_table(table: Table) -> str:
    esc = html_lib.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join(
        f'<tr class="{"failed" if i in table.failed_rows else "ok"}">'
        + "".join(f"<td>{esc(c)}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(table.rows)
    )
    return f"<table><caption>{esc(table.title)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html_lib.escape(path.stem)}"></figure>'


def html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    esc = html_lib.escape
    css_class = report.verdict or "none"
    verdict = f"Verdict: {report.verdict.upper()}" if report.verdict else "No verdict (exploration)"
    reason = f'<p class="reason">{esc(report.reason)}</p>' if report.reason else ""
    lines = "".join(f"<li>{esc(line)}</li>" for line in report.lines)
    examples = "".join(
        f"<h3>Examples from {esc(name)}</h3><ul>"
        + "".join(f"<li>{esc(s)}</li>" for s in sentences)
        + "</ul>"
        for name, sentences in report.examples.items()
    )
    scenarios = "".join(
        f"<h2>{esc(label)}</h2><pre><code>{esc(text)}</code></pre>"
        for label, text in report.scenarios.items()
    )
    manifest = "".join(
        f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in report.manifest
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(report.title)}: {esc(verdict)}</title><style>{CSS}</style></head>
<body>
<h1>{esc(report.title)}</h1>
<p class="verdict {css_class}">{esc(verdict)}</p>
{reason}
<p class="headline">{esc(report.headline)}</p>
<p>{esc(report.description)}</p>
<ul>{lines}</ul>
{"".join(_html_table(t) for t in report.tables)}
{examples}
<h2>Figures</h2>
{"".join(_image(p) for p in report.figures)}
{scenarios}
<h2>Manifest</h2>
<table>{manifest}</table>
</body></html>
"""
