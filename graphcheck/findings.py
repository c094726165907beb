"""Shared types: findings, severities and the problems stages raise on the way."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


@dataclass(frozen=True, kw_only=True)
class Problem:
    """A problem found by a stage (loading, inference) before rules turn it into a Finding."""

    rule: str
    node: str | None
    message: str


class LoadError(Exception):
    """A file that cannot be analysed; the message says what was wrong and where."""

    def __init__(self, message: str, *, rule: str = "unreadable-model") -> None:
        """Keep the rule name so that LFS pointers and parse failures stay distinct."""
        super().__init__(message)
        self.rule = rule


class ShapeError(Exception):
    """A layer whose inputs contradict its config; ``rule`` names the finding to report."""

    def __init__(self, rule: str, message: str) -> None:
        """Store the rule name next to the message."""
        super().__init__(message)
        self.rule = rule
