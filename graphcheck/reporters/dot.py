r"""Graphviz DOT of each model: the same boxes, shapes and severities as the Mermaid flowchart.

Identifiers are our own (``m0_3``); names only appear in quoted labels, with backslashes and
quotes escaped (so ``\N`` or ``"]`` stay text) and ``&`` spelled ``&amp;`` so that Graphviz
shows entity-looking names as written.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphcheck.explanations.report import ModelReport
from graphcheck.reporters import DocumentReporter
from graphcheck.reporters.escape import terminal
from graphcheck.reporters.picture import Box, Scope, caption, footnote, inner, scopes

FILL = {"error": "#fde2e1", "warning": "#fff4d6", "note": "#e3f0ff"}
LINE = {"error": "#c62828", "warning": "#b7791f", "note": "#1f6feb"}


def escaped(value: str) -> str:
    """Return value for inside a DOT double-quoted string, shown literally."""
    return terminal(value).replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")


def quoted(value: str) -> str:
    """Return a DOT double-quoted string showing value literally."""
    return f'"{escaped(value)}"'


def _node(box: Box, indent: str) -> str:
    """Declare one box, filled by the worst severity of its findings."""
    name, kind = caption(box)
    attrs = [f'label="{escaped(name)}\\n{escaped(kind)}"']
    if box.severity is not None:
        severity = str(box.severity)
        attrs += [f'fillcolor="{FILL[severity]}"', f'color="{LINE[severity]}"', "penwidth=2"]
    elif box.recurrent:
        attrs.append('fillcolor="#eef7ee"')
    if box.nested:
        attrs.append("peripheries=2")
    return f'{indent}"{box.key}" [{", ".join(attrs)}];'


def _scope(part: Scope, every: Sequence[Scope], indent: str) -> list[str]:
    """Declare a scope's boxes; a nested model is a cluster holding its box and its layers."""
    lines: list[str] = []
    for box in part.boxes:
        sub = inner(every, box)
        if sub is None:
            lines.append(_node(box, indent))
            continue
        lines += [f'{indent}subgraph "cluster_{sub.key}" {{',
                  f"{indent}  label={quoted(f'{box.name} ({box.type})')}; style=dashed;",
                  _node(box, indent + "  "), *_scope(sub, every, indent + "  "), f"{indent}}}"]
    lines += [f'{indent}"{a.src}" -> "{a.dst}" [label={quoted(a.shape)}];' for a in part.arrows]
    note = footnote(part)
    if note:
        lines.append(f'{indent}"{part.key}_note" [label={quoted(note)}, shape=note];')
    return lines


def digraph(report: ModelReport, index: int = 0) -> str:
    """Return one model as a DOT digraph (top to bottom)."""
    lines = [f"digraph {quoted(report.path)} {{",
             f"  graph [rankdir=TB, fontname=Helvetica, label={quoted(report.path)}, labelloc=t];",
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname=Helvetica];',
             "  edge [fontname=Helvetica, fontsize=10];"]
    if report.error is not None:
        lines.append(f'  "m{index}_error" [label={quoted(report.error)}, fillcolor="{FILL["error"]}"];')
    else:
        every = scopes(report, prefix=f"f{index}m")
        lines += _scope(every[0], every, "  ")
    return "\n".join([*lines, "}"])


def document(reports: Sequence[ModelReport]) -> str:
    """Return one digraph per model (``dot`` renders each)."""
    return "\n\n".join(digraph(r, i) for i, r in enumerate(reports)) + "\n"


# ``explain --format dot``.
REPORTER = DocumentReporter(name="dot", document=document)
