"""Signals in a pooled run: exit 130/143, a report that says it is partial, no orphans.

The closed-stdout case is a regression guard: click.echo already swallows EPIPE, print would not.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "fixtures" / "keras" / "question.keras"
SARIF = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
# Enough that a run lasts well past the second the interrupted-report tests wait: with the read
# server, two workers check ~400 small models in under a second.
FILES = 2000
NOT_CHECKED = "not checked: the run was interrupted by"


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


def start(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[bytes], set[int]]:
    """Start a pooled check of many models; return it once its workers are running."""
    (tmp_path / "models").mkdir()
    for i in range(FILES):
        shutil.copy(MODEL, tmp_path / "models" / f"m{i}.keras")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "graphcheck", "check", "--jobs", "2",
                                *options, str(tmp_path / "models")], env=env,
                               stdout=(tmp_path / "stdout").open("wb"),
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
    assert b"Traceback" not in err and b"the report is partial" in err
    out = (tmp_path / "stdout").read_text(encoding="utf-8")
    assert f"{NOT_CHECKED} {signal.Signals(signum).name}" in out
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


def interrupted_report(tmp_path: Path, fmt: str) -> str:
    """Run a pooled check writing --output in a format, SIGTERM it, return the report."""
    report = tmp_path / "out" / f"report.{fmt}"
    process, _ = start(tmp_path, "--format", fmt, "--output", str(report))
    time.sleep(1)  # let some files finish: the report holds both kinds
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == 143, (tmp_path / "stderr").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "out", "stderr", "stdout"]
    return report.read_text(encoding="utf-8")


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_an_interrupted_sarif_report_is_valid_and_says_it_is_partial(tmp_path: Path) -> None:
    log = json.loads(interrupted_report(tmp_path, "sarif"))
    schema = json.loads(SARIF.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    unchecked = {n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                 for n in invocation["toolExecutionNotifications"]
                 if n["message"]["text"].startswith(NOT_CHECKED)}
    assert 0 < len(unchecked) < FILES


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("fmt", ["json", "junit"])
def test_an_interrupted_report_names_every_file_it_did_not_check(tmp_path: Path, fmt: str) -> None:
    text = interrupted_report(tmp_path, fmt)
    if fmt == "json":
        messages = list(strings(json.loads(text)))
    else:
        messages = [e.get("message", "") for e in ET.fromstring(text).iter("error")]
    assert 0 < sum(m.startswith(NOT_CHECKED) for m in messages) < FILES


def strings(value: object) -> Iterator[str]:
    """Yield every string in a JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from strings(item)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_an_interrupted_run_writes_no_baseline(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"  # absent: a complete run would write it
    process, _ = start(tmp_path, "--baseline", str(baseline))
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == 143
    assert not baseline.exists()
    assert b"baseline was not written" in (tmp_path / "stderr").read_bytes()


def test_a_second_signal_while_the_partial_report_is_written_exits_quietly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from graphcheck import runner
    from graphcheck.cli_output import stopped_by

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(runner._STOP, "signum", signal.SIGTERM)
    try:
        assert stopped_by() == signal.SIGTERM
        with pytest.raises(SystemExit) as leaving:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs at the next bytecode; it must not be reached
        assert leaving.value.code == 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
