"""``graphcheck diff``'s formats: the correspondence table and findings (text), or one JSON object."""

from __future__ import annotations

import json
from typing import Any

from graphcheck.compare.report import NOT_VERIFIED, DiffReport
from graphcheck.reporters.escape import json_value, terminal
from graphcheck.reporters.json import finding_dict
from graphcheck.reporters.text import line, summary
from graphcheck.results import FileResult


def as_dict(report: DiffReport, version: str) -> dict[str, Any]:
    """Return the JSON document: version, pairs (reference, candidate nodes, status), findings."""
    pairs = [{"reference": p.reference, "kind": p.kind, "candidate": list(p.candidate),
              "status": p.status} for p in report.pairs]
    return {"version": version, "reference": report.reference, "candidate": report.candidate,
            "verdict": report.verdict, "pairs": pairs,
            "findings": [finding_dict(f) for f in report.findings]}


def render_json(report: DiffReport, version: str) -> str:
    """Return the JSON document as text."""
    return json.dumps(json_value(as_dict(report, version)), indent=2) + "\n"


def _nodes(names: tuple[str, ...], shown: int = 3) -> str:
    """Return the candidate nodes of a pair for the table: a few, then how many more."""
    more = f" (+{len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more or "-"


def render_text(report: DiffReport, color: bool = False) -> str:
    """Return the correspondence table, then one line per finding and a verdict."""
    rows = [("reference", "kind", "candidate", "status")]
    rows += [(p.reference or "-", p.kind, _nodes(p.candidate), p.status) for p in report.pairs]
    widths = [max(len(terminal(r[i])) for r in rows) for i in range(3)]
    table = ["  ".join(terminal(cell).ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row))
             for row in rows]
    lines = [f"{terminal(report.reference)} -> {terminal(report.candidate)}", *table, ""]
    lines += [line(f, color) for f in report.findings]
    verdict = {NOT_VERIFIED: "no difference found, but parts were not verified (see the notes)"}
    lines.append(f"{summary([FileResult(path=report.candidate, findings=list(report.findings))])} "
                 f"Verdict: {verdict.get(report.verdict, report.verdict)}.")
    return "".join(f"{text}\n" for text in lines)
