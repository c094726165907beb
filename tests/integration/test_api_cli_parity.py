"""The Python API answers exactly as the CLI: the same JSON document and exit code on every fixture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import graphcheck
from graphcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
# A model saved as a folder is one model; the files inside it are not checked on their own.
FOLDER_MODELS = ("keras/question_unzipped", "tf_keras/question_savedmodel")
NOT_MODELS = (".py", ".expected.json")
BROKEN = "fixtures/keras/stacked_missing_return_sequences.keras"


def model_paths() -> list[str]:
    """Return every model under fixtures/ (files and folder models), relative to the repository."""
    inside = tuple(FIXTURES / folder for folder in FOLDER_MODELS)
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and not p.name.endswith(NOT_MODELS)
             and not any(parent in inside for parent in p.parents)]
    return sorted(p.relative_to(ROOT).as_posix() for p in [*files, *inside])


def cli(*args: str) -> tuple[Any, int]:
    """Run the CLI in-process; return its parsed JSON output and exit code."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return json.loads(result.stdout), result.exit_code


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, as a user would, so that paths and configuration agree."""
    monkeypatch.chdir(ROOT)


def test_every_fixture_is_listed() -> None:
    """The parametrization really covers the fixtures (every format and the folder models)."""
    paths = model_paths()
    assert len(paths) > 100
    assert {Path(p).suffix for p in paths} >= {".keras", ".h5", ".onnx", ".json", ""}


@pytest.mark.parametrize("path", model_paths())
def test_check_matches_the_cli(path: str) -> None:
    """check(path).to_dict() is the CLI's --format json document; exit codes agree at two thresholds."""
    for fail_on in ("warning", "error"):
        document, code = cli("check", "--format", "json", "--fail-on", fail_on, path)
        report = graphcheck.check(path, fail_on=fail_on)
        assert report.to_dict() == document
        assert report.exit_code == code


@pytest.mark.parametrize("path", model_paths())
def test_explain_matches_the_cli(path: str) -> None:
    """explain(path).to_dict() is the model's element of the CLI's explain --format json array."""
    document, code = cli("explain", "--format", "json", path)
    assert code == 0
    assert [graphcheck.explain(path).to_dict()] == document


def test_a_folder_matches_the_cli() -> None:
    """A folder is walked as the CLI walks it: the same files, findings and exit code."""
    document, code = cli("check", "--format", "json", "fixtures/keras")
    report = graphcheck.check("fixtures/keras")
    assert report.to_dict() == document == graphcheck.check("fixtures/keras", jobs=1).to_dict()
    assert report.exit_code == code == 1
    assert len(report.files) > 5


def _project(tmp_path: Path, table: str) -> Path:
    """Return a project folder holding the broken model and a pyproject.toml with ``table``."""
    shutil.copy(ROOT / BROKEN, tmp_path / "model.keras")
    (tmp_path / "pyproject.toml").write_text(f"[tool.graphcheck]\n{table}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("table", "dropped"), [
    ('ignore = ["input-rank-mismatch"]', True),
    ('per-file-ignores = {"model.keras" = ["GC2"]}', True),
    ('ignore = ["GC1"]', False),  # a rule that does not fire: the finding stays, in both
])
def test_configuration_is_applied_as_by_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                table: str, dropped: bool) -> None:
    """[tool.graphcheck] is discovered and applied the same way by the API and the CLI."""
    monkeypatch.chdir(_project(tmp_path, table))
    document, code = cli("check", "--format", "json", "model.keras")
    report = graphcheck.check("model.keras")
    assert report.to_dict() == document and report.exit_code == code
    rules = {f.rule for f in report.findings}
    assert ("input-rank-mismatch" not in rules) is dropped
    assert code == (0 if dropped else 1)


def test_config_argument_and_no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """config=PATH is --config, config=False is --no-config."""
    project = _project(tmp_path, 'ignore = ["input-rank-mismatch"]')
    monkeypatch.chdir(project)
    assert cli("check", "--format", "json", "--no-config", "model.keras")[1] == 1
    assert graphcheck.check("model.keras", config=False).exit_code == 1
    monkeypatch.chdir(ROOT)  # no configuration here: only config= brings it
    pinned = project / "pyproject.toml"
    path = str(project / "model.keras")
    document, code = cli("check", "--format", "json", "--config", str(pinned), path)
    report = graphcheck.check(path, config=pinned)
    assert report.to_dict() == document and code == report.exit_code == 0


@pytest.mark.parametrize(("table", "code"), [("", 1), ('fail-on = "error"', 0), ('fail-on = "note"', 1)])
def test_fail_on_from_the_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        table: str, code: int) -> None:
    """The configuration's fail-on sets the exit code of a warning when fail_on is not given."""
    shutil.copy(ROOT / "fixtures/rules/sequence_into_dense.keras", tmp_path / "model.keras")
    (tmp_path / "pyproject.toml").write_text(f"[tool.graphcheck]\n{table}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    document, cli_code = cli("check", "--format", "json", "model.keras")
    report = graphcheck.check("model.keras")
    assert report.to_dict() == document
    assert report.exit_code == cli_code == code
    assert [str(f.severity) for f in report.findings] == ["warning"]
    assert graphcheck.check("model.keras", fail_on="error").exit_code == 0
