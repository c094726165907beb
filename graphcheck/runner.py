"""Check many models at once: a process pool, results in input order, a crash costs one file."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from graphcheck import engine
from graphcheck.discovery import Target
from graphcheck.engine import check_path, finding
from graphcheck.findings import LoadError, Problem
from graphcheck.loaders import read_server
from graphcheck.loaders.isolation import (
    die_with_parent,
    frozen_heap,
    in_child,
    isolated,
    reads_in_child,
    spoil,
)
from graphcheck.results import FileResult
from graphcheck.rule_names import RuleName
from graphcheck.settings import Settings

if TYPE_CHECKING:  # pools are imported where used: one file needs none
    from concurrent.futures import Future
    from multiprocessing.context import BaseContext

    from graphcheck.explanations.report import ModelReport

T = TypeVar("T")
# Below this many files a pool costs more (start-up, imports) than it saves.
POOL_MIN_FILES = 4
PROGRESS_MIN_FILES = 20


def default_jobs() -> int:
    """Return the number of CPUs this process may use, capped at 8."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        count = os.cpu_count() or 1
    return max(1, min(count, 8))


def check_target(settings: Settings, target: Target, pictures: bool = False) -> FileResult | None:
    """Check one model; keep its findings, and its explain report for pictures (graphs stay here).

    None: the walk claimed the file by content and it holds no model (HDF5 data): left out.
    """
    if target.note:
        return noted(target, settings)
    if _whole_in_child(target):
        return _in_read_child(settings, target, partial(check_target, pictures=pictures))
    result = check_path(target.path, target.display, settings, weights=target.weights)
    report = None
    if pictures:
        from graphcheck.explanations.build import build

        report = build(result)
    return FileResult(path=result.path, findings=result.findings, rules=result.rules, report=report)


def noted(target: Target, settings: Settings) -> FileResult:
    """Report an entry the folder walk did not check (a link out, a FIFO, an unreadable one)."""
    problem = Problem(rule=target.note_rule, node=None, message=target.note)
    found = finding(target.display, problem)
    return FileResult(path=target.display, findings=[found] if settings.selection.reports(found) else [])


def check_failed(target: Target, error: BaseException) -> FileResult:
    """Report a file whose worker died (a crash in a native library, memory): internal-error."""
    message = (f"not checked: the run was interrupted by {error.name}; this report is partial"
               if isinstance(error, Interrupted)
               else f"checking this file failed: {type(error).__name__}: {error}")
    problem = Problem(rule=RuleName.INTERNAL_ERROR, node=None, message=message)
    return FileResult(path=target.display, findings=[finding(target.display, problem)])


def explain_target(settings: Settings, target: Target) -> ModelReport | None:
    """Explain one model in the worker, so no graph crosses processes (the report is data)."""
    from graphcheck.explanations.build import build

    if target.note:
        return build(noted(target, settings))
    if _whole_in_child(target):
        return _in_read_child(settings, target, explain_target)
    return build(check_path(target.path, target.display, settings))


def _whole_in_child(target: Target) -> bool:
    """Return True when a file is best checked whole in one read child (not yet in one).

    A file whose loader reads in a forked child (HDF5), or one the walk claimed by content,
    is checked there: its loader's ``keeps`` and ``load`` share the child, and only findings
    come back through the pipe, never the model (unpickling a 10,000-layer model took 0.5 s).
    """
    if in_child() or target.weights is not None:
        return False
    if target.kept_by is not None:
        return True
    from graphcheck.engine import loader_for
    from graphcheck.loaders import read_head

    try:
        loader = loader_for(target.path, read_head(target.path))
    except (OSError, LoadError):
        return False  # checking it says why
    return loader is not None and reads_in_child(loader)


def _in_read_child(settings: Settings, target: Target,
                   work: Callable[[Settings, Target], T | None]) -> T | None:
    """Check a file in one read child: None when its loader's ``keeps`` leaves it out.

    A hang or crash in the child is reported as the load reports it.
    """
    settings = settings.for_file(target.path)
    # Files read in a child are HDF5-backed, Keras models: their shape functions, the rules and
    # loaders imported here, once, are inherited by each read server instead of imported there
    # (a server that met a bad file is replaced by a fresh fork of this process).
    engine.import_shape_functions("keras")
    engine.load_plugins()
    try:
        return isolated(partial(_checked, work, settings, target), settings.limits.max_read_seconds)
    except LoadError as error:
        plain = replace(target, kept_by=None, note=str(error), note_rule=error.rule)
        return work(settings, plain)


