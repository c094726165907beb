"""What a notebook shows for a check report or an explanation (``_repr_html_``, ``_repr_markdown_``).

HTML comes from the registered ``html`` reporter when one serves the command (it draws the
graph and the cells); otherwise from the small escaped tables here. Every name in a model is
the file author's choice, so every string is escaped: ``html.escape`` after the terminal
policy (control characters shown), markdown through the markdown reporter's ``cell``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from graphcheck.graph import Shape, format_shape
from graphcheck.reporters import RenderOptions, reporters
from graphcheck.reporters.escape import terminal
from graphcheck.reporters.markdown import cell
from graphcheck.reporters.markdown import row as finding_row
from graphcheck.reporters.text import summary

if TYPE_CHECKING:
    from graphcheck.explanations.report import ModelReport, NodeReport
    from graphcheck.findings import Finding
    from graphcheck.results import FileResult

FINDING_HEADER = ("Severity", "Code", "Rule", "Layer", "Message")
NODE_HEADER = ("Layer", "Type", "Output shape", "Params", "Inputs")


def _options(command: str) -> RenderOptions:
    """Return render options for a notebook: no colour, the running version."""
    from graphcheck import __version__

    return RenderOptions(version=__version__, command="explain" if command == "explain" else "check")


def check_markdown(results: Sequence[FileResult]) -> str:
    """Return the markdown reporter's document for a check."""
    return reporters("check")["markdown"].render(results, _options("check"))


def check_html(results: Sequence[FileResult]) -> str:
    """Return HTML for a check: the ``html`` reporter's, else a summary and a findings table."""
    custom = reporters("check").get("html")
    if custom is not None:
        return custom.render(results, _options("check"))
    findings = [f for r in results for f in r.findings]
    parts = [f"<p><strong>graphcheck</strong>: {_text(summary(results))}</p>"]
    if findings:
        parts.append(findings_table(findings, with_path=len(results) > 1))
    return _block(parts)


def explain_html(reports: Sequence[ModelReport]) -> str:
    """Return HTML for explanations: the ``html`` reporter's, else tables, stories and findings."""
    custom = reporters("explain").get("html")
    if custom is not None:
        return custom.explain(reports, _options("explain"))
    return _block([part for report in reports for part in _model_html(report)])


def explain_markdown(reports: Sequence[ModelReport]) -> str:
    """Return markdown for explanations: a layer table, the stories and a findings table each."""
    return "\n".join(line for report in reports for line in _model_markdown(report))


def _text(value: str) -> str:
    """Escape a string for HTML text or an attribute, control characters shown first."""
    return html.escape(terminal(value), quote=True)


def _block(parts: Iterable[str]) -> str:
    """Wrap the parts in one element a notebook renders as a unit."""
    return '<div class="graphcheck">' + "".join(parts) + "</div>"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Return an HTML table; cells arrive escaped."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def findings_table(findings: Sequence[Finding], *, with_path: bool = False) -> str:
    """Return the findings as an escaped HTML table."""
    header = ("File", *FINDING_HEADER) if with_path else FINDING_HEADER
    rows = [((_text(f.path),) if with_path else ()) + (
        _text(str(f.severity)), _text(f.code), _text(f.rule), _text(f.node or ""),
        _text(f.message)) for f in findings]
    return _table(header, rows)


def _shapes(shapes: Sequence[Shape | None]) -> str:
    """Format a layer's output shapes."""
    return ", ".join(format_shape(s) for s in shapes) or "-"


def _params(value: int | None) -> str:
    """Format a parameter count ("?" when unknown)."""
    return "?" if value is None else f"{value:,}"


def _node_cells(node: NodeReport, *, full: bool = False) -> tuple[str, str, str, str, str]:
    """Return one layer's row as plain strings (indented by depth, or its full ``outer/inner`` name)."""
    name = node.name if full else "\u00a0\u00a0" * node.depth + node.label
    return (name, node.type, _shapes(node.output_shapes), _params(node.params),
            ", ".join(node.inputs))


def _model_html(report: ModelReport) -> list[str]:
    """Return one model's heading, layer table, total, stories and findings as HTML parts."""
    parts = [f"<h4>{_text(report.path)}" + (f" ({_text(report.format)})" if report.format else "")
             + "</h4>"]
    if report.error is not None:
        parts.append(f"<p>{_text(report.error)}</p>")
    else:
        parts.append(_table(NODE_HEADER, [[_text(c) for c in _node_cells(n)] for n in report.nodes]))
        parts.append(f"<p>Total params: {_params(report.total_params)}</p>")
        parts += ["<pre>" + "\n".join(_text(text) for text in n.story) + "</pre>"
                  for n in report.nodes if n.story]
    if report.findings:
        parts.append(findings_table(report.findings))
    return parts


def _model_markdown(report: ModelReport) -> list[str]:
    """Return one model's heading, layer table, total, stories and findings as markdown lines."""
    lines = [f"### {cell(report.path)}" + (f" ({cell(report.format)})" if report.format else ""), ""]
    if report.error is not None:
        lines += [cell(report.error), ""]
    else:
        lines += ["| " + " | ".join(NODE_HEADER) + " |", "|---|---|---|---:|---|"]
        lines += ["| " + " | ".join(cell(c) for c in _node_cells(n, full=True)) + " |" for n in report.nodes]
        lines += ["", f"Total params: {_params(report.total_params)}", ""]
        for node in report.nodes:
            if node.story:
                # An indented code block keeps the story's alignment and shows any markup literally.
                lines += [*(f"    {terminal(text)}" for text in node.story), ""]
    if report.findings:
        lines += ["| Severity | Rule | File | Layer | Message |", "|---|---|---|---|---|"]
        lines += [finding_row(f) for f in report.findings] + [""]
    return lines
