"""One forked read server answers many reads; any failed read retires it, and none outlives its run."""

from __future__ import annotations

import mmap
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from graphcheck.engine import check_path
from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.limits import DEFAULT, MIB, current, using
from graphcheck.loaders import read_server
from graphcheck.loaders.isolation import isolated
from graphcheck.rule_names import RuleName
from tests.hostile.test_signals import alive

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads are forked on Linux only")

ROOT = Path(__file__).resolve().parents[2]
QUESTION_H5 = ROOT / "fixtures" / "keras" / "question.h5"
QUESTION_KERAS = ROOT / "fixtures" / "keras" / "question.keras"
_HELD: list[mmap.mmap] = []


@pytest.fixture(autouse=True)
def fresh_server() -> Iterator[None]:
    """Start each test with no read server, and leave none behind."""
    read_server.stop_server()
    yield
    assert read_server.running() is None


@pytest.fixture
def shared() -> Iterator[None]:
    """Let the test's reads share a server, as a run's do."""
    with read_server.serving():
        yield


def _pid() -> int:
    """Say which process runs the read."""
    return os.getpid()


def _pid_and_limit() -> tuple[int, int]:
    """Say which process reads, and the max_nodes limit it reads under."""
    return os.getpid(), current().max_nodes


def _spin() -> None:
    """Loop forever, as HDF5 does on some corrupt heaps."""
    while True:
        pass


def _segfault() -> None:
    """Die of SIGSEGV, as a crashing C library does."""
    os.kill(os.getpid(), signal.SIGSEGV)


def _refuse() -> None:
    """Fail as a loader does on a bad file."""
    raise LoadError("not a model", rule=RuleName.LFS_POINTER)


def _refused_inside() -> int:
    """Meet a bad file in a nested read and carry on, as a check turns a LoadError into a finding."""
    with pytest.raises(LoadError):
        isolated(_refuse, 5)
    return os.getpid()


def _grow() -> int:
    """Keep 16 MiB of fresh pages alive in the reading process (malloc could reuse freed ones)."""
    pages = mmap.mmap(-1, 16 * MIB)
    for offset in range(0, 16 * MIB, mmap.PAGESIZE):
        pages[offset] = 1
    _HELD.append(pages)
    return os.getpid()


@pytest.mark.usefixtures("shared")
def test_one_server_answers_many_reads() -> None:
    """Clean reads share one forked process: not this one, the same for each read."""
    pids = [isolated(_pid, 10) for _ in range(4)]
    assert len(set(pids)) == 1 and pids[0] != os.getpid()
    model = isolated(partial(check_path, QUESTION_H5, "question.h5"), 10).model
    assert isinstance(model, Model) and model.root.layer("lstm").weights is not None
    assert isolated(_pid, 10) == pids[0]


@pytest.mark.usefixtures("shared")
def test_a_hang_is_cut_and_the_next_read_gets_a_fresh_server() -> None:
    """The deadline kills the server (the same finding as a one-off child); the next file reads well."""
    first = isolated(_pid, 10)
    with pytest.raises(LoadError, match=r"did not finish within 1 s \(max_read_seconds\)"):
        isolated(_spin, 1)
    assert not alive(first)
    second = isolated(_pid, 10)
    assert second != first
    result = isolated(partial(check_path, QUESTION_H5, "question.h5"), 10)
    assert result.findings == check_path(QUESTION_H5, "question.h5").findings


@pytest.mark.usefixtures("shared")
@pytest.mark.parametrize(("work", "how"), [
    (partial(os._exit, 3), "exit status 3"),
    (_segfault, f"killed by signal {signal.SIGSEGV.value}"),
])
def test_a_crash_is_a_finding_and_the_next_read_gets_a_fresh_server(work: partial[None],
                                                                     how: str) -> None:
    """A server that dies mid-read gives the crash finding; the next read forks another."""
    first = isolated(_pid, 10)
    with pytest.raises(LoadError) as caught:
        isolated(work, 10)
    assert str(caught.value) == f"the HDF5 library crashed reading the file ({how})"
    assert isolated(_pid, 10) != first


@pytest.mark.usefixtures("shared")
def test_a_load_error_retires_the_server() -> None:
    """A read that raised LoadError crosses back unchanged, and its server reads no other file."""
    first = isolated(_pid, 10)
    with pytest.raises(LoadError) as caught:
        isolated(_refuse, 10)
    assert caught.value.rule == "lfs-pointer" and str(caught.value) == "not a model"
    assert not alive(first)
    assert isolated(_pid, 10) != first