def _checked(work: Callable[[Settings, Target], T | None], settings: Settings,
             target: Target) -> T | None:
    """Check the file unless the loader that claimed it by content says it holds no model."""
    from graphcheck.discovery import keeps

    if target.kept_by is not None and not keeps(target.kept_by, target.path):
        return None
    return work(settings, replace(target, kept_by=None))


def listed(targets: Sequence[Target], settings: Settings) -> list[Target]:
    """Return the targets a run checks (``--show-files``): HDF5 data claimed by content is left out."""
    with read_server.serving():
        return [target for target in targets if target.kept_by is None or _kept(target, settings)]


def _kept(target: Target, settings: Settings) -> bool:
    """Ask the claiming loader, in a read child, whether the file holds a model."""
    try:
        return isolated(partial(_keeps, target.kept_by or "", target.path),
                        settings.for_file(target.path).limits.max_read_seconds)
    except LoadError:
        return True  # checking it says what is wrong


def _keeps(claimed_by: str, path: Path) -> bool:
    """Ask the claiming loader whether the file holds a model (in a read child).

    ``keeps`` says True for a file it cannot classify, so only a data file (False) leaves the
    read server fit for the next file.
    """
    from graphcheck.discovery import keeps

    kept = keeps(claimed_by, path)
    if kept:
        spoil()
    return kept


def explain_failed(target: Target, error: BaseException) -> ModelReport:
    """Explain a file whose worker died: only its internal-error finding."""
    from graphcheck.explanations.build import build

    return build(check_failed(target, error))


def check_all(targets: Sequence[Target], settings: Settings, jobs: int,
              pictures: bool = False) -> list[FileResult]:
    """Check every target, in parallel when there are enough of them; ``pictures``: keep reports."""
    results = run(targets, partial(check_target, settings, pictures=pictures), check_failed, jobs=jobs)
    return [result for result in results if result is not None]


def explain_all(targets: Sequence[Target], settings: Settings, jobs: int) -> list[ModelReport]:
    """Explain every target, in parallel when there are enough of them."""
    reports = run(targets, partial(explain_target, settings), explain_failed, jobs=jobs)
    return [report for report in reports if report is not None]


def run(targets: Sequence[Target], work: Callable[[Target], T],
        failed: Callable[[Target, BaseException], T], *, jobs: int,
        stream: TextIO | None = None) -> list[T]:
    """Apply ``work`` to every target; results come back in target order whatever happens.

    A SIGINT or SIGTERM ends the run early: each file not checked by then gets
    ``failed(target, Interrupted)``, so that the report says which files it does not cover,
    and ``interrupted()`` names the signal (the command exits 128 + its number).
    """
    stream = sys.stderr if stream is None else stream
    done: dict[int, T] = {}
    try:
        with read_server.serving(), interruptible(), progress(len(targets), stream) as tick:
            if jobs <= 1 or len(targets) < POOL_MIN_FILES:
                for index, target in enumerate(targets):
                    done[index] = _guarded(work, failed, target, tick)
            else:  # workers never collect what they inherit (see frozen_heap)
                with frozen_heap():
                    _pooled(targets, work, failed, min(jobs, len(targets)), tick, done)
    except Interrupted as stop:
        print(f"graphcheck: interrupted by {stop.name} after {len(done)} of {len(targets)} "
              "files; the report is partial (the others are reported as not checked)",
              file=sys.stderr)
        return [done[i] if i in done else failed(t, stop) for i, t in enumerate(targets)]
    return [done[i] for i in range(len(targets))]


def interrupted() -> int | None:
    """Return the signal that cut the last run short, or None when it checked every file."""
    return _STOP.signum


@dataclass
class _Stop:
    """The signal that asked the run to stop, and the pool whose workers it must kill."""

    signum: int | None = None
    pool: Any = None


