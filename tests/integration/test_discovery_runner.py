"""The parallel runner: input order kept, a crashing worker costs one file, progress on a tty."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest

from graphcheck.discovery import Target
from graphcheck.runner import (
    PROGRESS_MIN_FILES,
    check_all,
    check_failed,
    explain_all,
    progress,
    run,
    show_progress,
)
from graphcheck.settings import Selection, Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GOOD = FIXTURES / "keras" / "question.keras"
BROKEN = FIXTURES / "keras" / "units16_weights32.keras"


def targets(*paths: Path) -> list[Target]:
    """Name each path by its position so that order is visible in the results."""
    return [Target(path=p, display=f"{i}:{p.name}") for i, p in enumerate(paths)]


def die_on_broken(target: Target) -> str:
    """Work that kills its worker process outright for one file, as a native crash would."""
    if target.path == BROKEN:
        os._exit(3)
    return target.display


def failed_name(target: Target, error: BaseException) -> str:
    """Mark a failed target."""
    return f"failed {target.display}"


def test_pool_keeps_input_order_and_returns_findings_only() -> None:
    """Pooled results come back in target order, with findings and without graphs."""
    items = targets(BROKEN, GOOD, BROKEN, GOOD, BROKEN)
    results = check_all(items, Settings(), jobs=2)
    assert [r.path for r in results] == [t.display for t in items]
    assert [bool(r.findings) for r in results] == [True, False, True, False, True]
    assert all(r.model is None and r.inference is None for r in results)
    pickle.dumps(results)  # what crosses the process boundary


def test_pool_matches_serial_run() -> None:
    """Parallel and serial runs give the same findings."""
    items = targets(BROKEN, GOOD, GOOD, BROKEN)
    assert [r.findings for r in check_all(items, Settings(), 2)] == [
        r.findings for r in check_all(items, Settings(), 1)]


def test_a_dead_worker_costs_only_its_own_file() -> None:
    """A worker that dies fails its file; every other file still gets its result."""
    items = targets(GOOD, BROKEN, GOOD, GOOD, GOOD, GOOD)
    out = run(items, die_on_broken, failed_name, jobs=2, stream=io.StringIO())
    assert out == [t.display if t.path != BROKEN else f"failed {t.display}" for t in items]


def test_failure_becomes_internal_error_finding() -> None:
    """The failure result is an internal-error finding naming the error."""
    result = check_failed(targets(GOOD)[0], MemoryError("out of memory"))
    assert [f.rule for f in result.findings] == ["internal-error"]
    assert "MemoryError: out of memory" in result.findings[0].message


def test_explain_runs_in_workers() -> None:
    """Explanations are built in the workers, one report per file, in order."""
    reports = explain_all(targets(GOOD, BROKEN, GOOD, GOOD), Settings(), jobs=2)
    assert [r.path for r in reports] == ["0:question.keras", "1:units16_weights32.keras",
                                         "2:question.keras", "3:question.keras"]
    assert all(r.nodes for r in reports)
    assert "weight-shape-mismatch" in [f.rule for f in reports[1].findings]


class Tty(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Pretend to be a terminal."""
        return True


def test_progress_only_for_many_files_on_a_terminal() -> None:
    """The bar appears on a terminal stream with many files, never on a pipe or for few."""
    many = PROGRESS_MIN_FILES
    assert show_progress(many, Tty()) and not show_progress(many - 1, Tty())
    assert not show_progress(many, io.StringIO())
    stream = Tty()
    with progress(many, stream) as tick:
        for _ in range(many):
            tick()
    assert "Checking models" in stream.getvalue() and "100%" in stream.getvalue()


def test_pool_keeps_which_rules_ran() -> None:
    """The rules that ran on each file cross the process boundary (JUnit reports them)."""
    only = frozenset({"weight-shape-mismatch"})
    settings = Settings(selection=Selection.only(*only))
    results = check_all(targets(BROKEN, GOOD, GOOD, BROKEN), settings, jobs=2)
    assert [r.rules for r in results] == [only] * 4
    assert {f.rule for r in results for f in r.findings} == {"weight-shape-mismatch"}


def test_pool_broken_while_handing_out_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker dying before every file is submitted: the rest are retried, none is lost."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    submit = ProcessPoolExecutor.submit
    calls: list[ProcessPoolExecutor] = []

    def breaking(self: ProcessPoolExecutor, *args: object) -> object:
        """In the first pool, submit twice and then fail as a pool whose worker died."""
        calls.append(self)
        if self is calls[0] and calls.count(self) > 2:
            raise BrokenProcessPool("a child process terminated abruptly")
        return submit(self, *args)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", breaking)
    items = targets(GOOD, BROKEN, GOOD, GOOD, GOOD)
    out = run(items, die_on_broken, failed_name, jobs=2, stream=io.StringIO())
    assert out == [t.display if t.path != BROKEN else f"failed {t.display}" for t in items]
