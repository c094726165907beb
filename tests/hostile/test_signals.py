"""Signals during a pooled run: prompt exit 130/143, no orphaned workers; a closed stdout is fine.

The closed-stdout case is a regression guard: click.echo already swallows EPIPE, print would not.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "fixtures" / "keras" / "question.keras"


def children(pid: int) -> set[int]:
    """Return the pids of a process's children (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(p) for p in text.split()}
    return found


def alive(pid: int) -> bool:
    """Return True while a process exists and is not a zombie."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], set[int]]:
    """Start a pooled check of many models; return it once its workers are running."""
    (tmp_path / "models").mkdir()
    for i in range(400):
        shutil.copy(MODEL, tmp_path / "models" / f"m{i}.keras")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "graphcheck", "check", "--jobs", "2",
                                str(tmp_path / "models")], env=env, stdout=subprocess.DEVNULL,
                               stderr=(tmp_path / "stderr").open("wb"))
    deadline = time.monotonic() + 60
    while len(children(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = children(process.pid)
    assert len(workers) >= 2, "the pool never started"
    return process, workers


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_and_its_workers(tmp_path: Path, signum: int, code: int) -> None:
    process, workers = start(tmp_path)
    process.send_signal(signum)
    process.wait(timeout=30)
    err = (tmp_path / "stderr").read_bytes()
    assert process.returncode == code, err.decode()
    assert b"Traceback" not in err and b"no report written" in err
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(w) for w in workers)
    assert not any(group_alive(w) for w in workers)  # nor the HDF5 readers they forked


def group_alive(pgid: int) -> bool:
    """Return True while a process group has a live member."""
    return any(alive(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()
               and _pgid(int(p.name)) == pgid)


def _pgid(pid: int) -> int | None:
    """Return a process's group, or None when it is gone."""
    try:
        return os.getpgid(pid)
    except OSError:
        return None


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    process, workers = start(tmp_path)
    process.kill()  # no handler runs: only the parent-death signal can stop the workers
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(w) for w in workers)


def test_a_closed_stdout_is_not_a_traceback(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"bad{i}.onnx").write_bytes(b"not onnx " * 1000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = f"{sys.executable} -m graphcheck check {tmp_path} | true"  # true: gone at once
    result = subprocess.run(["bash", "-c", f"set -o pipefail; {script}"], env=env,
                            capture_output=True, timeout=60, check=False)
    assert b"Traceback" not in result.stderr and b"BrokenPipe" not in result.stderr, result.stderr
