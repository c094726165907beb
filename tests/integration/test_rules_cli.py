"""`graphcheck rules` and `graphcheck rule NAME|CODE` as users call them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.rules.registry import all_rules


def run(*args: str) -> tuple[int, str]:
    """Run the command line and return (exit code, output)."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_rules_text_lists_every_code_and_name() -> None:
    """One line per rule, code first."""
    code, out = run("rules")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(all_rules())
    assert all(line.split()[:2] == [r.code, r.name] for line, r in zip(lines, all_rules()))


def test_rules_json_carries_defaults_options_and_docs() -> None:
    """The JSON has severity, confidence, options and the documentation of each rule."""
    code, out = run("rules", "--format", "json")
    data = {entry["name"]: entry for entry in json.loads(out)}
    assert code == 0 and set(data) == {r.name for r in all_rules()}
    assert data["units-equal-timesteps"]["options"] == {"min-units": 5}
    assert data["unroll-long-sequence"]["severity"] == "warning"
    assert "## How to fix" in data["flatten-after-sequence"]["documentation"]


@pytest.mark.parametrize("key", ["single-timestep", "GC302", "gc302"])
def test_rule_prints_docs_by_name_or_code(key: str) -> None:
    """`graphcheck rule` accepts the name or the code in any case."""
    code, out = run("rule", key)
    assert code == 0 and out.startswith("# single-timestep (GC302)")
    assert "## What it does" in out and "## Why is this bad?" in out and "## Example" in out


def test_rule_documents_its_options() -> None:
    """A rule with thresholds lists them with their defaults."""
    out = run("rule", "unroll-long-sequence")[1]
    assert "## Options" in out and "`max-steps` (default `32`)" in out


def test_unknown_rule_is_a_usage_error() -> None:
    """A misspelt rule name exits 2."""
    code, out = run("rule", "single-timestpe")
    assert code == 2 and "no rule" in out
