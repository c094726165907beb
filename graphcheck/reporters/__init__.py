"""Reporters: pure functions from results to text, registered as ``graphcheck.reporters``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from graphcheck.plugins import entry_points_in, load
from graphcheck.results import FileResult


@dataclass(frozen=True, kw_only=True)
class RenderOptions:
    """What a reporter may need besides the results."""

    color: bool = False
    version: str = ""
    quiet: bool = False  # findings only: no summary line, nothing at all on a clean run
    verbose: bool = False  # text: each finding's detail (an internal-error's traceback) under it


class Reporter(Protocol):
    """Turns the results of a check run into one document."""

    name: str

    def render(self, results: Sequence[FileResult], options: RenderOptions) -> str:
        """Return the whole output."""


@cache
def reporters() -> dict[str, Reporter]:
    """Return the registered reporters by format name."""
    return {point.name: load(point, lambda r: callable(getattr(r, "render", None)),
                             "a reporter (an object with render)")
            for point in entry_points_in("graphcheck.reporters")}


def shorten(text: str, width: int) -> str:
    """Fit a name into a table column: keep its start and end, an ellipsis between."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return f"{text[:head]}…{text[len(text) - (width - 1 - head):]}"
