"""GitHub annotations: one workflow command per finding, escaped as the Actions runner parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.github import REPORTER
from graphcheck.results import FileResult

ROOT = Path(__file__).resolve().parents[2]
# The runner's ActionCommand.TryParseV2: "::name k=v,k=v::data", then each part unescaped.
COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>.*?))?::(?P<data>.*)$")
PROPERTY_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
DATA_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))


def unescape(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    """Undo the runner's escapes, %25 last as the runner does."""
    for code, char in escapes:
        text = text.replace(code, char)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """Parse one workflow command the way the Actions runner does."""
    match = COMMAND.match(line)
    assert match, line
    props = {}
    for pair in (match["props"] or "").split(","):
        key, _, value = pair.partition("=")
        props[key] = unescape(value, PROPERTY_ESCAPES)
    return match["name"], props, unescape(match["data"], DATA_ESCAPES)


def test_severity_maps_to_command() -> None:
    """Severities map to ::error, ::warning and ::notice; one line per finding."""
    findings = [Finding(path="m.keras", code="GC101", rule="weight-shape-mismatch", severity=s,
                        node=None, message="m") for s in Severity]
    out = REPORTER.render([FileResult(path="m.keras", findings=findings)], RenderOptions())
    assert [parse(line)[0] for line in out.splitlines()] == ["notice", "warning", "error"]


def test_tricky_characters_round_trip() -> None:
    """Paths and layer names with ``%``, ``:``, ``,``, CR and LF survive the runner's parser."""
    path, node, message = "dir,a/x:y%.keras", "lay,er:1", "50% off:\r\nsecond, line"
    finding = Finding(path=path, code="GC201", rule="input-rank-mismatch", severity=Severity.ERROR,
                      node=node, message=message)
    out = REPORTER.render([FileResult(path=path, findings=[finding])], RenderOptions())
    assert out.count("\n") == 1
    name, props, data = parse(out.rstrip("\n"))
    assert (name, props) == ("error", {"file": path, "title": "GC201 input-rank-mismatch"})
    assert data == f"{node}: {message}"


def test_cli_paths_are_relative_to_the_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Absolute paths below the working directory are annotated relative to it."""
    monkeypatch.chdir(ROOT)
    broken = ROOT / "fixtures" / "keras" / "units16_weights32.keras"
    result = CliRunner().invoke(main, ["check", "--format", "github", str(broken)])
    lines = [parse(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and lines
    assert {props["file"] for _, props, _ in lines} == {"fixtures/keras/units16_weights32.keras"}
    assert all(data.startswith(("lstm: ", "dense: ")) for _, _, data in lines)


def test_no_findings_no_output() -> None:
    """A clean run prints nothing (annotations only)."""
    assert REPORTER.render([FileResult(path="m.keras", findings=[])], RenderOptions()) == ""
