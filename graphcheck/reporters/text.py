"""The human format: ``path:layer: CODE [severity] rule-name message``, coloured on a terminal.

For ``explain``: a table of layers per model, then each recurrent layer's story, then findings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from graphcheck.findings import Finding, Severity
from graphcheck.graph import Shape, format_shape
from graphcheck.reporters import RenderOptions, shorten
from graphcheck.reporters.escape import clean_finding, terminal
from graphcheck.results import FileResult

if TYPE_CHECKING:
    from graphcheck.explanations.report import ModelReport, NodeReport

COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.NOTE: "\x1b[36m"}
BOLD, RESET = "\x1b[1m", "\x1b[0m"
# Long (nested, generated) layer names would push the table off the screen; JSON keeps them whole.
NAME_WIDTH = 40


def plural(count: int, noun: str) -> str:
    """Return ``1 finding`` or ``2 findings``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def line(finding: Finding, color: bool) -> str:
    """Format one finding; the severity is spelt out so that plain CI logs carry it too."""
    finding = clean_finding(finding)
    where = f"{finding.path}:{finding.node}" if finding.node else finding.path
    code, severity = finding.code, f"[{finding.severity}]"
    if color:
        tint = COLORS[finding.severity]
        where, code, severity = f"{BOLD}{where}{RESET}", f"{tint}{code}{RESET}", f"{tint}{severity}{RESET}"
    return f"{where}: {code} {severity} {finding.rule} {finding.message}"


def summary(results: Sequence[FileResult]) -> str:
    """Count findings by severity, ruff-style."""
    findings = [f for r in results for f in r.findings]
    if not findings:
        return f"All checks passed ({plural(len(results), 'file')})."
    counts = Counter(f.severity for f in findings)
    shown = ", ".join(plural(counts[s], str(s)) for s in sorted(counts, reverse=True))
    return f"Found {plural(len(findings), 'finding')} ({shown})."


def statistics(results: Sequence[FileResult]) -> list[tuple[int, str, str, Severity]]:
    """Return (count, code, rule, severity) per rule found, most frequent first, then by code."""
    counts = Counter((f.code, f.rule, f.severity) for r in results for f in r.findings)
    return sorted(((n, *key) for key, n in counts.items()), key=lambda row: (-row[0], row[1]))


def render_statistics(results: Sequence[FileResult]) -> str:
    """Return ruff's ``--statistics`` table: count, code, severity and rule name per rule."""
    rows = statistics(results)
    width = max((len(str(n)) for n, *_ in rows), default=1)
    return "".join(f"{n:>{width}}\t{code}\t[{severity}] {rule}\n"
                   for n, code, rule, severity in rows)


def _detail(finding: Finding, verbose: bool) -> list[str]:
    """Return the finding's detail (an internal-error's traceback), indented, with --verbose."""
    if not verbose or finding.detail is None:
        return []
    return [f"    {terminal(text)}" for text in finding.detail.splitlines()]


def _shapes(shapes: Sequence[Shape | None]) -> str:
    """Format one or more output shapes for the table."""
    return ", ".join(format_shape(s) for s in shapes) or "-"


def table(nodes: Sequence[NodeReport]) -> list[str]:
    """Return the summary table rows: layer, type, output shape, params, inputs."""
    rows = [("Layer", "Type", "Output shape", "Params", "Inputs")]
    for v in nodes:
        rows.append(("  " * v.depth + shorten(v.label, NAME_WIDTH), shorten(v.type, NAME_WIDTH),
                     _shapes(v.output_shapes), "?" if v.params is None else f"{v.params:,}",
                     ", ".join(shorten(i, NAME_WIDTH) for i in v.inputs)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return lines


def explained(report: ModelReport) -> list[str]:
    """Return one model's explanation: header, table, total, stories, then its findings."""
    out = [f"== {report.path}" + (f" ({report.format})" if report.format else "")]
    if report.error is None:
        out += table(report.nodes)
        out.append(f"Total params: {'?' if report.total_params is None else f'{report.total_params:,}'}")
        for node in report.nodes:
            if node.story:
                out += ["", *node.story]
    for finding in report.findings:
        where = f"{finding.node}: " if finding.node else ""
        out.append(f"{finding.severity}: {where}{finding.code} {finding.rule} {finding.message}")
    out.append("")
    return out


class TextReporter:
    """One line per finding and a summary line (none with ``quiet``); explain's table and stories."""

    name = "text"
    commands = frozenset({"check", "explain"})

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return all findings, one per line, then the summary."""
        lines = [text for r in results for f in r.findings
                 for text in (line(f, options.color), *_detail(f, options.verbose))]
        if not options.quiet:
            lines.append(summary(results))
        return "".join(f"{text}\n" for text in lines)

    def explain(self, reports: Sequence[ModelReport], options: RenderOptions) -> str:
        """Return every model's explanation, control characters shown escaped."""
        return "\n".join(terminal(line) for report in reports for line in explained(report))


REPORTER = TextReporter()