@pytest.mark.usefixtures("shared")
def test_a_load_error_caught_in_the_server_still_retires_it() -> None:
    """A check turns a LoadError into a finding; the server that met the bad file still retires."""
    first = isolated(_refused_inside, 10)
    assert not alive(first)
    assert isolated(_pid, 10) != first


def _run_over(folder: Path) -> tuple[list[list[str]], list[int]]:
    """Check a folder through the runner: each file's rules, and the server that read each."""
    from graphcheck.discovery import discover
    from graphcheck.runner import check_all
    from graphcheck.settings import DEFAULT as SETTINGS

    servers: list[int] = []
    real_served = read_server.served

    def spying(job: bytes, seconds: float) -> object:
        answer = real_served(job, seconds)
        servers.append(read_server.running() or 0)
        return answer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(read_server, "served", spying)
        results = check_all(discover([str(folder)]), SETTINGS, jobs=1)
    return [[f.rule for f in r.findings] for r in results], servers


def test_a_bad_file_in_a_folder_retires_the_server(tmp_path: Path) -> None:
    """Checked through the runner: the read after an unreadable .h5 is served by a new process."""
    shutil.copy(QUESTION_H5, tmp_path / "a.h5")
    (tmp_path / "b.h5").write_bytes(QUESTION_H5.read_bytes()[:3000])  # cut short: unreadable
    shutil.copy(QUESTION_H5, tmp_path / "c.h5")
    rules, servers = _run_over(tmp_path)
    assert rules == [[], ["unreadable-model"], []]
    assert servers[0] != 0 and servers[1] == 0 and servers[2] not in (0, servers[0])


def test_weights_only_files_keep_the_server(tmp_path: Path) -> None:
    """A save_weights file is a not-a-model note that HDF5 read cleanly: the server serves on."""
    weights = ROOT / "fixtures" / "weights"
    shutil.copy(weights / "keras2_question_weights.h5", tmp_path / "a.h5")
    shutil.copy(weights / "keras3_question.weights.h5", tmp_path / "b.h5")
    shutil.copy(QUESTION_H5, tmp_path / "c.h5")
    rules, servers = _run_over(tmp_path)
    assert rules == [["not-a-model"], ["not-a-model"], []]
    assert len(servers) == 3 and servers[0] != 0 and servers == [servers[0]] * 3


def test_outside_a_run_each_read_forks_its_own_child() -> None:
    """A lone read (one check_path, a diff) forks a child that ends with it: no server is left."""
    pids = {isolated(_pid, 10) for _ in range(3)}
    assert len(pids) == 3 and os.getpid() not in pids
    assert read_server.running() is None and not any(alive(pid) for pid in pids)


def test_a_run_stops_its_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server a run forked ends with the run: none lingers in a notebook or an API caller."""
    from graphcheck.discovery import Target
    from graphcheck.runner import check_all
    from graphcheck.settings import DEFAULT as SETTINGS

    servers: list[int | None] = []
    real_served = read_server.served

    def spying(job: bytes, seconds: float) -> object:
        answer = real_served(job, seconds)
        servers.append(read_server.running())
        return answer

    monkeypatch.setattr(read_server, "served", spying)
    [result] = check_all([Target(path=QUESTION_H5, display="q.h5")], SETTINGS, jobs=1)
    assert result.findings == [] and servers[0] is not None
    assert read_server.running() is None and not alive(servers[0])


@pytest.mark.usefixtures("shared")
def test_limits_travel_with_each_read() -> None:
    """The limits in force at the call apply in the server, which was forked before them."""
    pid, limit = isolated(_pid_and_limit, 10)
    assert limit == DEFAULT.max_nodes
    with using(replace(DEFAULT, max_nodes=7)):
        assert isolated(_pid_and_limit, 10) == (pid, 7)
    assert isolated(_pid_and_limit, 10) == (pid, DEFAULT.max_nodes)


@pytest.mark.usefixtures("shared")
def test_the_working_folder_travels_with_each_read(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path names the same file in the server after the caller changed folder."""
    server = isolated(_pid, 10)
    monkeypatch.chdir(tmp_path)
    assert isolated(partial(os.path.abspath, "m.keras"), 10) == str(tmp_path / "m.keras")
    assert isolated(_pid, 10) == server


