"""One self-contained HTML report: header, model graph, recurrent cell diagrams, findings, layers.

Everything is inline (CSS, SVG, a few lines of script) and the page's security policy forbids
any fetch, so the file opens offline. Every string from a file passes through ``svg.esc``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from graphcheck.explanations.report import ModelReport, NodeReport
from graphcheck.findings import Finding
from graphcheck.graph import Shape, format_shape
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.picture import Scope, footnote, report_of, scopes
from graphcheck.reporters.svg import esc
from graphcheck.reporters.svg.cell import cell_svg, merge_note
from graphcheck.reporters.svg.graph import graph_svg
from graphcheck.reporters.svg.page import CSS, POLICY, SCRIPT
from graphcheck.results import FileResult

# The layer table starts collapsed past this many rows, so the page opens on the pictures.
OPEN_ROWS = 200


def _shapes(shapes: Sequence[Shape | None]) -> str:
    """Format shapes for a table cell."""
    return ", ".join(format_shape(s) for s in shapes) or "-"


def _params(value: int | None) -> str:
    """Format a parameter count."""
    return "?" if value is None else f"{value:,}"


def _counts(findings: Sequence[Finding]) -> str:
    """Return severity badges for a list of findings."""
    if not findings:
        return '<span class="badge clean">no findings</span>'
    counts = Counter(str(f.severity) for f in findings)
    return " ".join(f'<span class="badge {s}">{counts[s]} {s}{"" if counts[s] == 1 else "s"}</span>'
                    for s in ("error", "warning", "note") if counts[s])


def _anchors(report: ModelReport, prefix: str) -> dict[str, str]:
    """Map each recurrent layer's name to the id of its cell diagrams."""
    return {n.name: f"{prefix}-rnn{i}" for i, n in enumerate(n for n in report.nodes if n.cells)}


def _graph(report: ModelReport, prefix: str) -> list[str]:
    """Return the top-level graph and a collapsible section per nested model."""
    every = scopes(report, prefix=prefix)
    anchors = _anchors(report, prefix)
    out = ['<h3>Graph</h3>', f'<div class="scroll">{graph_svg(every[0], every, anchors)}</div>']
    out += _footnote(every[0])
    for part in every[1:]:
        count = sum(len(b.members) for b in part.boxes) + part.hidden
        out += [f'<details class="nested" id="{part.key}"><summary>nested model '
                f'<b>{esc(part.name)}</b> ({count:,} layers)</summary>',
                f'<div class="scroll">{graph_svg(part, every, anchors)}</div>', *_footnote(part),
                "</details>"]
    return out


def _footnote(part: Scope) -> list[str]:
    """Say what a graph leaves out."""
    note = footnote(part)
    return [f'<p class="note">{esc(note)}</p>'] if note else []


def _recurrent(report: ModelReport, prefix: str) -> list[str]:
    """Return each recurrent layer's story and one cell diagram per direction."""
    layers = [n for n in report.nodes if n.cells]
    if not layers:
        return []
    anchors = _anchors(report, prefix)
    out = ["<h3>Recurrent layers</h3>"]
    for i, node in enumerate(layers):
        out.append(f'<article id="{anchors[node.name]}"><h4>{esc(node.name)} ({esc(node.type)})</h4>')
        for j, cell in enumerate(node.cells):
            caption = f"<figcaption>{esc(cell.label)}</figcaption>" if cell.label else ""
            out.append(f'<figure>{caption}<div class="scroll">{cell_svg(cell, f"{prefix}-a{i}-{j}")}'
                       "</div></figure>")
        merge = merge_note(node)
        out += [f"<p>{esc(merge)}</p>"] if merge else []
        if node.story:
            out.append(f'<pre class="story">{chr(10).join(esc(line) for line in node.story)}</pre>')
        out.append("</article>")
    return out


def _findings(findings: Sequence[Finding]) -> list[str]:
    """Return the findings table; each rule code links to its documentation."""
    if not findings:
        return []
    rows = [f'<tr class="{f.severity}"><td>{f.severity}</td><td><a href="#rule-{esc(f.code)}" '
            f'title="{esc(_summary(f.code))}"><code>{esc(f.code)}</code></a> {esc(f.rule)}</td>'
            f"<td class=\"names\">{esc(f.node or '')}</td><td>{esc(f.message)}</td></tr>" for f in findings]
    return ["<h3>Findings</h3>", "<table><thead><tr><th>Severity</th><th>Rule</th><th>Layer</th>"
            "<th>Message</th></tr></thead><tbody>", *rows, "</tbody></table>"]


