"""Settings for one run or one file, and the one object that decides which findings are reported.

These types sit below the engine so that ``config.py``, ``runner.py`` and the coming Python
API build them without importing the pipeline. ``Selection`` is modelled on flake8's
``DecisionEngine``: selectors are matched against a rule's code and name, no registry needed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

from graphcheck.findings import Finding
from graphcheck.limits import DEFAULT as DEFAULT_LIMITS
from graphcheck.limits import Limits


class Decision(enum.Enum):
    """Whether findings of a rule (on a layer) are reported."""

    SELECTED = "selected"
    IGNORED = "ignored"


def matches(selector: str, code: str, name: str) -> bool:
    """Return True when a selector (``ALL``, a code prefix or a rule name) stands for the rule."""
    return (selector.upper() == "ALL" or selector == name
            or code.startswith(selector.upper()))


def _any(selectors: Iterable[str], code: str, name: str) -> bool:
    """Return True when any selector stands for the rule."""
    return any(matches(selector, code, name) for selector in selectors)


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Decides, for a rule and a layer, whether a finding is reported; most specific scope last.

    Precedence (first step that applies wins), the same for the CLI, configuration and API:
    1. ``kept``: rules nothing may silence (protected rules an untrusted configuration tried to
       ignore) are selected, on every layer.
    2. ``ignore`` (configuration, command line and the file's per-file-ignores) ignores.
    3. ``select`` or ``extend_select`` selects; a rule neither names is ignored.
    4. ``layer_ignores``: a selected rule is ignored on layers matching a glob that names it.
    """

    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    # layer-name glob -> selectors suppressed on matching layers (per-layer-ignores)
    layer_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    kept: tuple[str, ...] = ()

    @classmethod
    def only(cls, *names: str) -> Selection:
        """Return a selection of exactly these rules (codes, prefixes or names)."""
        return cls(select=names)

    def decision_for(self, code: str, name: str, node: str | None = None) -> Decision:
        """Decide for a rule's findings on ``node`` (None: the file as a whole)."""
        if _any(self.kept, code, name):
            return Decision.SELECTED
        if self.runs(code, name) and not self._ignored_on(code, name, node):
            return Decision.SELECTED
        return Decision.IGNORED

    def runs(self, code: str, name: str) -> bool:
        """Return True when the rule runs on the file at all (steps 1-3)."""
        if _any(self.kept, code, name):
            return True
        if _any(self.ignore, code, name):
            return False
        return _any((*self.select, *self.extend_select), code, name)

    def reports(self, found: Finding) -> bool:
        """Return True when a finding is reported (its rule selected on its layer)."""
        return self.decision_for(found.code, found.rule, found.node) is Decision.SELECTED

    def _ignored_on(self, code: str, name: str, node: str | None) -> bool:
        """Return True when a per-layer ignore matching ``node`` names the rule."""
        return any(_any(selectors, code, name) and fnmatchcase(node or "", glob)
                   for glob, selectors in self.layer_ignores.items())


class FileSettings(Protocol):
    """Gives each file the settings its configuration implies (``config.Request`` is one)."""

    def settings_for(self, path: Path, base: Settings) -> Settings:
        """Return ``base`` with the selection, options and limits that apply to ``path``."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Which rules report, with what options and limits (filled from the CLI and configuration)."""

    selection: Selection = Selection()
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    # When set, each file gets the settings its own configuration gives (nearest pyproject.toml).
    config: FileSettings | None = None

    def for_file(self, path: Path) -> Settings:
        """Return the settings for one file: its configuration applied, when one is in use."""
        return self if self.config is None else self.config.settings_for(path, self)


DEFAULT = Settings()  # every rule, default options and limits, no configuration
