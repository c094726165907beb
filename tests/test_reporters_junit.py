"""JUnit XML: a suite per model, a case per rule, failures for findings, counts that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.engine import FileResult, Settings, check_path
from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.junit import REPORTER
from graphcheck.rules.registry import all_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def counts(element: ET.Element) -> tuple[int, ...]:
    """Return the declared tests, failures, errors, skipped."""
    return tuple(int(element.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped"))


def actual(element: ET.Element) -> tuple[int, ...]:
    """Count the testcases and their outcomes below element."""
    cases = list(element.iter("testcase"))
    return (len(cases), *(sum(c.find(t) is not None for c in cases)
                          for t in ("failure", "error", "skipped")))


def test_fixture_run_parses_and_counts_add_up(tmp_path: Path) -> None:
    """Over the fixtures (plus an unreadable file): one suite per model, counts match."""
    (tmp_path / "truncated.keras").write_bytes((FIXTURES / "keras/question.keras").read_bytes()[:300])
    out = tmp_path / "report.xml"
    result = CliRunner().invoke(main, ["check", "--format", "junit", "-o", str(out),
                                       str(FIXTURES), str(tmp_path)])
    assert result.exit_code == 1
    root = ET.parse(out).getroot()
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and counts(root) == actual(root)
    assert all(counts(s) == actual(s) and counts(s)[0] == len(all_rules()) for s in suites)
    broken = next(s for s in suites if s.get("name", "").endswith("units16_weights32.keras"))
    failed = {c.get("name") for c in broken.iter("testcase") if c.find("failure") is not None}
    expected = {f"{f.code} {f.rule}" for f in check_path(FIXTURES / "keras/units16_weights32.keras",
                                                         "x").findings}
    assert failed == expected
    unreadable = next(s for s in suites if s.get("name", "").endswith("truncated.keras"))
    assert counts(unreadable)[2] == 1 and counts(unreadable)[3] > 0


def test_notes_pass_and_hostile_text_stays_valid_xml() -> None:
    """A note is not a failure; control characters from a file cannot break the XML."""
    findings = [
        Finding(path="m.keras", code="GC002", rule="unsupported-layer", severity=Severity.NOTE,
                node="bad\x00name", message="no shape function for \x1bEvil"),
        Finding(path="m.keras", code="GC101", rule="weight-shape-mismatch",
                severity=Severity.ERROR, node="<lstm>", message='kernel "&" (1, 2)'),
    ]
    xml = REPORTER.render([FileResult(path="m.keras", findings=findings)], RenderOptions())
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None and counts(suite) == (len(all_rules()), 1, 0, 0)
    case = {c.get("name"): c for c in suite.iter("testcase")}
    failure = case["GC101 weight-shape-mismatch"].find("failure")
    assert failure is not None and failure.text == '<lstm>: kernel "&" (1, 2)'
    assert "Evil" in (case["GC002 unsupported-layer"].findtext("system-out") or "")


def test_only_the_rules_that_ran_are_testcases() -> None:
    """With rules selected, the other rules are not reported as passing tests."""
    result = check_path(FIXTURES / "keras/question.keras", "q.keras",
                        Settings(enabled=frozenset({"weight-shape-mismatch"})))
    xml = REPORTER.render([result], RenderOptions())
    names = [c.get("name", "") for c in ET.fromstring(xml).iter("testcase")]
    analysis = [r for r in all_rules() if r.category == "analysis"]
    assert sorted(names) == sorted([f"{r.code} {r.name}" for r in analysis] + ["GC101 weight-shape-mismatch"])
