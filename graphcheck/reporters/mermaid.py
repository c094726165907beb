"""Mermaid ``flowchart`` of each model, for GitHub job summaries and Markdown that renders it.

Layer names are hostile: nothing from the file becomes an identifier (boxes are ``m0_3``), and
every label character outside a small safe set is written as a Mermaid entity code (``#34;``),
so a name can neither close its quoted label nor start a statement (``click``, ``style``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphcheck.explanations.report import ModelReport
from graphcheck.reporters import DocumentReporter
from graphcheck.reporters.escape import terminal
from graphcheck.reporters.picture import Box, Scope, caption, footnote, inner, scopes

# GitHub renders at most 500 edges and 50,000 characters of Mermaid per block.
LIMIT = 150
_SAFE = re.compile("[A-Za-z0-9 _.,:/()?+\u00d7\u2026\u00b7-]")  # and the times, ellipsis, dot of captions
CLASSES = ("  classDef error fill:#fde2e1,stroke:#c62828,stroke-width:2px",
           "  classDef warning fill:#fff4d6,stroke:#b7791f,stroke-width:2px",
           "  classDef note fill:#e3f0ff,stroke:#1f6feb",
           "  classDef recurrent fill:#eef7ee,stroke:#2e7d32")


def text(value: str) -> str:
    """Return a label fragment: safe characters as they are, every other one as ``#NNN;``."""
    return "".join(c if _SAFE.fullmatch(c) else f"#{ord(c)};" for c in terminal(value))


def _node(box: Box, indent: str) -> str:
    """Declare one box."""
    name, kind = caption(box)
    return f'{indent}{box.key}["{text(name)}<br/>{text(kind)}"]'


def _scope(part: Scope, every: Sequence[Scope], indent: str) -> list[str]:
    """Declare a scope's boxes; a nested model is a subgraph holding its box and its layers."""
    lines: list[str] = []
    for box in part.boxes:
        sub = inner(every, box)
        if sub is None:
            lines.append(_node(box, indent))
            continue
        lines.append(f'{indent}subgraph {sub.key}["{text(box.name)} ({text(box.type)})"]')
        lines += [f"{indent}  direction TB", _node(box, indent + "  ")]
        lines += _scope(sub, every, indent + "  ")
        lines.append(f"{indent}end")
    for arrow in part.arrows:
        lines.append(f'{indent}{arrow.src} -->|"{text(arrow.shape)}"| {arrow.dst}')
    note = footnote(part)
    if note:
        lines.append(f'{indent}{part.key}_note["{text(note)}"]')
    return lines


def _body(report: ModelReport, prefix: str, indent: str) -> tuple[list[str], list[str]]:
    """Return one model's declarations and arrows, and its severity class statements."""
    if report.error is not None:
        key = f"{prefix}0_error"
        return [f'{indent}{key}["{text(report.error)}"]'], [f"  class {key} error"]
    every = scopes(report, prefix=prefix, limit=LIMIT)
    classes = []
    for part in every:
        for box in part.boxes:
            style = str(box.severity) if box.severity else "recurrent" if box.recurrent else None
            classes += [f"  class {box.key} {style}"] if style else []
    return _scope(every[0], every, indent), classes


def flowchart(report: ModelReport) -> str:
    """Return one model as a Mermaid flowchart (top to bottom)."""
    lines, classes = _body(report, "m", "  ")
    return "\n".join(["flowchart TB", *CLASSES, *lines, *classes])


def document(reports: Sequence[ModelReport]) -> str:
    """Return one flowchart; several files are one subgraph each (a block holds one diagram)."""
    if len(reports) == 1:
        return flowchart(reports[0]) + "\n"
    lines, classes = ["flowchart TB", *CLASSES], []
    for i, report in enumerate(reports):
        body, styles = _body(report, f"f{i}m", "    ")
        lines += [f'  subgraph f{i}["{text(report.path)}"]', *body, "  end"]
        classes += styles
    return "\n".join(lines + classes) + "\n"


# ``explain --format mermaid``.
REPORTER = DocumentReporter(name="mermaid", document=document)
