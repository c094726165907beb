"""The human format: ``path:layer: CODE rule-name message``, coloured on a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from graphcheck.engine import FileResult
from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions

COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.NOTE: "\x1b[36m"}
BOLD, RESET = "\x1b[1m", "\x1b[0m"


def line(finding: Finding, color: bool) -> str:
    """Format one finding."""
    where = f"{finding.path}:{finding.node}" if finding.node else finding.path
    code = finding.code
    if color:
        where, code = f"{BOLD}{where}{RESET}", f"{COLORS[finding.severity]}{code}{RESET}"
    return f"{where}: {code} {finding.rule} {finding.message}"


def summary(results: Sequence[FileResult]) -> str:
    """Count findings by severity, ruff-style."""
    findings = [f for r in results for f in r.findings]
    if not findings:
        return f"All checks passed ({len(results)} file{'s' if len(results) != 1 else ''})."
    counts = ", ".join(f"{sum(f.severity == s for f in findings)} {s}"
                       for s in sorted(Severity, reverse=True)
                       if any(f.severity == s for f in findings))
    return f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({counts})."


class TextReporter:
    """One line per finding and a summary line."""

    name = "text"

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return all findings, one per line, then the summary."""
        lines = [line(f, options.color) for r in results for f in r.findings]
        return "\n".join([*lines, summary(results)]) + "\n"


REPORTER = TextReporter()
