"""SARIF 2.1.0 for code scanning: every rule in the driver, findings as results.

A file that could not be analysed (rules in the "analysis" category) is a result on the file,
so that code scanning raises an alert for a broken model or an LFS pointer even when the
job itself passes, and also a tool execution notification, where SARIF viewers look for
what the tool could not do. A file with nothing to check (``not-a-model``, a note) is only
a notification.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from graphcheck.findings import Confidence, Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.escape import clean_finding, json_value, surrogates
from graphcheck.reporters.github import workspace_path
from graphcheck.results import FileResult
from graphcheck.rule_names import RuleName
from graphcheck.rules import Rule
from graphcheck.rules.registry import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
# GitHub code scanning reads these two properties to rank and filter alerts.
PRECISION = {Confidence.HIGH: "very-high", Confidence.MEDIUM: "high", Confidence.LOW: "medium"}
PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "recommendation"}
FINGERPRINT = "graphcheck/v1"
# GitHub ranks alerts tagged "security" by this CVSS-like score: loading such a model runs code.
SECURITY_SEVERITY = {RuleName.UNSAFE_CODE.value: "8.0"}
SRCROOT = "%SRCROOT%"


def project_urls() -> dict[str, str]:
    """Return graphcheck's ``[project.urls]`` as installed, by lower-case label."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        entries = metadata("graphcheck").get_all("Project-URL") or []
    except PackageNotFoundError:
        return {}
    pairs = (entry.partition(",") for entry in entries)
    return {label.strip().lower(): url.strip() for label, _, url in pairs if url.strip()}


def rules_page(version: str) -> str | None:
    """Return the URL of the rules documentation: a ``Rules`` URL, or docs/rules.md on GitHub."""
    urls = project_urls()
    if "rules" in urls:
        return urls["rules"]
    for label in ("repository", "source", "homepage"):
        url = urls.get(label, "").rstrip("/")
        if url.startswith("https://github.com/"):
            return f"{url}/blob/v{version}/docs/rules.md" if version else f"{url}/blob/HEAD/docs/rules.md"
    return None


def rule_descriptor(rule: type[Rule], page: str | None = None) -> dict[str, Any]:
    """Describe one rule with its summary, what it does and its whole documentation."""
    docs = rule.documentation()
    tags = [rule.category]
    properties: dict[str, Any] = {"tags": tags, "precision": PRECISION[rule.confidence],
                                  "problem.severity": PROBLEM_SEVERITY[rule.severity]}
    if rule.name in SECURITY_SEVERITY:
        tags.append("security")
        properties["security-severity"] = SECURITY_SEVERITY[rule.name]
    described: dict[str, Any] = {
        "id": rule.code, "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what.split())},
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": properties,
    }
    if page:
        described["helpUri"] = f"{page}#{rule.name}-{rule.code.lower()}"
    return described


def uri(display: str) -> str:
    """Return the artifact URI: relative to the working directory when the file is below it."""
    path = workspace_path(display)
    return Path(path).as_uri() if Path(path).is_absolute() else quote(path)


def location(finding: Finding) -> dict[str, Any]:
    """Point at the file (line 1: model files have no lines) and at the layer."""
    artifact = {"uri": uri(finding.path)}
    if not artifact["uri"].startswith("file:"):
        artifact["uriBaseId"] = SRCROOT
    where: dict[str, Any] = {"physicalLocation": {"artifactLocation": artifact,
                                                  "region": {"startLine": 1}}}
    if finding.node is not None:
        where["logicalLocations"] = [{"name": finding.node.rsplit("/", 1)[-1],
                                      "fullyQualifiedName": finding.node, "kind": "member"}]
    return where


def fingerprint(finding: Finding, occurrence: int) -> str:
    """Hash rule, path and layer (not the message, whose numbers may change); number repeats."""
    key = "\0".join((finding.rule, workspace_path(finding.path), finding.node or ""))
    import hashlib  # here: loading OpenSSL for every run, SARIF or not, costs more than a small check

    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}:{occurrence}"


def results(findings: Sequence[Finding], index: dict[str, int]) -> list[dict[str, Any]]:
    """Turn findings into results with stable fingerprints, one per finding."""
    seen: Counter[tuple[str, str, str | None]] = Counter()
    out = []
    for f in findings:
        seen[f.rule, f.path, f.node] += 1
        out.append({"ruleId": f.code, "ruleIndex": index[f.code], "level": LEVELS[f.severity],
                    "message": {"text": f"{f.node}: {f.message}" if f.node else f.message},
                    "locations": [location(f)],
                    "partialFingerprints": {FINGERPRINT: fingerprint(f, seen[f.rule, f.path, f.node])},
                    **({} if f.detail is None else {"properties": {"detail": f.detail}})})
    return out


def notification(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    """Report a file that could not be analysed, tied to the rule that says why."""
    found = {"level": LEVELS[finding.severity], "message": {"text": finding.message},
             "locations": [location(finding)],
             "associatedRule": {"id": finding.code, "index": index[finding.code]}}
    return found if finding.detail is None else {**found, "properties": {"detail": finding.detail}}


class SarifReporter:
    """One SARIF log with one run."""

    name = "sarif"
    commands = frozenset({"check"})

    def render(self, results_: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the SARIF document."""
        rules = all_rules()
        index = {rule.code: i for i, rule in enumerate(rules)}
        analysis = {rule.code for rule in rules if rule.category == "analysis"}
        findings = [clean_finding(f, surrogates) for r in results_ for f in r.findings]
        page = rules_page(options.version)
        notes = [notification(f, index) for f in findings if f.code in analysis]
        run = {
            "tool": {"driver": {"name": "graphcheck", "version": options.version,
                                "rules": [rule_descriptor(rule, page) for rule in rules]}},
            # A signal cut the run short: the files it did not check are notifications too.
            "invocations": [{"executionSuccessful": not options.partial,
                             "toolExecutionNotifications": notes}],
            "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri().rstrip("/") + "/"}},
            # A note from the analysis category (not-a-model: nothing to check) is no alert.
            "results": results([f for f in findings if f.code not in analysis
                                or f.severity >= Severity.WARNING], index),
        }
        log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
        return json.dumps(json_value(log), indent=2) + "\n"


REPORTER = SarifReporter()