@pytest.mark.usefixtures("shared")
def test_work_that_cannot_be_pickled_gets_a_child_of_its_own() -> None:
    """A closure is read in a one-off child, and the server goes on serving."""
    server = isolated(_pid, 10)
    assert isolated(lambda: os.getpid(), 10) not in (server, os.getpid())
    assert isolated(_pid, 10) == server


@pytest.mark.usefixtures("shared")
def test_a_read_from_another_thread_gets_a_child_of_its_own() -> None:
    """The server dies with the thread that forked it, so other threads never use or fork one."""
    server = isolated(_pid, 10)
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.append(isolated(_pid, 10)))
    reader.start()
    reader.join()
    assert seen[0] not in (server, os.getpid())
    assert isolated(_pid, 10) == server


@pytest.mark.usefixtures("shared")
def test_a_forked_process_never_uses_its_parents_server() -> None:
    """A child forked by the parent (a pool worker) forks its own server for its reads."""
    server = isolated(_pid, 10)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - reports through the pipe
        try:
            os.write(write_end, str(isolated(_pid, 10)).encode())
            read_server.stop_server()
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        theirs = int(pipe.read() or 0)
    os.waitpid(child, 0)
    assert theirs not in (0, server, child)
    assert isolated(_pid, 10) == server


@pytest.mark.usefixtures("shared")
def test_the_server_retires_after_its_quota_of_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """SERVER_READS reads, then a fresh server: long runs keep a young child."""
    monkeypatch.setattr(read_server, "SERVER_READS", 2)
    pids = [isolated(_pid, 10) for _ in range(5)]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


@pytest.mark.usefixtures("shared")
def test_the_server_retires_when_its_memory_grew(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read that leaves the server SERVER_GROWTH larger is its last."""
    monkeypatch.setattr(read_server, "SERVER_GROWTH", 4 * MIB)
    first = isolated(_pid, 10)
    assert isolated(_grow, 10) == first
    assert isolated(_pid, 10) != first
    assert not _HELD  # the pages were held in the server, never here


SUBREAPER = """
    import ctypes, os, pathlib, subprocess, sys
    ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of our children come here
    for jobs in ("1", "2"):
        subprocess.run([sys.executable, "-m", "graphcheck", "check", "--jobs", jobs, sys.argv[1]],
                       stdout=subprocess.DEVNULL, check=False)
        tasks = pathlib.Path(f"/proc/{os.getpid()}/task").glob("*/children")
        print(jobs, sorted(p for task in tasks for p in task.read_text().split()))
"""


def test_no_read_server_outlives_a_run(tmp_path: Path) -> None:
    """Neither a run's own server nor its pool workers' are left running or unreaped.

    The script is a child subreaper: a server its run left behind would become its child.
    """
    models = tmp_path / "models"
    models.mkdir()
    for i in range(3):
        shutil.copy(QUESTION_H5, models / f"m{i}.h5")
        shutil.copy(QUESTION_KERAS, models / f"m{i}.keras")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SUBREAPER), str(models)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.splitlines() == ["1 []", "2 []"], done.stderr


INTERRUPTED = """
    import ctypes, os, pathlib, signal, subprocess, sys, time
    ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of our children come here
    run = subprocess.Popen([sys.executable, "-m", "graphcheck", "check", "--jobs", "1", sys.argv[1]],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children = pathlib.Path(f"/proc/{run.pid}/task/{run.pid}/children")
    deadline = time.monotonic() + 60
    while not children.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.02)  # until the run has forked its read server
    run.send_signal(signal.SIGTERM)
    print(run.wait(timeout=30))
    tasks = pathlib.Path(f"/proc/{os.getpid()}/task").glob("*/children")
    print(sorted(p for task in tasks for p in task.read_text().split()))
"""


def test_a_signal_mid_run_leaves_no_read_server(tmp_path: Path) -> None:
    """SIGTERM while the server reads (--jobs 1): exit 143, and the server is killed and reaped."""
    models = tmp_path / "models"
    models.mkdir()
    for i in range(300):
        shutil.copy(QUESTION_KERAS, models / f"m{i}.keras")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(INTERRUPTED), str(models)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.splitlines() == ["143", "[]"], done.stderr
