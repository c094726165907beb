"""The machine format: one JSON object with every finding (the documented contract).

For ``explain``: a JSON array with one object per model (nodes, outputs, totals, findings).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphcheck.findings import Finding
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.escape import json_value
from graphcheck.results import FileResult

if TYPE_CHECKING:
    from graphcheck.explanations.report import ModelReport


def finding_dict(finding: Finding) -> dict[str, Any]:
    """Return the contract's keys for one finding, plus confidence (and detail, when it has one)."""
    found = {"path": finding.path, "code": finding.code, "rule": finding.rule,
             "severity": str(finding.severity), "node": finding.node,
             "message": finding.message, "confidence": str(finding.confidence)}
    return found if finding.detail is None else {**found, "detail": finding.detail}


def model_dict(report: ModelReport) -> dict[str, Any]:
    """Return the explain JSON contract for one model."""
    findings = [finding_dict(f) for f in report.findings]
    if report.error is not None:
        return {"path": report.path, "format": None, "nodes": [], "outputs": [],
                "error": report.error, "findings": findings}
    return {
        "path": report.path, "format": report.format, "findings": findings,
        "nodes": [{"name": v.name, "type": v.type, "inputs": list(v.inputs),
                   "output_shapes": [None if s is None else list(s) for s in v.output_shapes],
                   "params": v.params or 0,
                   "weights": {k: list(s) for k, s in v.weights.items()}} for v in report.nodes],
        "outputs": [{"name": name, "shape": None if shape is None else list(shape)}
                    for name, shape in report.outputs],
        "total_params": report.total_params,
    }


class JsonReporter:
    """``{"version", "findings": [...]}``; for explain, ``[{"path", "nodes", ...}, ...]``."""

    name = "json"
    commands = frozenset({"check", "explain"})

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the JSON document."""
        findings = [finding_dict(f) for r in results for f in r.findings]
        return json.dumps(json_value({"version": options.version, "findings": findings}),
                          indent=2) + "\n"

    def explain(self, reports: Sequence[ModelReport], options: RenderOptions) -> str:
        """Return the explain JSON array."""
        return json.dumps(json_value([model_dict(r) for r in reports]), indent=2) + "\n"


REPORTER = JsonReporter()
