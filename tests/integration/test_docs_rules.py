"""docs/rules.md is generated from the rules; this fails when someone forgot to regenerate it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.rules.registry import all_rules

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_docs_rules_md_is_up_to_date() -> None:
    """The committed file equals `graphcheck rules --format markdown`."""
    result = CliRunner().invoke(main, ["rules", "--format", "markdown"])
    assert result.exit_code == 0
    assert DOCS.read_text(encoding="utf-8") == result.output, (
        "docs/rules.md is stale: run `graphcheck rules --format markdown > docs/rules.md`")


def test_docs_hold_every_rule_with_all_four_sections() -> None:
    """Each rule appears with its code, name and ruff-shaped sections."""
    text = DOCS.read_text(encoding="utf-8")
    for rule in all_rules():
        section = text.split(f"### {rule.name} ({rule.code})\n", 1)[1].split("\n### ", 1)[0]
        for heading in ("What it does", "Why is this bad?", "Example", "How to fix"):
            assert f"#### {heading}\n" in section, (rule.name, heading)
