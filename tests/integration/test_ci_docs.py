"""docs/ci.md: every YAML block parses and every graphcheck command in it runs as written."""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from graphcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci.md"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def blocks() -> list[Any]:
    """Parse every YAML block of the document."""
    found = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    assert len(found) >= 4, "pre-commit, two GitHub workflows and GitLab"
    return [yaml.safe_load(text) for text in found]


def strings(node: Any) -> Iterator[str]:
    """Yield every string value in a parsed YAML document."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def commands(document: Any) -> list[list[str]]:
    """Return the graphcheck command lines in a document, split like a shell would."""
    lines = (line.strip() for text in strings(document) for line in text.splitlines())
    return [shlex.split(line) for line in lines if line.startswith("graphcheck ")]


def option(args: list[str], name: str) -> str | None:
    """Return an option's value in a command line."""
    return args[args.index(name) + 1] if name in args else None


def all_commands() -> list[list[str]]:
    """Return every graphcheck command in the document."""
    return [c for document in blocks() for c in commands(document)]


@pytest.mark.parametrize("args", all_commands(), ids=" ".join)
def test_command_runs_as_written(args: list[str], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the command in a project with a sound and a broken model: it checks both."""
    (tmp_path / "models").mkdir()
    shutil.copy(ROOT / "fixtures/keras/question.keras", tmp_path / "models/good.keras")
    shutil.copy(ROOT / "fixtures/keras/units16_weights32.keras", tmp_path / "models/broken.keras")
    monkeypatch.chdir(tmp_path)
    if args[-1] == "--":  # a pre-commit entry: pre-commit appends the staged file names
        args = [*args, "models/good.keras", "models/broken.keras"]
    result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == (0 if "--exit-zero" in args else 1), result.output
    output = option(args, "--output")
    report = (tmp_path / output).read_text(encoding="utf-8") if output else result.stdout
    assert "broken.keras" in report and "weight-shape-mismatch" in report


def test_every_ci_format_is_shown() -> None:
    """The examples cover SARIF, GitHub annotations and JUnit."""
    assert {option(c, "--format") for c in all_commands()} >= {"sarif", "github", "junit"}


def test_reports_are_uploaded_from_where_they_are_written() -> None:
    """The SARIF upload and the GitLab JUnit report read the file graphcheck writes."""
    outputs = {option(c, "--format"): option(c, "--output") for c in all_commands()}
    uploads = [s for d in blocks() if isinstance(d, dict) and "jobs" in d
               for job in d["jobs"].values() for s in job["steps"]
               if "upload-sarif" in s.get("uses", "")]
    assert uploads and all(s["with"]["sarif_file"] == outputs["sarif"] for s in uploads)
    gitlab = [job for d in blocks() if isinstance(d, dict) and "jobs" not in d and "repos" not in d
              for job in d.values()]
    assert gitlab and all(job["artifacts"]["reports"]["junit"] == outputs["junit"] for job in gitlab)


def test_precommit_snippet_names_a_hook_this_repository_defines() -> None:
    """The hook ids in the pre-commit example exist in .pre-commit-hooks.yaml."""
    defined = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    used = {hook["id"] for d in blocks() if isinstance(d, dict) and "repos" in d
            for repo in d["repos"] for hook in repo["hooks"]}
    assert used and used <= defined


def test_hook_entries_end_options_before_file_names() -> None:
    """The hook and every entry override end with `--`, so file names never become options."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    entries = [hook["entry"] for hook in hooks]
    entries += [hook["entry"] for d in blocks() if isinstance(d, dict) and "repos" in d
                for repo in d["repos"] for hook in repo["hooks"] if "entry" in hook]
    assert len(entries) >= 2 and all(entry.split()[-1] == "--" for entry in entries)
    assert all("--force-exclude" in entry.split() for entry in entries)


def test_precommit_rev_is_this_release_or_a_commit() -> None:
    """Each `rev:` in the docs is the tag of this version or a pinned 40-character SHA."""
    import graphcheck

    texts = [DOC.read_text(encoding="utf-8"), (ROOT / "README.md").read_text(encoding="utf-8")]
    revs = [m for text in texts for m in re.findall(r"^\s*rev: (\S+)", text, re.MULTILINE)]
    assert revs and all(rev == f"v{graphcheck.__version__}" or re.fullmatch("[0-9a-f]{40}", rev)
                        for rev in revs), revs
