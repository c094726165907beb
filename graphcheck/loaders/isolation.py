"""Run a native-library read in a forked child, so a hang or crash costs a finding, not the run.

HDF5 is C code: a corrupt file can make it loop forever (seen by the fuzzer on a mutated
legacy .h5) or crash, and neither can be interrupted from Python. The child gets a deadline;
the parent kills it when it passes, or reports the crash when it dies without an answer.
"""

from __future__ import annotations

import faulthandler
import gc
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path
from typing import Any, TypeVar

from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.limits import current as current_limits
from graphcheck.loaders.h5_weights import import_h5py

T = TypeVar("T")
L = TypeVar("L")


# True in a read child: a read it asks for runs there, under the deadline the child already has.
_IN_CHILD = False


_FROZEN_DEPTH = 0


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep every object that exists now out of garbage collection while children are forked.

    A forked child that collects an object it inherited runs that object's finalizer without
    the threads the finalizer may wait for: a TensorFlow iterator left by the caller's process
    (a notebook, a test suite) then blocks the child forever. Frozen objects are never collected
    in the child (and their pages stay shared); the parent collects them again afterwards.
    Re-entrant: the outermost use unfreezes.
    """
    global _FROZEN_DEPTH
    if _FROZEN_DEPTH == 0:
        gc.freeze()
    _FROZEN_DEPTH += 1
    try:
        yield
    finally:
        _FROZEN_DEPTH -= 1
        if _FROZEN_DEPTH == 0:
            gc.unfreeze()


def isolated(work: Callable[[], T], seconds: float) -> T:
    """Return ``work()`` computed in a forked child, or raise LoadError on a hang or crash."""
    if sys.platform != "linux" or _IN_CHILD:  # fork is only safe to rely on on Linux
        return work()
    import_h5py()  # in the parent, once: every read child inherits it instead of importing it
    _prctl()  # likewise ctypes and libc, which the child needs first thing
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    with frozen_heap():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child stays frozen: it never leaves this block
            os.close(read_fd)
            _child(work, write_fd, parent)
    os.close(write_fd)
    try:
        data = _collect(read_fd, pid, seconds)
    finally:
        os.close(read_fd)
    result: T = _answer(data)
    return result


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this forked process when ``parent`` (its parent's pid) dies."""
    if sys.platform != "linux":
        return
    pr_set_pdeathsig = 1
    _prctl()(pr_set_pdeathsig, signal.SIGKILL)
    # The parent died before prctl took effect (compared with the pid it had before the fork:
    # in a container the parent may itself be pid 1).
    if os.getppid() != parent:
        os._exit(1)


@cache
def _prctl() -> Any:
    """Return libc's prctl (importing ctypes and loading libc take longer than a small read)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl


def _child(work: Callable[[], object], write_fd: int, parent: int) -> None:  # pragma: no cover
    """Compute, send the pickled outcome through the pipe and exit without cleanup handlers."""
    global _IN_CHILD
    _IN_CHILD = True
    # A worker killed outright (SIGKILL) must not leave its HDF5 reader running to its deadline.
    die_with_parent(parent)
    # The parent reports a crash as a finding; a fault dump from the child (pytest and
    # python -X faulthandler enable one) would only read as graphcheck itself crashing.
    faulthandler.disable()
    try:
        outcome: tuple[object, ...] = ("ok", work())
    except LoadError as error:
        outcome = ("load-error", str(error), error.rule)
    except BaseException as error:
        outcome = ("crash", f"{type(error).__name__}: {error}")
    try:
        data = pickle.dumps(outcome)
    except Exception as error:
        data = pickle.dumps(("crash", f"result not transferable: {error}"))
    with os.fdopen(write_fd, "wb") as pipe:
        pipe.write(data)
    os._exit(0)


def _collect(read_fd: int, pid: int, seconds: float) -> bytes:
    """Read the child's answer until it closes the pipe or the deadline passes."""
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([read_fd], [], [], max(left, 0))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise LoadError(deadline_message(seconds))
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        raise LoadError(f"the HDF5 library crashed reading the file ({_describe(status)})")
    return b"".join(chunks)


def deadline_message(seconds: float) -> str:
    """Say what is known at the deadline: a slow valid file and a looping corrupt one look alike."""
    return (f"reading the file did not finish within {seconds:g} s (max_read_seconds); "
            "if the model is valid but large, raise max-read-seconds under "
            "[tool.graphcheck.limits]")


def _describe(status: int) -> str:
    """Describe how the child ended."""
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _answer(data: bytes) -> Any:
    """Turn the child's pickled outcome into a result.

    The bytes come from our own forked child through a pipe, never from a file: this is the
    same transport a process pool uses, not unpickling anything a model contains.
    """
    outcome = pickle.loads(data)
    if outcome[0] == "ok":
        return outcome[1]
    if outcome[0] == "load-error":
        raise LoadError(outcome[1], rule=outcome[2])
    raise RuntimeError(outcome[1])


def isolated_load(method: Callable[[L, Path], Model]) -> Callable[[L, Path], Model]:
    """Decorate an HDF5-backed loader's ``load`` so that it runs in a child with the read deadline."""

    @wraps(method)
    def load(self: L, path: Path) -> Model:
        """Load ``path`` in a forked child that must answer within max_read_seconds."""
        return isolated(lambda: method(self, path), current_limits().max_read_seconds)

    load.reads_in_child = True  # type: ignore[attr-defined]  # runner.check_target asks
    return load


def in_child() -> bool:
    """Return True in a read child (reads asked for here run at once, under its deadline)."""
    return _IN_CHILD


def reads_in_child(loader: object) -> bool:
    """Return True when a loader's ``load`` runs in a read child (``isolated_load``)."""
    return bool(getattr(getattr(loader, "load", None), "reads_in_child", False))
