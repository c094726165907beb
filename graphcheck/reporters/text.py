"""The human format: ``path:layer: CODE [severity] rule-name message``, coloured on a terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.escape import clean_finding, terminal
from graphcheck.results import FileResult

COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.NOTE: "\x1b[36m"}
BOLD, RESET = "\x1b[1m", "\x1b[0m"


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


class TextReporter:
    """One line per finding and a summary line (none with ``quiet``)."""

    name = "text"

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return all findings, one per line, then the summary."""
        lines = [text for r in results for f in r.findings
                 for text in (line(f, options.color), *_detail(f, options.verbose))]
        if not options.quiet:
            lines.append(summary(results))
        return "".join(f"{text}\n" for text in lines)


REPORTER = TextReporter()
