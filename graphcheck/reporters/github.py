"""GitHub Actions workflow commands: ``::error file=...,title=...::message``, one per finding."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.escape import clean_finding, terminal
from graphcheck.results import FileResult

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def workspace_path(display: str) -> str:
    """Return a path relative to the working directory (where CI checks out), with slashes."""
    path = Path(display)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:  # outside the working directory: keep it absolute
            return path.as_posix()
    return Path(os.path.normpath(path)).as_posix()


def escape_data(text: str) -> str:
    """Escape a command's message as the Actions runner expects (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value: the message escapes plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(finding: Finding) -> str:
    """Format one finding as an annotation on its file (control characters shown escaped)."""
    # Line breaks stay: the runner's own %0A escape shows them as multi-line annotations.
    finding = clean_finding(finding, lambda text: terminal(text, keep="\r\n"))
    where = f"{finding.node}: " if finding.node else ""
    props = (f"file={escape_property(workspace_path(finding.path))},"
             f"title={escape_property(f'{finding.code} {finding.rule}')}")
    return f"::{COMMANDS[finding.severity]} {props}::{escape_data(where + finding.message)}"


class GithubReporter:
    """Annotations that GitHub shows on the run and on the pull request's files."""

    name = "github"
    commands = frozenset({"check"})

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return one workflow command per finding (nothing when there are none)."""
        return "".join(command(f) + "\n" for r in results for f in r.findings)


REPORTER = GithubReporter()
