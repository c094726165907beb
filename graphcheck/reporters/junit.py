"""JUnit XML for CI test reports: a testsuite per model file, a testcase per finding.

An error finding is an ``error`` element, a warning a ``failure``; a note is a passing
testcase whose ``system-out`` holds the message. A file without findings has one passing
testcase, so that the report still lists it as checked.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.escape import terminal
from graphcheck.results import FileResult

OUTCOMES = {Severity.ERROR: "error", Severity.WARNING: "failure"}
CLEAN = "graphcheck: no findings"


def clean(text: str) -> str:
    """Show escaped what XML 1.0 cannot hold (and what would drive a terminal showing it)."""
    return terminal(text)


def testcase(finding: Finding) -> ET.Element:
    """Return one finding as a testcase: error or failure by severity, a pass for a note."""
    name = f"{finding.code} {finding.rule}" + (f" ({finding.node})" if finding.node else "")
    case = ET.Element("testcase", name=clean(name), classname=clean(finding.path),
                      file=clean(finding.path))
    text = clean(f"{finding.node}: {finding.message}" if finding.node else finding.message)
    outcome = OUTCOMES.get(finding.severity)
    if outcome is None:
        ET.SubElement(case, "system-out").text = text
    else:
        ET.SubElement(case, outcome, message=clean(finding.message), type=finding.rule).text = text
    return case


def testsuite(result: FileResult) -> ET.Element:
    """Return the testsuite of one model file with its counts."""
    suite = ET.Element("testsuite", name=clean(result.path))
    if result.findings:
        suite.extend(testcase(f) for f in result.findings)
    else:
        ET.SubElement(suite, "testcase", name=CLEAN, classname=clean(result.path),
                      file=clean(result.path))
    tally(suite, suite)
    return suite


def tally(element: ET.Element, cases: ET.Element) -> None:
    """Set tests/failures/errors/skipped on element from the testcases below cases."""
    found = list(cases.iter("testcase"))
    kinds = {"failures": "failure", "errors": "error", "skipped": "skipped"}
    element.set("tests", str(len(found)))
    for attribute, tag in kinds.items():
        element.set(attribute, str(sum(case.find(tag) is not None for case in found)))


class JunitReporter:
    """``<testsuites>`` with one suite per model file."""

    name = "junit"
    commands = frozenset({"check"})

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the XML document."""
        root = ET.Element("testsuites", name="graphcheck")
        root.extend(testsuite(result) for result in results)
        tally(root, root)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


REPORTER = JunitReporter()
