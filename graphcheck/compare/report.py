"""What ``diff`` returns: the correspondence of layers to nodes, and findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphcheck.findings import Finding, Severity
from graphcheck.rules import Rule

EQUIVALENT, DIFFERS, NOT_VERIFIED, MISSING = "equivalent", "differs", "not verified", "missing"


@dataclass(frozen=True, kw_only=True)
class Pair:
    """One reference layer and the candidate nodes that implement it."""

    reference: str | None  # None: a candidate node that implements no reference layer
    kind: str
    candidate: tuple[str, ...]
    status: str


@dataclass(frozen=True, kw_only=True)
class DiffReport:
    """The result of comparing a reference model with a candidate (its export)."""

    reference: str
    candidate: str
    pairs: tuple[Pair, ...]
    findings: tuple[Finding, ...]

    @property
    def equivalent(self) -> bool:
        """Return True when no finding is worse than a note (no difference was found)."""
        return all(f.severity <= Severity.NOTE for f in self.findings)

    def exit_code(self, fail_on: Severity = Severity.WARNING) -> int:
        """Return what ``graphcheck diff --fail-on`` exits with: 1 for a finding at ``fail_on`` or worse."""
        return 1 if any(f.severity >= fail_on for f in self.findings) else 0

    def to_dict(self) -> dict[str, Any]:
        """Return the ``graphcheck diff --format json`` document as data."""
        from graphcheck import __version__
        from graphcheck.reporters.diff import as_dict

        return as_dict(self, __version__)

    @property
    def verdict(self) -> str:
        """Return "differs", "not verified" (nothing differs, parts unchecked) or "equivalent"."""
        if not self.equivalent:
            return DIFFERS
        return NOT_VERIFIED if self.findings else EQUIVALENT


@dataclass(kw_only=True)
class Collector:
    """Findings as the checks report them, all on the candidate file."""

    path: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule: type[Rule], at: str | None, /, **fields: Any) -> Finding:
        """Record a finding of ``rule`` on layer ``at``: its template filled with ``fields``."""
        found = Finding(path=self.path, code=rule.code, rule=rule.name, severity=rule.severity,
                        node=at, message=rule.template.format(**fields),
                        confidence=rule.confidence)
        self.findings.append(found)
        return found

    def status_since(self, start: int) -> str:
        """Return a pair's status from the findings recorded since index ``start``."""
        new = self.findings[start:]
        if any(f.severity > Severity.NOTE for f in new):
            return DIFFERS
        return NOT_VERIFIED if new else EQUIVALENT
