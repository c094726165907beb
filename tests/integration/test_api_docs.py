"""docs/api.md: every ``python`` block runs as written, from the repository root, and checks itself.

Blocks tagged ``python keras`` need Keras and run in tests/oracle/test_api_docs_oracle.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
BLOCK = re.compile(r"```python( keras)?\n(.*?)```", re.DOTALL)


def blocks(keras: bool) -> list[str]:
    """Return the document's python blocks, those needing Keras or the others.

    Each block is preceded by blank lines so that a failure names its line in docs/api.md.
    """
    text = DOC.read_text(encoding="utf-8")
    return ["\n" * text.count("\n", 0, match.start(2)) + match.group(2)
            for match in BLOCK.finditer(text) if bool(match.group(1)) == keras]


def run_block(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Execute one block in a fresh namespace at the repository root."""
    monkeypatch.chdir(ROOT)
    exec(compile(code, str(DOC), "exec"), {"__name__": "api_doc"})


def test_the_document_has_examples() -> None:
    """Every function of the API appears in an example that runs."""
    code = "\n".join(blocks(False) + blocks(True))
    for name in ("check(", "check_model(", "explain(", "explain_model(", "to_dict()", "exit_code",
                 "_repr_html_", "_repr_markdown_", "ConfigError", "Severity", "diff("):
        assert name in code, name
    assert blocks(True)


@pytest.mark.parametrize("code", blocks(False), ids=lambda code: f"line-{len(code) - len(code.lstrip())}")
def test_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's own assertions hold."""
    run_block(code, monkeypatch)
