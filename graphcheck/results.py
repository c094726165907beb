"""What a run learnt about one file; reporters, the runner and the API read these, not the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphcheck.findings import Finding

if TYPE_CHECKING:  # the model and inference are only carried, never built, here
    from graphcheck.explanations.report import ModelReport
    from graphcheck.graph import Model
    from graphcheck.shapes.propagate import Inference


@dataclass(kw_only=True)
class FileResult:
    """Everything graphcheck learnt about one file."""

    path: str
    findings: list[Finding]
    model: Model | None = None
    inference: Inference | None = None
    rules: frozenset[str] | None = None  # names of the rules that ran on it; None: all
    report: ModelReport | None = None  # kept by check for formats that draw (``pictures``)
