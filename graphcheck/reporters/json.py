"""The machine format: one JSON object with every finding (the documented contract)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from graphcheck.findings import Finding
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.escape import json_value
from graphcheck.results import FileResult


def finding_dict(finding: Finding) -> dict[str, Any]:
    """Return the contract's keys for one finding, plus confidence (and detail, when it has one)."""
    found = {"path": finding.path, "code": finding.code, "rule": finding.rule,
             "severity": str(finding.severity), "node": finding.node,
             "message": finding.message, "confidence": str(finding.confidence)}
    return found if finding.detail is None else {**found, "detail": finding.detail}


class JsonReporter:
    """``{"version", "findings": [...]}``."""

    name = "json"

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the JSON document."""
        findings = [finding_dict(f) for r in results for f in r.findings]
        return json.dumps(json_value({"version": options.version, "findings": findings}),
                          indent=2) + "\n"


REPORTER = JsonReporter()
