"""Ignore files, configuration and baselines go through the guarded reader: bounded, regular."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphcheck import baseline
from graphcheck.config import ConfigError, load_file
from graphcheck.discovery import discover
from graphcheck.safe_io import UnsafeFile, read_bounded


@pytest.mark.parametrize("make", [os.mkfifo, lambda p: p.symlink_to("/dev/zero"),
                                  lambda p: p.symlink_to("/proc/self/status")])
def test_non_regular_files_are_refused_unopened(tmp_path: Path, make: object) -> None:
    target = tmp_path / "graphcheck.toml"
    make(target)  # type: ignore[operator]
    with pytest.raises(UnsafeFile):
        read_bounded(target)
    with pytest.raises(ConfigError):
        load_file(target)
    with pytest.raises(baseline.BaselineError):
        baseline.read(target)


def test_big_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"#" * 100)
    assert read_bounded(big, 100) == b"#" * 100
    with pytest.raises(UnsafeFile, match="over the 99-byte limit"):
        read_bounded(big, 99)


def test_a_deeply_nested_baseline_is_a_clean_error(tmp_path: Path) -> None:
    deep = tmp_path / "baseline.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(baseline.BaselineError, match="nested too deeply"):
        baseline.read(deep)


def test_a_gitignore_that_is_a_fifo_ignores_nothing(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".gitignore")
    (tmp_path / "m.onnx").write_bytes(b"x")
    assert [t.display for t in discover([str(tmp_path)])] == [f"{tmp_path}/m.onnx"]
