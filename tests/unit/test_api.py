"""The public Python API: lazy exports, options validated as the CLI's, in-memory configs, reprs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import graphcheck
from graphcheck import api
from graphcheck.rules.recurrent import UnitsEqualTimesteps
from graphcheck.testing import run_case

ROOT = Path(__file__).resolve().parents[2]
QUESTION = str(ROOT / "fixtures/keras/question.keras")
BROKEN = str(ROOT / "fixtures/keras/stacked_missing_return_sequences.keras")
WARNING = str(ROOT / "fixtures/rules/sequence_into_dense.keras")
HEAVY = ("tensorflow", "keras", "tf_keras", "torch", "onnx", "h5py", "networkx")


def test_import_graphcheck_is_cheap() -> None:
    """``import graphcheck`` imports no framework and none of the pipeline (exports are lazy)."""
    code = ("import sys, graphcheck\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}"
            " or m.startswith('graphcheck.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_using_the_api_imports_no_framework() -> None:
    """Checking and explaining a Keras file import none of TensorFlow, Keras, tf_keras or torch."""
    code = ("import sys, graphcheck\n"
            f"graphcheck.check({QUESTION!r}); graphcheck.explain({QUESTION!r})\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'tf_keras', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_exports() -> None:
    """Every public name resolves to its defining object; unknown names raise AttributeError."""
    from graphcheck.explanations.report import ModelReport
    from graphcheck.findings import Severity

    assert graphcheck.check is api.check and graphcheck.Report is api.Report
    assert graphcheck.ModelReport is ModelReport and graphcheck.Severity is Severity
    assert set(graphcheck.__all__) <= set(dir(graphcheck))
    assert all(getattr(graphcheck, name) is not None for name in graphcheck.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        graphcheck.nope  # noqa: B018


def test_findings_are_frozen_with_printable_severities() -> None:
    """A finding is frozen; its severity prints as "error" and orders against the others."""
    report = graphcheck.check(BROKEN)
    (found,) = report.findings
    assert (found.rule, found.node, str(found.severity)) == ("input-rank-mismatch", "upper", "error")
    assert found.severity is graphcheck.Severity.ERROR > graphcheck.Severity.WARNING
    with pytest.raises(AttributeError):
        found.message = "changed"  # type: ignore[misc]
    assert report.files[0].path == BROKEN and report.exit_code == 1


@pytest.mark.parametrize(("fail_on", "code"), [(None, 1), ("warning", 1), ("error", 0),
                                               ("note", 1)])
def test_exit_code_follows_fail_on(fail_on: Any, code: int) -> None:
    """A warning fails at warning (the default) and note, not at error."""
    report = graphcheck.check(WARNING, fail_on=fail_on)
    assert [str(f.severity) for f in report.findings] == ["warning"]
    assert report.exit_code == code


def test_fail_on_accepts_a_severity() -> None:
    """fail_on takes the enum as well as its name."""
    assert graphcheck.check(WARNING, fail_on=graphcheck.Severity.ERROR).exit_code == 0


@pytest.mark.parametrize("kwargs", [{"select": "GC999"}, {"ignore": ["nonsense-rule"]},
                                    {"select": "input-rank-mismach"}])
def test_unknown_selectors_are_errors(kwargs: dict[str, Any]) -> None:
    """An unknown selector is a ConfigError (the CLI's usage error), never a silent no-op."""
    with pytest.raises(graphcheck.ConfigError, match="unknown rule"):
        graphcheck.check(QUESTION, **kwargs)


def test_select_and_ignore() -> None:
    """Selectors accept a string (commas allowed) or a list, as --select/--ignore."""
    assert graphcheck.check(BROKEN, ignore="GC2").findings == ()
    assert graphcheck.check(BROKEN, select=["GC1", "GC201"]).exit_code == 1
    assert graphcheck.check(BROKEN, select="GC1,GC3").findings == ()


@pytest.mark.parametrize(("call", "error"), [
    (lambda: graphcheck.check(), ValueError),
    (lambda: graphcheck.check("no/such/model.keras"), FileNotFoundError),
    (lambda: graphcheck.check(QUESTION, fail_on="fatal"), ValueError),
    (lambda: graphcheck.check(QUESTION, config="no/such.toml"), FileNotFoundError),
    (lambda: graphcheck.check(QUESTION, select=[3]), TypeError),
    (lambda: graphcheck.check(QUESTION, jobs=0), ValueError),
    (lambda: graphcheck.explain(str(ROOT / "fixtures/keras")), ValueError),
    (lambda: graphcheck.check_model(object()), TypeError),
])
def test_bad_arguments_raise(call: Any, error: type[Exception]) -> None:
    """Mistakes in the call raise at once, with the exception a Python caller expects."""
    with pytest.raises(error):
        call()


def test_check_model_of_a_config_dict_equals_the_rule_case() -> None:
    """A config dict is checked as its .json file would be: the rule's own INVALID case fires."""
    case = UnitsEqualTimesteps.INVALID[0]
    report = graphcheck.check_model(dict(case.model), name="case.json")
    expected = [(f.rule, f.node, f.message) for f in run_case(case).findings]
    assert [(f.rule, f.node, f.message) for f in report.findings] == expected
    assert "units-equal-timesteps" in {f.rule for f in report.findings}
    assert {f.path for f in report.findings} == {"case.json"}


def test_config_dict_from_a_json_file_equals_the_file() -> None:
    """to_json() loaded as a dict gives the findings and explanation of the .json file itself."""
    path = ROOT / "fixtures/keras/question.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    in_memory = graphcheck.explain_model(config, name=str(path))
    assert in_memory.to_dict() == graphcheck.explain(path).to_dict()
    assert in_memory.total_params == 12_482


@pytest.mark.parametrize(("config", "words"), [
    ({"class_name": "Sequential", "config": {"layers": 3}}, "config.layers"),
    ({"class_name": "Sequential", "config": {"layers": [object()]}}, "not JSON data"),
])
def test_a_broken_config_dict_is_a_finding(config: dict[str, Any], words: str) -> None:
    """A dict that is no model is an unreadable-model finding saying why, not a traceback."""
    report = graphcheck.check_model(config)
    assert [f.rule for f in report.findings] == ["unreadable-model"]
    assert words in report.findings[0].message and report.exit_code == 1


def test_explain_nodes_expose_the_table() -> None:
    """Each node has name, type, output_shapes, params, inputs and weights."""
    report = graphcheck.explain(QUESTION)
    lstm = next(n for n in report.nodes if n.type == "LSTM")
    assert (lstm.name, lstm.output_shapes, lstm.params, lstm.inputs) == (
        "lstm", ((None, 32),), 12_416, ("sequence",))
    assert dict(lstm.weights) == {"kernel": (64, 128), "recurrent_kernel": (32, 128), "bias": (128,)}
    assert report.to_dict()["total_params"] == report.total_params == 12_482


HOSTILE = "<script>alert(1)</script>|*x*"


def _hostile_model() -> dict[str, Any]:
    """Return a config whose layer name is HTML and markdown markup (an attacker's choice)."""
    case = UnitsEqualTimesteps.INVALID[0]
    text = json.dumps(case.model).replace('"lstm"', json.dumps(HOSTILE))
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_reprs_escape_names() -> None:
    """Notebook HTML and markdown show a hostile layer name as text, never as markup."""
    report = graphcheck.explain_model(_hostile_model(), name="<b>model</b>")
    assert any(n.name == HOSTILE for n in report.nodes) and report.findings
    for html in (report._repr_html_(), graphcheck.check_model(_hostile_model())._repr_html_()):
        # The html reporter carries a script of its own; the names must never become markup.
        assert "<script>alert" not in html and "<b>model" not in html
        assert "&lt;script&gt;" in html
    markdown = report._repr_markdown_()
    assert "<script>" not in markdown.replace(f"    {HOSTILE}", "")  # stories are code blocks


def test_reprs_show_table_stories_and_findings() -> None:
    """The notebook view has the layer table, the recurrent story and the findings."""
    report = graphcheck.explain_model(_hostile_model())
    for shown in (report._repr_html_(), report._repr_markdown_()):
        assert "Output shape" in shown and "units-equal-timesteps" in shown
        assert "3,000" in shown  # units=10: 4*10*(64+10+1), not the question's 12,416
        assert "the size of the hidden state" in shown
    assert "12,416" not in report._repr_markdown_()  # the html page also carries the rule's docs
    check = graphcheck.check(BROKEN)
    assert "input-rank-mismatch" in check._repr_markdown_()
    assert "input-rank-mismatch" in check._repr_html_()


class _Drawn:
    """A stand-in html reporter, as the coming graphical one registers itself."""

    name = "html"
    commands = frozenset({"check", "explain"})

    def render(self, results: Any, options: Any) -> str:
        """Return a marker for check results."""
        return f"<p>drawn {len(results)} files</p>"

    def explain(self, reports: Any, options: Any) -> str:
        """Return a marker for explanations."""
        return f"<p>drawn {len(reports)} models</p>"


def test_html_uses_a_registered_html_reporter(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a reporter named html serves the command, the notebook shows its output."""
    from graphcheck import notebook, reporters

    def with_html(command: Any = "check") -> Any:
        return {**reporters.reporters(command), "html": _Drawn()}

    monkeypatch.setattr(notebook, "reporters", with_html)
    assert graphcheck.explain(QUESTION)._repr_html_() == "<p>drawn 1 models</p>"
    assert graphcheck.check(QUESTION)._repr_html_() == "<p>drawn 1 files</p>"


def test_an_interrupted_run_raises_keyboard_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during a check is a KeyboardInterrupt for a Python caller, not the CLI's SystemExit."""
    import graphcheck.runner

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit(130)

    monkeypatch.setattr(graphcheck.runner, "check_all", interrupted)
    with pytest.raises(KeyboardInterrupt, match="exit 130"):
        graphcheck.check(QUESTION)
