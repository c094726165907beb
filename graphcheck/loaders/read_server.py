"""The read server: one forked read child that answers many reads, retired after any failed one.

A fork costs ~10 ms, more than reading a small model, so the first read forks a server that
takes the next ones through pipes. It serves only after clean reads: a read that fails in any
way (a LoadError, even one the check turns into a finding, a crash, the deadline) retires it,
so HDF5 state a bad file touched never meets the next file. It also retires after SERVER_READS
reads or SERVER_GROWTH bytes of memory growth. A server serves a run (``serving``) or a pool
worker's life; it belongs to the process that forked it (a pool worker forks its own), which
kills and reaps it when the run ends, when the worker exits, or at the latest at its own exit.
"""

from __future__ import annotations

import atexit
import gc
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import NoReturn

from graphcheck.limits import MIB, using
from graphcheck.limits import current as current_limits
from graphcheck.loaders import isolation
from graphcheck.loaders.isolation import Unsent

# Reads one server answers before it is replaced, and the memory it may grow by (fragmentation
# builds up over many files): a long folder run keeps a bounded child.
SERVER_READS = 100
SERVER_GROWTH = 64 * MIB


@dataclass
class _Server:
    """A read server: its pid, the process that forked it (the only one that may use it), pipes."""

    pid: int
    owner: int
    requests: int
    answers: int


_SERVER: _Server | None = None
# Open serving() blocks: outside them each read forks its own child.
_SERVING = 0


@contextmanager
def serving() -> Iterator[None]:
    """Let the reads in this block share a read server, stopped when the outermost block ends.

    Outside such a block (one check_path, a diff) a read forks a child of its own: nothing but
    the process's exit would stop a server left behind, in a notebook or a test run.
    """
    global _SERVING
    _SERVING += 1
    try:
        yield
    finally:
        _SERVING -= 1
        if _SERVING == 0:
            stop_server()


def serve_until_exit() -> None:
    """Let a pool worker's reads share a server for its whole life, reaped as the worker exits."""
    global _SERVING
    from multiprocessing.util import Finalize  # a worker ends through os._exit, without atexit

    _SERVING += 1
    Finalize(None, stop_server, exitpriority=0)


def request(work: Callable[[], object]) -> bytes | None:
    """Return the pickled request for ``work``, or None when only a one-off child can run it.

    The server was forked before this call: what a fork would inherit now, the limits and the
    collector's thresholds in force and the working directory (relative paths), travel with it.
    """
    if not _SERVING or threading.current_thread() is not threading.main_thread():
        return None  # the server dies with the thread that forked it (PR_SET_PDEATHSIG)
    try:
        return pickle.dumps((work, current_limits(), gc.get_threshold(), os.getcwd()))
    except Exception:  # a closure, a lambda: a one-off child inherits it instead
        return None


def served(job: bytes, seconds: float) -> bytes:
    """Have this process's server run a request: its pickled outcome, or LoadError (deadline, crash).

    Raise Unsent when the server could not take it (a one-off child must read it instead).
    """
    global _SERVER
    server = _server()
    try:
        isolation.write_message(server.requests, job, True)
    except BaseException as error:  # a half-sent request would garble the next one: kill it
        stop_server()
        if isinstance(error, OSError):  # it died since
            raise Unsent from None
        raise
    going_on = False
    try:
        going_on, data = isolation.await_answer(server.answers, server.pid, seconds)
    finally:
        if not going_on:  # it ended (and was reaped): retired, killed or crashed
            _close(server)
            _SERVER = None
    return data


def running() -> int | None:
    """Return the pid of this process's read server, or None when it has none."""
    return _SERVER.pid if _SERVER is not None and _SERVER.owner == os.getpid() else None


def stop_server() -> None:
    """Kill and reap this process's read server, if it has one (at exit, when a worker ends)."""
    global _SERVER
    server, _SERVER = _SERVER, None
    if server is None or server.owner != os.getpid():
        return
    _close(server)
    with suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGKILL)
    with suppress(ChildProcessError):
        os.waitpid(server.pid, 0)


def _server() -> _Server:
    """Return this process's live read server, forking one when it has none."""
    global _SERVER
    # A fork outside Python (an extension's) skips _forget: the owner's pid still tells.
    if _SERVER is not None and (_SERVER.owner != os.getpid() or _ended(_SERVER.pid)):
        _close(_SERVER)
        _SERVER = None
    if _SERVER is None:
        _SERVER = _start()
    return _SERVER


def _ended(pid: int) -> bool:
    """Return True (and reap it) when a server has exited: killed from outside, out of memory."""
    try:
        return os.waitpid(pid, os.WNOHANG) != (0, 0)
    except ChildProcessError:
        return True


def _start() -> _Server:
    """Fork a read server, under a frozen heap: it never collects what it inherits."""
    requests, job_end = os.pipe()
    answer_end, answers = os.pipe()
    parent = os.getpid()
    with isolation.frozen_heap():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the server stays frozen: it never leaves this block
            os.close(job_end)
            os.close(answer_end)
            _serve(requests, answers, parent)
    os.close(requests)
    os.close(answers)
    return _Server(pid=pid, owner=parent, requests=job_end, answers=answer_end)


def _serve(requests: int, answers: int, parent: int) -> NoReturn:  # pragma: no cover
    """Answer requests until the parent closes the pipe or a read leaves the server unfit."""
    isolation.become_child(parent)
    # The parent stops the run on Ctrl-C and kills this server; SIGTERM from anyone ends it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    start, count = _rss(), 0
    while (job := isolation.read_message(requests)) is not None:
        outcome = _run(job)
        count += 1
        going_on = (outcome[0] == "ok" and not isolation.spoiled() and count < SERVER_READS
                    and _rss() - start < SERVER_GROWTH)
        isolation.reply(answers, outcome, going_on)
        if not going_on:
            break
    os._exit(0)


def _run(job: bytes) -> tuple[object, ...]:  # pragma: no cover - runs in the server
    """Unpickle a request and run it under the limits, collector thresholds and folder it came with."""
    try:
        work, limits, thresholds, folder = pickle.loads(job)  # from our parent, never from a file
        if folder != os.getcwd():
            os.chdir(folder)
    except Exception as error:  # a one-off child takes it (it inherits a folder since deleted)
        return ("unsent", f"{type(error).__name__}: {error}")
    gc.set_threshold(*thresholds)
    with using(limits):
        return isolation.outcome_of(work)


def _rss() -> int:  # pragma: no cover - runs in the server
    """Return this process's resident memory in bytes (Linux)."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGESIZE")


def _close(server: _Server) -> None:
    """Close this side of a server's pipes."""
    for fd in (server.requests, server.answers):
        with suppress(OSError):
            os.close(fd)


def _forget() -> None:
    """In a forked process, drop the parent's server: only the parent may use or reap it."""
    global _SERVER
    if _SERVER is not None:
        _close(_SERVER)
        _SERVER = None


atexit.register(stop_server)
os.register_at_fork(after_in_child=_forget)
