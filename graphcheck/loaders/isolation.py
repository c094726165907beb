"""Run native-library reads in a forked child, so a hang or crash costs a finding, not the run.

HDF5 is C code: a corrupt file can make it loop forever (seen by the fuzzer on a mutated
legacy .h5) or crash, and neither can be interrupted from Python. Each read has a deadline;
the parent kills the child when it passes, or reports the crash when it dies without an answer.
During a run, reads go to the read server (``read_server``), one child that answers many;
a read outside a run, work that cannot be pickled, or a read asked for outside the main
thread gets a child forked for it alone.
"""

from __future__ import annotations

import faulthandler
import gc
import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache, partial, wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.limits import current as current_limits
from graphcheck.loaders.h5_weights import import_h5py
from graphcheck.rule_names import RuleName

T = TypeVar("T")
L = TypeVar("L")

# True in a read child: a read it asks for runs there, under the deadline the child already has.
_IN_CHILD = False
# True in a read child once a read there failed: the server answers, then retires.
_SPOILED = False

# Every message through the pipes: a flag (in an answer: the server goes on) and a length.
_FRAME = struct.Struct(">?Q")


class Unsent(Exception):
    """The read server could not take the work (it died, or could not unpickle it): fork for it."""


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
    """Return ``work()`` computed in a read child, or raise LoadError on a hang or crash."""
    if _runs_here():
        return _at_once(work)
    import_h5py()  # in the parent, once: every read child inherits it instead of importing it
    _prctl()  # likewise ctypes and libc, which the child needs first thing
    from graphcheck.loaders import read_server  # it imports this module

    job = read_server.request(work)
    if job is not None:
        with suppress(Unsent):
            result: T = _answer(read_server.served(job, seconds))
            return result
    return _forked(work, seconds)


def _runs_here() -> bool:
    """Return True when a read runs in this process: in a read child, or where fork is unsafe."""
    return sys.platform != "linux" or _IN_CHILD  # fork is only safe to rely on on Linux


def _at_once(work: Callable[[], T]) -> T:
    """Run ``work`` in this process; in a read child, a failure retires the server after it.

    Not a ``not-a-model`` note: HDF5 read that file without error (save_weights files and
    datasets beside a repository's models are common; each would cost a fresh server).
    """
    global _SPOILED
    try:
        return work()
    except LoadError as error:
        _SPOILED = _SPOILED or error.rule != RuleName.NOT_A_MODEL
        raise
    except BaseException:
        _SPOILED = True
        raise


def spoil() -> None:
    """Retire this read child after its answer: a read here met data HDF5 could not read."""
    global _SPOILED
    _SPOILED = True


def spoiled() -> bool:
    """Return True once a read in this read child failed: the server retires after answering."""
    return _SPOILED


def _forked(work: Callable[[], T], seconds: float) -> T:
    """Return ``work()`` computed in a child forked for it alone."""
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    with frozen_heap():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child stays frozen: it never leaves this block
            os.close(read_fd)
            _child(work, write_fd, parent)
    os.close(write_fd)
    try:
        _, data = await_answer(read_fd, pid, seconds)
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


def become_child(parent: int) -> None:  # pragma: no cover - runs in the child
    """Mark this process a read child that dies with ``parent`` and dumps no faults."""
    global _IN_CHILD
    _IN_CHILD = True
    # A worker killed outright (SIGKILL) must not leave its HDF5 reader running to its deadline.
    die_with_parent(parent)
    # The parent reports a crash as a finding; a fault dump from the child (pytest and
    # python -X faulthandler enable one) would only read as graphcheck itself crashing.
    faulthandler.disable()


def _child(work: Callable[[], object], write_fd: int, parent: int) -> NoReturn:  # pragma: no cover
    """Compute, send the pickled outcome through the pipe and exit without cleanup handlers."""
    become_child(parent)
    reply(write_fd, outcome_of(work), False)
    os._exit(0)


