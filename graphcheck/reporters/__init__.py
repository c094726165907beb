"""Reporters: pure functions from results to text, registered as ``graphcheck.reporters``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal, Protocol, cast, overload

from graphcheck.plugins import builtin, entry_points_in, load

if TYPE_CHECKING:  # reporters receive these; building them is the engine's and explain's job
    from importlib.metadata import EntryPoint

    from graphcheck.explanations.report import ModelReport
    from graphcheck.results import FileResult

Command = Literal["check", "explain"]
# A reporter that names no commands (one written before explain had reporters) serves check.
CHECK_ONLY = frozenset({"check"})


@dataclass(frozen=True, kw_only=True)
class RenderOptions:
    """What a reporter may need besides the results."""

    color: bool = False
    version: str = ""
    quiet: bool = False  # findings only: no summary line, nothing at all on a clean run
    verbose: bool = False  # text: each finding's detail (an internal-error's traceback) under it
    command: Command = "check"  # the command whose output is rendered
    partial: bool = False  # a signal cut the run short: some files are reported as not checked


class Reporter(Protocol):
    """One output format, for the commands named in ``commands`` ("check", "explain").

    A reporter serving ``check`` is a ``CheckReporter``: ``render(results, options)`` turns
    the ``FileResult`` of every checked file into one document. One serving ``explain`` is an
    ``ExplainReporter``: ``explain(reports, options)`` turns the ``ModelReport`` of every
    explained file into one document. A format serving both (text, json) has both methods;
    ``options.command`` names the command either way. Both are pure: no I/O, no engine.
    """

    name: str
    commands: frozenset[str]


class CheckReporter(Reporter, Protocol):
    """A reporter whose ``commands`` include "check"."""

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the whole output of a check run."""


class ExplainReporter(Reporter, Protocol):
    """A reporter whose ``commands`` include "explain"."""

    def explain(self, reports: Sequence[ModelReport], options: RenderOptions) -> str:
        """Return the whole output of an explain run."""


@dataclass(frozen=True, kw_only=True)
class DocumentReporter:
    """An explain-only reporter whose output is one document drawn from every model report."""

    name: str
    document: Callable[[Sequence[ModelReport]], str]
    commands: frozenset[str] = frozenset({"explain"})

    def explain(self, reports: Sequence[ModelReport], options: RenderOptions) -> str:
        """Return the document; drawings take no rendering options."""
        del options
        return self.document(reports)


# graphcheck's own reporters: imported when their format is chosen (a text check draws no SVG),
# only located up front. A plugin's reporter is imported up front: a broken one stops every run.
BUILTIN = "graphcheck.reporters."


@cache
def _points() -> dict[str, EntryPoint]:
    """Return the ``graphcheck.reporters`` entry points by format name (nothing imported)."""
    return {point.name: point for point in entry_points_in("graphcheck.reporters")}


@cache
def _loaded(name: str) -> Reporter:
    """Import the reporter registered as ``name``."""
    return cast("Reporter", load(_points()[name], _is_reporter,
                                 "a reporter (an object with render or explain)"))


@cache
def plugin_reporters() -> None:
    """Import the plugins' reporters; check that graphcheck's own modules are there."""
    for name, point in _points().items():
        if not builtin(point, BUILTIN):
            _loaded(name)


def registered() -> dict[str, Reporter]:
    """Return every reporter registered in ``graphcheck.reporters``, by format name."""
    plugin_reporters()
    return {name: _loaded(name) for name in _points()}


@overload
def reporter(name: str, command: Literal["check"] = "check") -> CheckReporter | None: ...
@overload
def reporter(name: str, command: Literal["explain"]) -> ExplainReporter | None: ...
def reporter(name: str, command: Command = "check") -> CheckReporter | ExplainReporter | None:
    """Return the reporter of format ``name`` if it serves ``command``, importing only that one."""
    plugin_reporters()
    if name not in _points():
        return None
    found = _loaded(name)
    if command not in commands_of(found):
        return None
    if command == "explain":
        return cast("ExplainReporter", found)
    return cast("CheckReporter", found)


def _is_reporter(target: object) -> bool:
    """Return True for an object that can render check results or explanations."""
    return any(callable(getattr(target, method, None)) for method in ("render", "explain"))


def commands_of(reporter: object) -> frozenset[str]:
    """Return the commands a reporter serves (check when it does not say)."""
    commands = getattr(reporter, "commands", CHECK_ONLY)
    return commands if isinstance(commands, frozenset) else CHECK_ONLY


@overload
def reporters(command: Literal["check"] = "check") -> dict[str, CheckReporter]: ...
@overload
def reporters(command: Literal["explain"]) -> dict[str, ExplainReporter]: ...
def reporters(command: Command = "check") -> dict[str, CheckReporter] | dict[str, ExplainReporter]:
    """Return the reporters serving ``command``, by format name."""
    serving = {name: r for name, r in registered().items() if command in commands_of(r)}
    if command == "explain":
        return cast("dict[str, ExplainReporter]", serving)
    return cast("dict[str, CheckReporter]", serving)


def shorten(text: str, width: int) -> str:
    """Fit a name into a table column: keep its start and end, an ellipsis between."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return f"{text[:head]}…{text[len(text) - (width - 1 - head):]}"
