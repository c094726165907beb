"""JUnit XML: a suite per model, a case per finding (error or failure by severity), counts that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.engine import check_path
from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.junit import CLEAN, REPORTER
from graphcheck.results import FileResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def counts(element: ET.Element) -> tuple[int, ...]:
    """Return the declared tests, failures, errors, skipped."""
    return tuple(int(element.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped"))


def actual(element: ET.Element) -> tuple[int, ...]:
    """Count the testcases and their outcomes below element."""
    cases = list(element.iter("testcase"))
    return (len(cases), *(sum(c.find(t) is not None for c in cases)
                          for t in ("failure", "error", "skipped")))


def test_fixture_run_parses_and_counts_add_up(tmp_path: Path) -> None:
    """Over the fixtures (plus an unreadable file): a suite per model, a case per finding."""
    (tmp_path / "truncated.keras").write_bytes((FIXTURES / "keras/question.keras").read_bytes()[:300])
    out = tmp_path / "report.xml"
    result = CliRunner().invoke(main, ["check", "--format", "junit", "-o", str(out),
                                       str(FIXTURES), str(tmp_path)])
    assert result.exit_code == 1
    root = ET.parse(out).getroot()
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and counts(root) == actual(root)
    assert all(counts(s) == actual(s) for s in suites)
    findings = check_path(FIXTURES / "keras/units16_weights32.keras", "x").findings
    broken = next(s for s in suites if s.get("name", "").endswith("units16_weights32.keras"))
    assert counts(broken) == (len(findings), 0, len(findings), 0)
    names = [c.get("name") for c in broken.iter("testcase")]
    assert names == [f"{f.code} {f.rule} ({f.node})" for f in findings]
    unreadable = next(s for s in suites if s.get("name", "").endswith("truncated.keras"))
    assert counts(unreadable) == (1, 0, 1, 0)
    good = next(s for s in suites if s.get("name", "").endswith("keras/question.keras"))
    assert counts(good) == (1, 0, 0, 0)
    assert [c.get("name") for c in good.iter("testcase")] == [CLEAN]
    # One testcase per finding, not per rule per file: the report stays readable.
    assert counts(root)[0] < 3 * len(suites)


def test_severity_decides_the_outcome_and_hostile_text_stays_valid_xml() -> None:
    """Errors are errors, warnings failures, notes pass; control characters cannot break the XML."""
    findings = [
        Finding(path="m.keras", code="GC002", rule="unsupported-layer", severity=Severity.NOTE,
                node="bad\x00name", message="no shape function for \x1bEvil"),
        Finding(path="m.keras", code="GC101", rule="weight-shape-mismatch",
                severity=Severity.ERROR, node="<lstm>", message='kernel "&" (1, 2)'),
        Finding(path="m.keras", code="GC301", rule="units-equal-timesteps",
                severity=Severity.WARNING, node="lstm", message="units=10 equals T=10"),
    ]
    xml = REPORTER.render([FileResult(path="m.keras", findings=findings)], RenderOptions())
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None and counts(suite) == (3, 1, 1, 0)
    case = {c.get("name"): c for c in suite.iter("testcase")}
    error = case["GC101 weight-shape-mismatch (<lstm>)"].find("error")
    assert error is not None and error.text == '<lstm>: kernel "&" (1, 2)'
    assert case["GC301 units-equal-timesteps (lstm)"].find("failure") is not None
    note = case["GC002 unsupported-layer (bad\\x00name)"]  # shown escaped, not dropped
    assert note.find("failure") is None
    assert "\\x1bEvil" in (note.findtext("system-out") or "")
