"""``graphcheck diff`` on the command line: exit codes, the text table, the JSON document."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from graphcheck.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "diff"


def diff(*args: str) -> Result:
    """Run ``graphcheck diff`` with fixture names resolved (other arguments as given)."""
    resolved = [str(FIXTURES / a) if (FIXTURES / a).is_file() else a for a in args]
    return CliRunner().invoke(main, ["diff", *resolved])


def test_faithful_export_exits_0_and_shows_the_table() -> None:
    """An equivalent export exits 0; the table pairs each layer with its nodes."""
    result = diff("lstm.h5", "lstm.onnx")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[1:4]]
    assert rows[0] == ["reference", "kind", "candidate", "status"]
    assert rows[1] == ["lstm", "LSTM", "LSTM__30", "equivalent"]
    assert rows[2][:2] == ["dense", "Dense"] and rows[2][-1] == "equivalent"
    assert "Verdict: equivalent." in result.output


def test_broken_export_exits_1_and_names_the_cause() -> None:
    """Swapped gates: exit 1, a GC604 line naming the gates."""
    result = diff("lstm.h5", "lstm.swap_if.onnx")
    assert result.exit_code == 1
    assert "GC604 [error] export-weight-mismatch" in result.output
    assert "gates i and f are swapped" in result.output


def test_json_document_shape() -> None:
    """JSON: version, pairs (reference, kind, candidate list, status), findings like check's."""
    result = diff("gru_after.h5", "gru_after.lbr_flip.onnx", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert set(document) == {"version", "reference", "candidate", "verdict", "pairs", "findings"}
    assert document["verdict"] == "differs"
    assert document["pairs"] == [{"reference": "gru", "kind": "GRU", "candidate": ["GRU__278"],
                                  "status": "differs"}]
    [finding] = document["findings"]
    assert set(finding) == {"path", "code", "rule", "severity", "node", "message", "confidence"}
    assert (finding["code"], finding["node"]) == ("GC603", "gru")
    assert finding["rule"] == "export-semantics-mismatch"


def test_atol_accepts_a_small_difference() -> None:
    """A Dense kernel off by 0.01 differs exactly, and passes with --atol 0.02."""
    assert diff("lstm.h5", "lstm.dense_perturbed.onnx").exit_code == 1
    assert diff("lstm.h5", "lstm.dense_perturbed.onnx", "--atol", "0.02").exit_code == 0


def test_fail_on_decides_which_findings_fail() -> None:
    """A lowered loop is a note: exit 0 by default, 1 with --fail-on note."""
    assert diff("simple.h5", "simple.onnx").exit_code == 0
    result = diff("simple.h5", "simple.onnx", "--fail-on", "note")
    assert result.exit_code == 1 and "not verified" in result.output


def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path) -> None:
    """A missing file, a file that is no model and an export as the reference exit 2, with a message."""
    (tmp_path / "notes.txt").write_text("hello")
    for args, says in (((str(tmp_path / "absent.h5"), "lstm.onnx"), "does not exist"),
                       (("lstm.h5", str(tmp_path / "notes.txt")), "not a Keras or ONNX model"),
                       (("lstm.onnx", "lstm.h5"), "give the Keras model as REFERENCE"),
                       (("lstm.h5", "lstm.onnx", "--atol", "-1"), "--atol")):
        result = diff(*args)
        assert result.exit_code == 2, result.output
        assert says in result.output and "Traceback" not in result.output
