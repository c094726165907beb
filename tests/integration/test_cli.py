"""The command line contract: default command, exit codes, JSON shapes, no framework imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import graphcheck
from graphcheck.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUESTION = str(FIXTURES / "keras" / "question.keras")
BROKEN = str(FIXTURES / "keras" / "units16_weights32.keras")


def run(*args: str) -> tuple[int, str]:
    """Invoke the CLI in-process; return exit code and stdout."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_bare_path_means_check() -> None:
    """``graphcheck PATH`` runs ``check``; a clean model exits 0."""
    assert run(QUESTION) == run("check", QUESTION)
    assert run(QUESTION)[0] == 0


def test_findings_exit_1_and_exit_zero() -> None:
    """Findings at or above --fail-on exit 1; --exit-zero and a higher --fail-on do not."""
    assert run(BROKEN)[0] == 1
    assert run("check", "--exit-zero", BROKEN)[0] == 0
    assert run("check", "--fail-on", "error", str(FIXTURES / "keras/units_equal_timesteps.keras"))[0] == 0


def test_usage_errors_exit_2() -> None:
    """A missing path or a bad option is a usage error."""
    assert run("check", "does/not/exist.keras")[0] == 2
    assert run("check", "--no-such-option", QUESTION)[0] == 2
    assert run("check", "--format", "nope", QUESTION)[0] == 2


def test_text_format_names_path_layer_code_and_rule() -> None:
    """Text lines read ``path:layer: CODE [severity] rule-name message``."""
    _, out = run(BROKEN)
    assert f"{BROKEN}:lstm: GC101 [error] weight-shape-mismatch kernel is stored as (64, 128)" in out


def test_check_json_contract() -> None:
    """``check --format json`` prints {"version", "findings": [{path, code, rule, ...}]}."""
    _, out = run("check", "--format", "json", BROKEN, QUESTION)
    document = json.loads(out)
    assert document["version"] == graphcheck.__version__
    assert document["findings"], "the broken model has findings"
    for finding in document["findings"]:
        assert {"path", "code", "rule", "severity", "node", "message"} <= finding.keys()
        assert finding["path"] == BROKEN
        assert finding["severity"] in ("error", "warning", "note")


def test_explain_json_contract() -> None:
    """``explain --format json`` prints one object per model with nodes and outputs."""
    code, out = run("explain", "--format", "json", QUESTION)
    assert code == 0
    [model] = json.loads(out)
    assert model["path"] == QUESTION and model["format"] == "keras"
    lstm = next(n for n in model["nodes"] if n["name"] == "lstm")
    assert lstm["type"] == "LSTM" and lstm["inputs"] == ["sequence"]
    assert lstm["output_shapes"] == [[None, 32]]
    assert lstm["weights"] == {"kernel": [64, 128], "recurrent_kernel": [32, 128], "bias": [128]}
    assert lstm["params"] == 4 * 32 * (64 + 32 + 1)
    assert model["outputs"] == [{"name": "dense", "shape": [None, 2]}]


def test_explain_text_teaches_the_question() -> None:
    """The recurrent block says what units, timesteps and features are, with the arithmetic."""
    _, out = run("explain", QUESTION)
    assert "units = 32: the size of the hidden state" in out
    assert "10 timesteps, 64 features" in out
    assert "4*32*(64 + 32 + 1) = 12,416" in out
    assert "does not depend on the number of timesteps" in out


def test_rule_prints_ruff_shaped_docs() -> None:
    """``graphcheck rule CODE`` and ``rule NAME`` print the same four sections."""
    by_code, by_name = run("rule", "GC101"), run("rule", "weight-shape-mismatch")
    assert by_code == by_name and by_code[0] == 0
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## How to fix"):
        assert heading in by_code[1]
    assert run("rule", "no-such-rule")[0] == 2


@pytest.mark.parametrize("command", [["--version"], ["-m", "graphcheck", "--version"]])
def test_version_and_module_entry(command: list[str]) -> None:
    """``graphcheck --version`` and ``python -m graphcheck`` work as processes."""
    argv = [sys.executable, *command] if command[0] == "-m" else [
        sys.executable, "-m", "graphcheck", *command]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert graphcheck.__version__ in out


def test_analysis_imports_no_framework() -> None:
    """Checking and explaining a model imports none of tensorflow, keras, tf_keras, torch."""
    code = (
        "import sys\n"
        "from graphcheck.cli import main\n"
        f"for args in (['check', {QUESTION!r}, {BROKEN!r}], ['explain', {QUESTION!r}]):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tf_keras', 'torch'))\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
