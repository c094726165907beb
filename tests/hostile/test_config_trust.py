"""The scanned repository's own configuration cannot lift hard ceilings or hide unsafe models."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.config import CEILINGS, Request
from graphcheck.findings import Finding, Severity

POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 9\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make a pull request's tree: an LFS pointer and a pyproject that silences everything."""
    (tmp_path / "model.onnx").write_text(POINTER)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.graphcheck]\nignore = ["ALL"]\nfail-on = "error"\n'
        '[tool.graphcheck.limits]\nmax-read-seconds = 1000000000\nmax-json-bytes = 1024\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_discovered_config_cannot_silence_protected_rules(repo: Path) -> None:
    result = CliRunner().invoke(main, ["."])
    assert result.exit_code == 1, result.output
    assert "lfs-pointer" in result.output


@pytest.mark.parametrize("flags", [["--trust-config"], ["--config", "pyproject.toml"]])
def test_the_invoking_side_may_allow_it(repo: Path, flags: list[str]) -> None:
    result = CliRunner().invoke(main, [*flags, "."])
    assert result.exit_code == 0, result.output
    assert "lfs-pointer" not in result.output


def test_limits_are_capped_but_may_be_lowered(repo: Path) -> None:
    result = CliRunner().invoke(main, ["--show-settings", "model.onnx"])
    assert f"max_read_seconds={CEILINGS.max_read_seconds})" in result.output
    assert "max_json_bytes=1024," in result.output


def test_protected_warnings_fail_whatever_fail_on_the_repository_sets(repo: Path) -> None:
    unsafe = Finding(path="model.onnx", code="GC003", rule="unsafe-code",
                     severity=Severity.WARNING, node=None, message="runs code")
    assert Request(cwd=repo).fails(unsafe, Severity.ERROR)
    assert not Request(cwd=repo, trust_config=True).fails(unsafe, Severity.ERROR)
