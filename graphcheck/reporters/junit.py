"""JUnit XML for CI test reports: a testsuite per model, a testcase per rule checked.

Error and warning findings are failures; notes pass and are listed in the testcase's
``system-out``. A model that could not be analysed is an ``error`` on the rule that says
why, and every other rule is ``skipped`` for it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from graphcheck.engine import FileResult
from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.rules import Rule
from graphcheck.rules.registry import all_rules

# Characters XML 1.0 cannot hold at all, not even escaped (names from hostile files may have them).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
COUNTS = ("tests", "failures", "errors", "skipped")


def clean(text: str) -> str:
    """Replace characters XML cannot represent."""
    return NOT_XML.sub("\ufffd", text)


def describe(findings: Sequence[Finding]) -> str:
    """List findings one per line, layer first."""
    return "\n".join(clean(f"{f.node}: {f.message}" if f.node else f.message) for f in findings)


def testcase(rule: type[Rule], result: FileResult, unreadable: bool) -> ET.Element:
    """Return one rule's testcase for one model, with its outcome as a child element."""
    case = ET.Element("testcase", name=f"{rule.code} {rule.name}", classname=clean(result.path),
                      file=clean(result.path))
    hits = [f for f in result.findings if f.rule == rule.name]
    failing = [f for f in hits if f.severity >= Severity.WARNING]
    if rule.category == "analysis" and hits:
        ET.SubElement(case, "error", message=clean(hits[0].message), type=rule.name).text = describe(hits)
    elif failing:
        message = f"{len(failing)} finding{'s' if len(failing) != 1 else ''}: {failing[0].message}"
        ET.SubElement(case, "failure", message=clean(message), type=rule.name).text = describe(failing)
    elif unreadable and rule.category != "analysis":
        ET.SubElement(case, "skipped", message="the model could not be analysed")
    if hits and not failing and rule.category != "analysis":
        ET.SubElement(case, "system-out").text = describe(hits)
    return case


def testsuite(result: FileResult) -> ET.Element:
    """Return the testsuite of one model with its counts: a testcase per rule that ran."""
    rules = [r for r in all_rules()
             if result.rules is None or r.name in result.rules or r.category == "analysis"]
    analysis = {r.name for r in rules if r.category == "analysis"}
    # A file-level analysis finding and nothing else: the model was never read, rules never ran.
    unreadable = (any(f.rule in analysis and f.node is None for f in result.findings)
                  and all(f.rule in analysis for f in result.findings))
    suite = ET.Element("testsuite", name=clean(result.path))
    suite.extend(testcase(rule, result, unreadable) for rule in rules)
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

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the XML document."""
        root = ET.Element("testsuites", name="graphcheck")
        root.extend(testsuite(result) for result in results)
        tally(root, root)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


REPORTER = JunitReporter()