_STOP = _Stop()


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived during a run (a BaseException: no file's handler eats it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """Return the signal's name, e.g. SIGINT."""
        import signal

        return signal.Signals(self.signum).name


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGINT/SIGTERM (and a KeyboardInterrupt) into Interrupted, recorded in ``_STOP``."""
    import signal
    import threading

    def stop(signum: int, frame: object) -> None:
        _STOP.signum = signum
        if _STOP.pool is None:
            raise Interrupted(signum)
        # Raising here could leave a lock of the pool's held (submit, as_completed) and hang
        # its shutdown: kill the workers instead; the broken pool ends the wait at once.
        for process in list(getattr(_STOP.pool, "_processes", {}).values()):
            if process.pid:
                _kill_group(process.pid)

    signals = (signal.SIGINT, signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, stop) for s in signals} if in_main else {}
    _STOP.signum, _STOP.pool = None, None
    try:
        yield
    except KeyboardInterrupt:  # SIGINT without our handler (a run outside the main thread)
        _STOP.signum = signal.SIGINT
        raise Interrupted(signal.SIGINT) from None
    finally:
        _STOP.pool = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def worker_init(parent: int) -> None:
    """Prepare a pool worker: the parent handles Ctrl-C, and the worker dies with its parent."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to the whole group
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # fork copied the parent's handler
    os.setpgid(0, 0)  # its own group: stopping it kills the HDF5 reader it may have forked
    die_with_parent(parent)
    read_server.serve_until_exit()


def _guarded(work: Callable[[Target], T], failed: Callable[[Target, BaseException], T],
             target: Target, tick: Callable[[], None]) -> T:
    """Run work in this process; an exception becomes the failure result."""
    try:
        return work(target)
    except Exception as error:
        return failed(target, error)
    finally:
        tick()


def _pooled(targets: Sequence[Target], work: Callable[[Target], T],
            failed: Callable[[Target, BaseException], T], jobs: int,
            tick: Callable[[], None], results: dict[int, T]) -> None:
    """Run work in a process pool into ``results``; files whose worker died are retried alone."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    retry: list[int] = []
    unsent: list[int] = []
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=worker_init,
                               initargs=(os.getpid(),))
    _STOP.pool = pool
    try:
        futures: dict[Future[T], int] = {}
        for index, target in enumerate(targets):
            try:
                futures[pool.submit(work, target)] = index
            except BrokenProcessPool:  # a worker died before every file was handed out
                unsent = list(range(index, len(targets)))
                break
        for future in as_completed(futures):
            _check_stop()
            try:
                results[futures[future]] = future.result()
            except Exception:  # a dead worker breaks the pool and fails every pending file
                retry.append(futures[future])
            tick()
        _check_stop()
    except BaseException:  # Interrupted, KeyboardInterrupt: stop now, queued files dropped
        _terminate(pool)
        raise
    finally:
        _STOP.pool = None
    pool.shutdown(wait=True, cancel_futures=True)
    for index in sorted(retry + unsent):
        results[index] = _isolated(work, failed, targets[index])
        if index in unsent:
            tick()


def _kill_group(pid: int) -> None:
    """Kill a worker and the process group it leads (children it forked), if still there."""
    import signal

    for kill in (os.killpg, os.kill):
        with suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _check_stop() -> None:
    """Raise Interrupted when a signal arrived while the pool was running."""
    if _STOP.signum is not None:
        raise Interrupted(_STOP.signum)


def _terminate(pool: Any) -> None:
    """Cancel queued work and kill the workers at once (a running file may take seconds)."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public way to reach them
    for process in processes:
        if process.pid:
            _kill_group(process.pid)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)


def _context() -> BaseContext | None:
    """Fork warm workers where fork is safe (Linux); elsewhere use the platform's default."""
    if sys.platform != "linux":
        return None
    # Imports, entry points and shape functions take longer than checking a small model:
    # load them once here so that every forked worker starts with them.
    engine.load_plugins()
    from graphcheck.explanations import import_explanations

    import_explanations()
    import multiprocessing

    return multiprocessing.get_context("fork")


def _isolated(work: Callable[[Target], T], failed: Callable[[Target, BaseException], T],
              target: Target) -> T:
    """Retry one file in a fresh single-worker pool, so that a crash takes only this file."""
    from concurrent.futures import ProcessPoolExecutor

    try:
        with ProcessPoolExecutor(max_workers=1, initializer=worker_init,
                                 initargs=(os.getpid(),)) as pool:
            return pool.submit(work, target).result()
    except Exception as error:
        return failed(target, error)


def show_progress(total: int, stream: TextIO) -> bool:
    """Return True when a progress bar helps: many files and a person watching the stream."""
    return total >= PROGRESS_MIN_FILES and stream.isatty()


@contextmanager
def progress(total: int, stream: TextIO) -> Iterator[Callable[[], None]]:
    """Yield a function to call per finished file; it draws a bar on stream when that helps."""
    if not show_progress(total, stream):
        yield lambda: None
        return
    import click

    with click.progressbar(length=total, label="Checking models", file=stream) as bar:
        yield lambda: bar.update(1)
