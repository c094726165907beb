"""HDF5 reads run in a forked child: a C-level hang or crash becomes a finding in bounded time."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from graphcheck.engine import check_path
from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.limits import DEFAULT
from graphcheck.loaders import read_server
from graphcheck.loaders.isolation import isolated
from graphcheck.settings import Settings

QUESTION_H5 = Path(__file__).resolve().parents[2] / "fixtures" / "keras" / "question.h5"


def _spin() -> None:
    """Loop forever, as HDF5 does on some corrupt heaps."""
    while True:
        pass


def test_a_hang_is_cut_at_the_deadline() -> None:
    """A child that never answers is killed; the message states what is known and the setting.

    A valid file too large to read in time looks the same as a looping corrupt one, so the
    message must not call the file corrupt.
    """
    start = time.monotonic()
    with pytest.raises(LoadError) as caught:
        isolated(_spin, 1)
    assert time.monotonic() - start < 10
    assert str(caught.value) == (
        "reading the file did not finish within 1 s (max_read_seconds); if the model is valid "
        "but large, raise max-read-seconds under [tool.graphcheck.limits]")
    assert "corrupt" not in str(caught.value)


def test_a_crash_is_reported_not_inherited() -> None:
    """A child killed by a signal (a segfaulting C library) gives a LoadError, not a dead run."""
    with pytest.raises(LoadError, match="crashed"):
        isolated(lambda: os.abort(), 10)


def test_results_and_load_errors_cross_back() -> None:
    """The child's result, and a LoadError with its rule, reach the caller unchanged."""
    assert isolated(lambda: {"units": 32}, 10) == {"units": 32}

    def refuse() -> None:
        raise LoadError("not a model", rule="lfs-pointer")

    with pytest.raises(LoadError) as caught:
        isolated(refuse, 10)
    assert caught.value.rule == "lfs-pointer" and str(caught.value) == "not a model"


def test_fuzzer_found_hdf5_loop_gets_a_finding(tmp_path: Path) -> None:
    """Regression: two insertions into question.h5 (found by tests/hostile/test_fuzz.py) make HDF5 loop.

    Reading model_config of this mutant never returns inside h5py; with the read deadline
    lowered to 2 s, graphcheck must answer with unreadable-model within seconds.
    """
    data = QUESTION_H5.read_bytes()
    mutant = data[:3669] + b"_" + data[3669:6123] + (b"\x00" * 21 + b"SNO") * 4 + data[6123:]
    target = tmp_path / "heap_loop.h5"
    target.write_bytes(mutant)
    settings = Settings(limits=replace(DEFAULT, max_read_seconds=2))
    start = time.monotonic()
    result = check_path(target, "heap_loop.h5", settings)
    assert time.monotonic() - start < 15
    assert [(f.rule, f.message.startswith("reading the file did not finish within 2 s "
                                          "(max_read_seconds)")) for f in result.findings] == [
        ("unreadable-model", True)]


def test_models_come_back_whole_from_the_child() -> None:
    """The isolated loader returns a full graph: same layers and weights as the file holds."""
    model = check_path(QUESTION_H5, "question.h5").model
    assert isinstance(model, Model)
    lstm = model.root.layer("lstm")
    assert lstm.weights is not None and [w.shape for w in lstm.weights] == [
        (64, 128), (32, 128), (128,)]


def _spin_and_tell(where: Path) -> None:
    """Say which process reads, then hang like a looping HDF5 read."""
    where.write_text(str(os.getpid()))
    _spin()


def _alive(pid: int) -> bool:
    """Return whether ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="the reader is forked on Linux only")
@pytest.mark.parametrize("served", [False, True], ids=["one-off child", "read server"])
def test_the_reader_dies_with_a_killed_parent(tmp_path: Path, served: bool) -> None:
    """A worker killed outright (SIGKILL) takes its HDF5 reader with it, not at the deadline.

    A lambda cannot be pickled, so it is read in a child of its own; a partial goes to the server.
    """
    where = tmp_path / "reader.pid"
    work = partial(_spin_and_tell, where) if served else lambda: _spin_and_tell(where)
    middle = os.fork()
    if middle == 0:  # pragma: no cover - the worker stand-in, killed below
        try:
            with read_server.serving():
                isolated(work, 60)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 20
    while not where.exists() or not where.read_text():
        assert time.monotonic() < deadline, "the reader never started"
        time.sleep(0.05)
    reader = int(where.read_text())
    os.kill(middle, signal.SIGKILL)
    os.waitpid(middle, 0)
    try:
        while _alive(reader):
            assert time.monotonic() < deadline, "the reader outlived its parent"
            time.sleep(0.05)
    finally:  # an orphan would spin forever, holding the test run's output open
        if _alive(reader):
            os.kill(reader, signal.SIGKILL)


def _collects() -> bool:
    """Run a full collection where the read runs."""
    return gc.collect() >= 0


@pytest.mark.parametrize("served", [False, True], ids=["one-off child", "read server"])
def test_a_read_child_never_collects_garbage_it_inherited(served: bool) -> None:
    """Regression: a child that collected an inherited TensorFlow iterator hung in its finalizer.

    The finalizer here waits for a lock a parent thread holds; after fork that thread is gone,
    so a child that ran it would hang until the deadline. Frozen before the fork, it never runs
    in the child; the parent still collects it afterwards. The read server is forked after the
    garbage exists, and collects twice.
    """
    held, release = threading.Lock(), threading.Event()
    finalized: list[bool] = []

    class Waiter:
        """Cyclic garbage whose finalizer needs the held lock, as TF's iterators need their pool."""

        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            with held:
                finalized.append(True)

    def hold() -> None:
        with held:
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    gc.disable()
    try:
        Waiter()  # unreachable at once, uncollected while the collector is off
        if served:
            with read_server.serving():  # the first read forks the server: it inherits the Waiter
                assert isolated(_collects, seconds=5) is True
                assert isolated(_collects, seconds=5) is True
        else:
            assert isolated(lambda: gc.collect() >= 0, seconds=5) is True
    finally:
        release.set()
        holder.join()
        gc.enable()
    gc.collect()
    assert finalized == [True]
