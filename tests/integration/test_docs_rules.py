"""docs/rules.md is generated from the rules; this fails when someone forgot to regenerate it.

The file is a golden: its example messages come from running each rule's INVALID cases, so a
change in wording shows up here. Regenerate with
``GRAPHCHECK_UPDATE_GOLDEN=1 python -m pytest tests/integration/test_docs_rules.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.rules.registry import all_rules

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_docs_rules_md_is_up_to_date() -> None:
    """The committed file equals `graphcheck rules --format markdown`."""
    result = CliRunner().invoke(main, ["rules", "--format", "markdown"])
    assert result.exit_code == 0
    if os.environ.get("GRAPHCHECK_UPDATE_GOLDEN") == "1":
        DOCS.write_text(result.output, encoding="utf-8")
    assert DOCS.read_text(encoding="utf-8") == result.output, (
        "docs/rules.md is stale: run GRAPHCHECK_UPDATE_GOLDEN=1 python -m pytest "
        "tests/integration/test_docs_rules.py")


def test_docs_hold_every_rule_with_all_four_sections() -> None:
    """Each rule appears with its code, name and ruff-shaped sections."""
    text = DOCS.read_text(encoding="utf-8")
    for rule in all_rules():
        section = text.split(f"### {rule.name} ({rule.code})\n", 1)[1].split("\n### ", 1)[0]
        for heading in ("What it does", "Why is this bad?", "Example", "How to fix"):
            assert f"#### {heading}\n" in section, (rule.name, heading)


def test_docs_show_real_messages_not_templates() -> None:
    """Each rule with INVALID cases shows what they print: no template placeholder is left."""
    text = DOCS.read_text(encoding="utf-8")
    for rule in all_rules():
        if not rule.INVALID:
            continue
        section = text.split(f"### {rule.name} ({rule.code})\n", 1)[1].split("\n### ", 1)[0]
        block = section.split("#### Example messages\n```text\n", 1)[1].split("\n```", 1)[0]
        assert block and "{" not in block, rule.name
        assert all(case.contains in block for case in rule.INVALID), rule.name