def outcome_of(work: Callable[[], object]) -> tuple[object, ...]:  # pragma: no cover - in a child
    """Run ``work``: ("ok", result), ("load-error", message, rule) or ("crash", description)."""
    try:
        return ("ok", work())
    except LoadError as error:
        return ("load-error", str(error), error.rule)
    except BaseException as error:
        return ("crash", f"{type(error).__name__}: {error}")


def reply(fd: int, outcome: tuple[object, ...], going_on: bool) -> None:  # pragma: no cover
    """Send a pickled outcome; one that cannot be pickled is a crash (and retires the server)."""
    try:
        data = pickle.dumps(outcome)
    except Exception as error:
        data, going_on = pickle.dumps(("crash", f"result not transferable: {error}")), False
    try:
        write_message(fd, data, going_on)
    except OSError:  # the parent is gone
        os._exit(0)


def write_message(fd: int, data: bytes, flag: bool) -> None:
    """Write one message: its frame, then its bytes."""
    view = memoryview(_FRAME.pack(flag, len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def read_message(fd: int) -> bytes | None:  # pragma: no cover - runs in the server
    """Read one job (blocking), or None when the parent closed the pipe."""
    frame = _read_exactly(fd, _FRAME.size)
    if frame is None:
        return None
    return _read_exactly(fd, _FRAME.unpack(frame)[1])


def _read_exactly(fd: int, size: int) -> bytes | None:  # pragma: no cover - runs in the server
    """Read ``size`` bytes, or None at the end of the pipe."""
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, min(size - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def await_answer(fd: int, pid: int, seconds: float) -> tuple[bool, bytes]:
    """Wait for a child's answer: (it goes on, the pickled outcome). A child that ends is reaped.

    At the deadline, or when this process is interrupted while waiting, the child is killed.
    """
    try:
        answer = _read_answer(fd, seconds)
    except BaseException as error:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if isinstance(error, TimeoutError):
            raise LoadError(deadline_message(seconds)) from None
        raise
    if answer is None:
        _, status = os.waitpid(pid, 0)
        raise LoadError(f"the HDF5 library crashed reading the file ({_describe(status)})")
    if not answer[0]:
        os.waitpid(pid, 0)
    return answer


def _read_answer(fd: int, seconds: float) -> tuple[bool, bytes] | None:
    """Read one answer, or None when the child closed the pipe first; TimeoutError at the deadline."""
    deadline = time.monotonic() + seconds
    data = bytearray()
    size = _FRAME.size
    while len(data) < size:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        data += chunk
        if size == _FRAME.size and len(data) >= size:
            size += _FRAME.unpack_from(data)[1]
    going_on, _ = _FRAME.unpack_from(data)
    return going_on, bytes(data[_FRAME.size:])


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
    if outcome[0] == "unsent":
        raise Unsent(outcome[1])
    raise RuntimeError(outcome[1])


def isolated_load(method: Callable[[L, Path], Model]) -> Callable[[L, Path], Model]:
    """Decorate an HDF5-backed loader's ``load`` so that it runs in a child with the read deadline."""

    @wraps(method)
    def load(self: L, path: Path) -> Model:
        """Load ``path`` in a read child that must answer within max_read_seconds."""
        if _runs_here():
            return _at_once(partial(method, self, path))
        return isolated(partial(_call, self, method.__name__, path),
                        current_limits().max_read_seconds)

    load.reads_in_child = True  # type: ignore[attr-defined]  # runner.check_target asks
    return load


def _call(loader: object, name: str, path: Path) -> Model:
    """Call ``loader.<name>(path)``: a loader's decorated ``load``, run where it is called."""
    model: Model = getattr(loader, name)(path)
    return model


def in_child() -> bool:
    """Return True in a read child (reads asked for here run at once, under its deadline)."""
    return _IN_CHILD


def reads_in_child(loader: object) -> bool:
    """Return True when a loader's ``load`` runs in a read child (``isolated_load``)."""
    return bool(getattr(getattr(loader, "load", None), "reads_in_child", False))