def _summary(code: str) -> str:
    """Return a rule's one-line summary (shown on hover)."""
    from graphcheck.rules.registry import find_rule

    rule = find_rule(code)
    return rule.summary if rule is not None else ""


def _rules(reports: Sequence[ModelReport]) -> list[str]:
    """Return each reported rule's documentation once, collapsed (findings link here)."""
    from graphcheck.rules.registry import find_rule

    codes = sorted({f.code for r in reports for f in r.findings})
    docs = [(code, find_rule(code)) for code in codes]
    if not docs:
        return []
    out = ["<h3>Rules</h3>"]
    out += [f'<details id="rule-{esc(code)}"><summary><code>{esc(code)}</code> {esc(rule.name)}: '
            f"{esc(rule.summary)}</summary><pre>{esc(rule.documentation())}</pre></details>"
            for code, rule in docs if rule is not None]
    return out


def _row(node: NodeReport) -> str:
    """Return one layer table row."""
    indent = "&#160;&#160;" * node.depth
    return (f'<tr><td class="names">{indent}{esc(node.label)}</td><td>{esc(node.type)}</td>'
            f"<td>{esc(_shapes(node.input_shapes))}</td><td>{esc(_shapes(node.output_shapes))}</td>"
            f'<td class="num">{_params(node.params)}</td><td class="names">{esc(", ".join(node.inputs))}'
            "</td></tr>")


def _table(report: ModelReport) -> list[str]:
    """Return the explain table, collapsed when long."""
    if not report.nodes:
        return []
    opened = " open" if len(report.nodes) <= OPEN_ROWS else ""
    return [f"<details{opened}><summary><b>Layers</b> ({len(report.nodes):,})</summary>",
            "<table><thead><tr><th>Layer</th><th>Type</th><th>Input shapes</th><th>Output shape"
            '</th><th class="num">Params</th><th>Inputs</th></tr></thead><tbody>',
            *(_row(n) for n in report.nodes), "</tbody></table></details>"]


def section(report: ModelReport, index: int, findings_first: bool = False) -> str:
    """Return one model's section; a check report puts the findings before the pictures."""
    prefix = f"r{index}"
    meta = [f"format: {esc(report.format or 'unknown')}", f"{len(report.nodes):,} layers",
            f"{_params(report.total_params)} parameters", _counts(report.findings)]
    out = [f'<section class="model" id="{prefix}"><h2>{esc(report.path)}</h2>',
           f'<p class="meta">{" · ".join(meta)}</p>']
    if report.error is not None:
        out.append(f'<p class="error-text">{esc(report.error)}</p>')
    pictures = _graph(report, prefix) + _recurrent(report, prefix) if report.nodes else []
    found = _findings(report.findings)
    out += found + pictures if findings_first else pictures + found
    out += _table(report)
    return "\n".join([*out, "</section>"])


def page(reports: Sequence[ModelReport], version: str = "", findings_first: bool = False) -> str:
    """Return the whole HTML document for the reports."""
    findings = [f for r in reports for f in r.findings]
    title = reports[0].path if len(reports) == 1 else f"{len(reports)} files"
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>graphcheck: {esc(title)}</title><style>{CSS}</style></head><body>")
    header = (f"<header><h1>graphcheck report</h1><p class=\"meta\">{len(reports):,} "
              f"file{'' if len(reports) == 1 else 's'} · {_counts(findings)}"
              + (f" · graphcheck {esc(version)}" if version else "") + "</p></header><main>")
    body = [section(r, i, findings_first) for i, r in enumerate(reports)] + _rules(reports)
    return "\n".join([head, header, *body, f"</main><script>{SCRIPT}</script></body></html>"]) + "\n"


class HtmlReporter:
    """``--format html``: explain's pictures, or check's findings per file with the same pictures."""

    name = "html"
    commands = frozenset({"check", "explain"})
    pictures = True  # check: the runner keeps each file's ModelReport for this format

    def explain(self, reports: Sequence[ModelReport], options: RenderOptions) -> str:
        """Return the page for explained models."""
        return page(reports, options.version)

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the page for checked files: their findings (after baselines) and pictures."""
        if options.quiet and not any(r.findings for r in results):
            return ""  # --quiet: nothing at all on a clean run, as every check format
        return page([report_of(r) for r in results], options.version, findings_first=True)


REPORTER = HtmlReporter()
