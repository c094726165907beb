"""Shared types: findings, severities and the problems stages raise on the way."""

from __future__ import annotations

import enum
import traceback
from dataclasses import dataclass

from graphcheck.rule_names import RuleName

# An internal-error keeps this much of its traceback: enough to report it, bounded in output.
TRACEBACK_FRAMES = 20
TRACEBACK_CHARS = 8192


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that ``>=`` compares against ``--fail-on``."""

    NOTE = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        """Return the lower-case name used in every output format."""
        return self.name.lower()


class Confidence(enum.IntEnum):
    """How sure a rule is that the finding is real, independent of how bad it would be."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    def __str__(self) -> str:
        """Return the lower-case name."""
        return self.name.lower()


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One reported problem in one model file."""

    path: str
    code: str
    rule: str
    severity: Severity
    node: str | None
    message: str
    confidence: Confidence = Confidence.HIGH
    detail: str | None = None  # internal-error: the traceback, for the bug report


@dataclass(frozen=True, kw_only=True)
class Problem:
    """A problem found by a stage (loading, inference) before rules turn it into a Finding."""

    rule: RuleName  # a plain string is checked against RuleName: a typo raises ValueError
    node: str | None
    message: str
    detail: str | None = None  # internal-error: the traceback (see traceback_text)

    def __post_init__(self) -> None:
        """Refuse an unknown rule name here rather than lose the problem silently later."""
        object.__setattr__(self, "rule", RuleName(self.rule))


def traceback_text(error: BaseException) -> str:
    """Return an exception's traceback: its last TRACEBACK_FRAMES frames, TRACEBACK_CHARS at most."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__,
                                              limit=-TRACEBACK_FRAMES))
    return text if len(text) <= TRACEBACK_CHARS else "..." + text[-TRACEBACK_CHARS:]


class LoadError(Exception):
    """A file that cannot be analysed; the message says what was wrong and where."""

    def __init__(self, message: str, *, rule: RuleName = RuleName.UNREADABLE_MODEL) -> None:
        """Keep the rule name so that LFS pointers and parse failures stay distinct."""
        super().__init__(message)
        self.rule = RuleName(rule)


class ShapeError(Exception):
    """A layer whose inputs contradict its config; ``rule`` names the finding to report."""

    def __init__(self, rule: RuleName, message: str, *, field: str | None = None) -> None:
        """Store the rule name; ``field`` ("config.units") is the config value ``message`` is about."""
        super().__init__(f"{field} {message}" if field else message)
        self.rule = RuleName(rule)
        self.field = field
        self.detail = message

    def located(self, where: str) -> str:
        """Return the message with the layer's place in the file in front of the field."""
        if not where:
            return str(self)
        return f"{where}.{self.field} {self.detail}" if self.field else f"{where}: {self.detail}"
