"""Analysis is read-only: no byte, mtime or directory entry of any fixture changes, no temp files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOSTILE = FIXTURES / "hostile"

State = dict[str, tuple[str, int]]


def snapshot(root: Path) -> State:
    """Map every file and folder below ``root`` to its content hash and mtime (atime left out)."""
    state: State = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            state[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        elif path.is_dir():
            state[str(path)] = ("dir", path.stat().st_mtime_ns)
    return state


def test_check_and_explain_change_nothing(tmp_path: Path) -> None:
    """Run both commands over every fixture; hashes, mtimes, listings and TMPDIR stay as they were."""
    temp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    temp.mkdir()
    cwd.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "TEMP": str(temp), "TMP": str(temp)}
    targets = [str(FIXTURES), *(str(p) for p in sorted(HOSTILE.iterdir()) if p.is_file())]
    before = snapshot(FIXTURES)
    assert len(before) > 50
    for command in (["check", "--format", "json", "--exit-zero"], ["explain", "--format", "json"]):
        run = subprocess.run([sys.executable, "-m", "graphcheck", *command, *targets], env=env,
                             cwd=cwd, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "Traceback" not in run.stderr
    assert snapshot(FIXTURES) == before
    assert list(temp.iterdir()) == []
    assert list(cwd.iterdir()) == []
