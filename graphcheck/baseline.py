"""Baselines: record today's findings once, then report only findings that are new.

A finding's fingerprint is (path relative to the baseline file, rule name, layer): not the
message, whose numbers change when a model is retrained or resized, and not the code, so
renumbering a rule keeps the baseline valid. Fingerprints are counted, so a second finding of
the same rule on the same layer is new.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from graphcheck.config import real
from graphcheck.findings import Finding
from graphcheck.results import FileResult
from graphcheck.safe_io import read_text

VERSION = 1
# A baseline lists findings, a few hundred bytes each: 64 MiB is hundreds of thousands.
MAX_BASELINE_BYTES = 64 * 1024 * 1024
Fingerprint = tuple[str, str, str]


class BaselineError(Exception):
    """A baseline file that cannot be read."""


def fingerprint(finding: Finding, root: Path) -> Fingerprint:
    """Return what identifies a finding across runs: relative path, rule and layer."""
    path = Path(finding.path)
    try:
        shown = real(path).relative_to(real(root)).as_posix()
    except ValueError:
        shown = path.as_posix()
    return (shown, finding.rule, finding.node or "")


def write(baseline: Path, results: Sequence[FileResult]) -> int:
    """Write every current finding to ``baseline``; return how many."""
    root = baseline.parent
    entries = sorted(({"path": p, "rule": r, "layer": n, "code": f.code, "message": f.message}
                      for f in _findings(results) for p, r, n in [fingerprint(f, root)]),
                     key=lambda e: (e["path"], e["rule"], e["layer"], e["message"]))
    document = {"graphcheck-baseline": VERSION,
                "note": "findings accepted when the baseline was written; "
                        "matched by path, rule and layer (messages are informative only)",
                "findings": entries}
    baseline.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(entries)


def read(baseline: Path) -> Counter[Fingerprint]:
    """Read a baseline file's fingerprints, or raise BaselineError saying what is wrong."""
    try:
        document = json.loads(read_text(baseline, MAX_BASELINE_BYTES))
        entries = document["findings"]
        return Counter((str(e["path"]), str(e["rule"]), str(e["layer"])) for e in entries)
    except RecursionError:
        raise BaselineError(f"cannot read baseline {baseline}: its JSON is nested too deeply; "
                            "rewrite it with --write-baseline") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BaselineError(f"cannot read baseline {baseline}: {error}; delete it or "
                            "rewrite it with --write-baseline") from error


def only_new(results: Sequence[FileResult], baseline: Path) -> tuple[list[FileResult], int]:
    """Drop findings the baseline accepts; return the results and how many were dropped."""
    known = read(baseline)
    root, kept, dropped = baseline.parent, [], 0
    for result in results:
        fresh = []
        for found in result.findings:
            key = fingerprint(found, root)
            if known[key] > 0:
                known[key] -= 1
                dropped += 1
            else:
                fresh.append(found)
        kept.append(replace(result, findings=fresh))
    return kept, dropped


def _findings(results: Sequence[FileResult]) -> list[Finding]:
    """Flatten the findings of all results."""
    return [f for r in results for f in r.findings]
