"""Gitignore-style patterns, bounded so that no pattern can make matching take exponential time.

pathspec turns each pattern into a backtracking regular expression: ``*`` becomes ``[^/]*`` and
``**/`` an optional ``(?:.+/)?``. A name that almost matches costs about n^k steps for k such
wildcards (``*a*a*a*a*a*b`` against a 255-character name never finishes). A pattern with more
than MAX_STARS single-segment wildcards or MAX_DOUBLE_STARS ``**`` is therefore not compiled:
it is dropped, which only ever means *more* files are checked, never fewer. Names longer than
MAX_NAME_CHARS are matched by their last MAX_NAME_CHARS characters' worth of path segments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: checking one file should not pay for it
    import pathspec

# Two wildcards cost at most ~n^2 regex steps per segment (a few ms at NAME_MAX = 255).
MAX_STARS = 2
MAX_DOUBLE_STARS = 2
# Longer paths than this (4,096 is PATH_MAX) are not matched against patterns at all.
MAX_PATH_CHARS = 4096
_DOUBLE = re.compile(r"(?:^|/)\*\*(?:/|$)")
_STARS = re.compile(r"\*+")


def too_complex(pattern: str) -> bool:
    """Return True when a pattern has too many wildcards to match in bounded time."""
    doubles = len(_DOUBLE.findall(pattern))
    singles = len(_STARS.findall(_DOUBLE.sub("/", pattern)))
    return doubles > MAX_DOUBLE_STARS or singles > MAX_STARS


@dataclass(frozen=True)
class IgnoreSpec:
    """A compiled set of patterns and the ones dropped as too complex."""

    spec: pathspec.GitIgnoreSpec
    dropped: tuple[str, ...] = field(default=())

    def check(self, relative: str) -> bool | None:
        """Return True (ignored), False (re-included by ``!``) or None (no pattern matches)."""
        if len(relative) > MAX_PATH_CHARS:
            return None
        result: bool | None = self.spec.check_file(relative).include
        return result

    def match_file(self, relative: str) -> bool:
        """Return True when the patterns ignore this path."""
        return bool(self.check(relative))


def compile_spec(lines: Iterable[str]) -> IgnoreSpec:
    """Compile gitignore lines, dropping any pattern too complex to match in bounded time."""
    import pathspec

    kept: list[str] = []
    dropped: list[str] = []
    for line in lines:
        (dropped if too_complex(line.strip()) else kept).append(line)
    return IgnoreSpec(pathspec.GitIgnoreSpec.from_lines(kept), tuple(dropped))
