"""Markdown for a CI job summary (``$GITHUB_STEP_SUMMARY``): a count line and a findings table."""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphcheck.findings import Finding
from graphcheck.reporters import RenderOptions, shorten
from graphcheck.reporters.escape import terminal
from graphcheck.reporters.text import summary
from graphcheck.results import FileResult

# Layer and file names can be long (nested models) or hostile; the JSON report keeps them whole.
NAME_WIDTH = 48
ICONS = {"error": "🔴", "warning": "🟡", "note": "🔵"}
# Markdown would read these as table cells, markup, HTML or links.
SPECIAL = re.compile(r"([\\|`*_\[\]<>#])")


def cell(text: str) -> str:
    """Escape text for one table cell: markup characters quoted, line breaks flattened."""
    return SPECIAL.sub(r"\\\1", " ".join(terminal(text).split()))


def row(finding: Finding) -> str:
    """Return one finding as a table row."""
    severity = f"{ICONS[str(finding.severity)]} {finding.severity}"
    node = cell(shorten(finding.node, NAME_WIDTH)) if finding.node else ""
    return (f"| {severity} | `{finding.code}` {finding.rule} | {cell(shorten(finding.path, NAME_WIDTH))} "
            f"| {node} | {cell(finding.message)} |")


class MarkdownReporter:
    """A heading, the summary and one table row per finding."""

    name = "markdown"
    commands = frozenset({"check"})
    pictures = True  # the runner keeps each file's ModelReport: one Mermaid flowchart per file

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the Markdown document (empty with ``quiet`` on a clean run)."""
        findings = [f for r in results for f in r.findings]
        if options.quiet and not findings:
            return ""
        lines = ["## graphcheck", "", summary(results)]
        if findings:
            lines += ["", "| Severity | Rule | File | Layer | Message |", "|---|---|---|---|---|"]
            lines += [row(f) for f in findings]
        lines += [block for r in results for block in flowchart_block(r)]
        return "\n".join(lines) + "\n"


def flowchart_block(result: FileResult) -> list[str]:
    """Return a collapsed Mermaid flowchart of one file (GitHub renders it), or nothing."""
    from graphcheck.reporters.mermaid import flowchart
    from graphcheck.reporters.picture import report_of
    from graphcheck.reporters.svg import esc

    report = report_of(result)
    if not report.nodes:
        return []
    return ["", f"<details><summary>{esc(result.path)}</summary>", "", "```mermaid",
            flowchart(report), "```", "", "</details>"]


REPORTER = MarkdownReporter()
