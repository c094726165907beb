"""internal-error keeps the traceback a user needs to report it: in JSON, SARIF and with --verbose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from graphcheck import engine
from graphcheck.cli import main
from graphcheck.findings import TRACEBACK_CHARS, TRACEBACK_FRAMES, Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters.json import REPORTER as JSON
from graphcheck.reporters.sarif import REPORTER as SARIF
from graphcheck.reporters.text import REPORTER as TEXT
from graphcheck.results import FileResult
from graphcheck.rules import Case, Context, Hit, Rule
from graphcheck.rules.cases import lstm, sequential
from graphcheck.shapes import SHAPE_FUNCTIONS
from graphcheck.testing import model_of

ROOT = Path(__file__).resolve().parents[2]


def _explode(depth: int) -> int:
    """Fail ``depth`` frames down, like a bug deep inside a rule."""
    return 1 // 0 if depth == 0 else _explode(depth - 1)


class Exploding(Rule):
    """A rule with a bug: its check raises."""

    code = "GC999"
    name = "exploding"
    severity = Severity.WARNING
    template = "{message}"
    depth = 3

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Raise from a few frames down."""
        _explode(self.depth)
        yield self.hit(None, message="never")


def crashed(monkeypatch: pytest.MonkeyPatch, depth: int = 3) -> Finding:
    """Run the exploding rule on a small model; return its internal-error finding."""
    monkeypatch.setattr(Exploding, "depth", depth)
    monkeypatch.setattr(engine, "enabled_rules", lambda settings: [Exploding, *engine.all_rules()])
    model = model_of(Case(model=sequential([None, 10, 8], lstm("lstm", 4))))
    found = [f for f in engine.analyse(model, "m.keras").findings if f.rule == "internal-error"]
    assert len(found) == 1
    return found[0]


def test_a_failing_rule_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The message names the rule and the error; detail is the traceback down to the failing line."""
    found = crashed(monkeypatch)
    assert found.message == ("rule GC999 exploding failed: "
                             "ZeroDivisionError: integer division or modulo by zero")
    assert found.detail is not None
    assert found.detail.startswith("Traceback (most recent call last):")
    assert "in _explode" in found.detail and "1 // 0" in found.detail
    assert found.detail.rstrip().endswith("ZeroDivisionError: integer division or modulo by zero")


def test_a_failing_shape_function_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash inside shape propagation reaches the finding through its problem, traceback included."""
    def broken(call: object) -> object:
        """Fail like a shape function with a bug."""
        return _explode(2)

    engine.import_shape_functions()
    monkeypatch.setitem(SHAPE_FUNCTIONS, ("keras", "LSTM"), broken)
    model = model_of(Case(model=sequential([None, 10, 8], lstm("lstm", 4))))
    found = [f for f in engine.analyse(model, "m.keras").findings if f.rule == "internal-error"]
    assert [f.node for f in found] == ["lstm"]
    assert found[0].message.startswith("shape function for 'LSTM' failed: ZeroDivisionError")
    assert found[0].detail is not None and "in broken" in found[0].detail


def test_the_traceback_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deep recursion keeps only the last frames, within the size bound."""
    found = crashed(monkeypatch, depth=200)
    assert found.detail is not None
    assert found.detail.count('File "') <= TRACEBACK_FRAMES
    assert len(found.detail) <= TRACEBACK_CHARS + 3
    assert "ZeroDivisionError" in found.detail


def test_other_findings_have_no_detail() -> None:
    """Only internal errors have a detail; ordinary findings stay as they were."""
    model = model_of(Case(model=sequential([None, 10, 64], lstm("lstm", 10))))
    findings = engine.analyse(model, "m.keras").findings
    assert findings and all(f.detail is None for f in findings)


def _result(monkeypatch: pytest.MonkeyPatch) -> list[FileResult]:
    """One file whose only finding is an internal error."""
    return [FileResult(path="m.keras", findings=[crashed(monkeypatch)])]


def test_json_and_sarif_carry_the_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON has a "detail" key; SARIF has it in the result's and the notification's properties."""
    results = _result(monkeypatch)
    detail = results[0].findings[0].detail
    assert json.loads(JSON.render(results, RenderOptions()))["findings"][0]["detail"] == detail
    log: dict[str, Any] = json.loads(SARIF.render(results, RenderOptions(version="0")))
    run = log["runs"][0]
    assert run["results"][0]["properties"]["detail"] == detail
    assert run["invocations"][0]["toolExecutionNotifications"][0]["properties"]["detail"] == detail
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text("utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)


def test_text_shows_the_traceback_only_when_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text format stays one line per finding unless --verbose asks for the traceback."""
    results = _result(monkeypatch)
    quiet = TEXT.render(results, RenderOptions(quiet=True))
    loud = TEXT.render(results, RenderOptions(quiet=True, verbose=True))
    assert quiet.count("\n") == 1 and "Traceback" not in quiet
    assert loud.startswith(quiet) and "    Traceback (most recent call last):" in loud


def test_check_accepts_verbose() -> None:
    """`graphcheck check --verbose` is an option of check (a clean model prints as usual)."""
    model = str(ROOT / "fixtures" / "keras" / "functional.h5")
    plain = CliRunner().invoke(main, ["check", "--exit-zero", model])
    verbose = CliRunner().invoke(main, ["check", "--exit-zero", "--verbose", model])
    assert verbose.exit_code == plain.exit_code == 0
    assert verbose.output == plain.output
