"""The drawable graph of a ModelReport: boxes and shape-labelled arrows per (nested) model.

Mermaid, DOT and the HTML report draw the same picture from this, so they agree on what is
shown: one box per layer, runs of identical layers in a chain collapsed into one box, ONNX
``Constant`` operators left out (the table lists them), and each box marked with the worst
severity of its findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from graphcheck.explanations.report import ModelReport, NodeReport
from graphcheck.findings import Finding, Severity
from graphcheck.graph import Shape, format_shape
from graphcheck.results import FileResult

# A run of at least this many same-type layers in a plain chain becomes one box.
COLLAPSE = 4
# Beyond this many boxes per model the picture stops (the table still lists every layer).
LIMIT = 400


@dataclass(frozen=True, kw_only=True)
class Box:
    """One drawn node: a layer, or a collapsed run of layers of the same type."""

    key: str  # an identifier of our own ("n12"): names are hostile, never ids
    name: str  # the layer's name in its model, or "first … last" for a run
    type: str
    params: int | None
    severity: Severity | None
    members: tuple[str, ...]  # full names of the layers it stands for
    nested: bool = False  # a nested model: its layers are drawn in their own scope
    recurrent: bool = False

    @property
    def kind(self) -> str:
        """Return the type, with the run length for a collapsed run (``ReLU`` times 6)."""
        return f"{self.type} \u00d7{len(self.members)}" if len(self.members) > 1 else self.type


@dataclass(frozen=True, kw_only=True)
class Arrow:
    """One edge, labelled with the shape of the tensor it carries."""

    src: str
    dst: str
    shape: str


@dataclass(frozen=True, kw_only=True)
class Scope:
    """The picture of one model: the top level (``name`` None) or one nested model."""

    name: str | None
    key: str
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    hidden: int = 0  # layers not drawn past the limit
    constants: int = 0  # ONNX Constant operators left out


def severities(findings: Iterable[Finding]) -> dict[str, Severity]:
    """Map each layer name to the worst severity among its findings."""
    worst: dict[str, Severity] = {}
    for finding in findings:
        if finding.node is not None:
            worst[finding.node] = max(worst.get(finding.node, finding.severity), finding.severity)
    return worst


@dataclass(frozen=True, kw_only=True)
class _Facts:
    """What every scope of one report needs, computed once per report."""

    report: ModelReport
    worst: dict[str, Severity]
    nested: set[str]  # names of the nested models
    found: dict[tuple[str | None, str], NodeReport]  # (scope, input name) -> node
    inside: dict[str | None, list[NodeReport]]  # scope -> its own layers, in file order


def _facts(report: ModelReport) -> _Facts:
    """Index a report: inputs by full and by short name within their scope, layers by scope."""
    found: dict[tuple[str | None, str], NodeReport] = {}
    inside: dict[str | None, list[NodeReport]] = {None: []}
    for node in report.nodes:
        found[(node.parent, node.name)] = node
        found.setdefault((node.parent, node.label), node)
        inside.setdefault(node.parent, []).append(node)
    return _Facts(report=report, worst=severities(report.findings),
                  nested={n for n in inside if n is not None}, found=found, inside=inside)


def _drawn(report: ModelReport, node: NodeReport) -> bool:
    """Leave out ONNX constants: dozens of them would hide the operators they feed."""
    return not (report.format == "onnx" and node.type == "Constant" and not node.inputs)


def _edges(facts: _Facts, members: Sequence[NodeReport]) -> list[tuple[str, str, str]]:
    """Return (src name, dst name, shape) for every input edge within one scope."""
    edges = []
    for node in members:
        for name in node.inputs:
            src = facts.found.get((node.parent, name))
            if src is None or not _drawn(facts.report, src):
                continue
            edges.append((src.name, node.name, format_shape(_carried(src, node))))
    return edges


def _carried(src: NodeReport, dst: NodeReport) -> Shape | None:
    """Return the shape of the tensor src passes to dst.

    ``inputs`` names each feeding layer once (a shared layer feeds a Concatenate twice) while
    ``input_shapes`` lists the first call's tensors, so positions do not pair them: the edge
    carries src's output, and of several outputs the one dst receives.
    """
    outs = src.output_shapes
    if len(outs) == 1:
        return outs[0]
    received = [s for s in outs if s in dst.input_shapes]
    return received[0] if received else outs[0] if outs else None


def _runs(members: Sequence[NodeReport], edges: Sequence[tuple[str, str, str]],
          facts: _Facts) -> list[list[NodeReport]]:
    """Group the scope's nodes into runs: a chain of same-type plain layers is one run."""
    ins: dict[str, list[str]] = {}
    outs: dict[str, list[str]] = {}
    for src, dst, _ in edges:
        ins.setdefault(dst, []).append(src)
        outs.setdefault(src, []).append(dst)

    def plain(node: NodeReport) -> bool:
        return node.name not in facts.worst and node.name not in facts.nested and not node.cells

    runs: list[list[NodeReport]] = []
    for node in members:
        last = runs[-1][-1] if runs else None
        if (last is not None and plain(node) and plain(last) and node.type == last.type
                and ins.get(node.name) == [last.name] and outs.get(last.name) == [node.name]):
            runs[-1].append(node)
        else:
            runs.append([node])
    split = []
    for run in runs:  # short runs stay separate: collapsing 2 layers hides more than it saves
        split += [run] if len(run) >= COLLAPSE else [[n] for n in run]
    return split


def _box(key: str, run: Sequence[NodeReport], facts: _Facts) -> Box:
    """Return the box for one run."""
    first, last = run[0], run[-1]
    params = [n.params for n in run]
    total = None if any(p is None for p in params) else sum(p or 0 for p in params)
    return Box(key=key, name=first.label if len(run) == 1 else f"{first.label} \u2026 {last.label}",
               type=first.type, params=total, severity=facts.worst.get(first.name),
               members=tuple(n.name for n in run), nested=first.name in facts.nested,
               recurrent=bool(first.cells))


def _scope(facts: _Facts, parent: str | None, key: str, limit: int) -> Scope:
    """Return the picture of one scope, drawing at most ``limit`` boxes."""
    inside = facts.inside.get(parent, [])
    members = [n for n in inside if _drawn(facts.report, n)]
    edges = _edges(facts, members)
    runs = _runs(members, edges, facts)
    boxes = [_box(f"{key}_{i}", run, facts) for i, run in enumerate(runs[:limit])]
    where = {name: b.key for b in boxes for name in b.members}
    arrows = [Arrow(src=where[s], dst=where[d], shape=shape) for s, d, shape in edges
              if s in where and d in where and where[s] != where[d]]
    hidden = sum(len(run) for run in runs[limit:])
    return Scope(name=parent, key=key, boxes=tuple(boxes), arrows=tuple(arrows), hidden=hidden,
                 constants=len(inside) - len(members))


def scope(report: ModelReport, parent: str | None, key: str, limit: int = LIMIT) -> Scope:
    """Return the picture of the model ``parent`` (None: the top level) of a report."""
    return _scope(_facts(report), parent, key, limit)


def scopes(report: ModelReport, prefix: str = "m", limit: int = LIMIT) -> list[Scope]:
    """Return the top-level picture and one per drawn nested model, outer first.

    ``limit`` bounds the boxes of all pictures together, so a model of a thousand small
    nested models stays as bounded as one long chain.
    """
    facts = _facts(report)
    found = [_scope(facts, None, f"{prefix}0", limit)]
    budget = limit - len(found[0].boxes)
    waiting = [b.members[0] for b in found[0].boxes if b.nested]
    while waiting and budget > 0:
        name = waiting.pop(0)
        part = _scope(facts, name, f"{prefix}{len(found)}", budget)
        found.append(part)
        budget -= len(part.boxes)
        waiting += [b.members[0] for b in part.boxes if b.nested]
    return found


def inner(scopes_: Sequence[Scope], box: Box) -> Scope | None:
    """Return the scope that draws a nested model's own layers (None: not drawn)."""
    if not box.nested:
        return None
    return next((s for s in scopes_ if s.name == box.members[0]), None)


def caption(box: Box) -> tuple[str, str]:
    """Return a box's two lines: its name, then its type and parameter count."""
    params = "" if box.params == 0 else " · ? params" if box.params is None else f" · {box.params:,} params"
    return box.name, box.kind + params


def footnote(part: Scope) -> str:
    """Say what a picture leaves out, or return ''."""
    notes = []
    if part.hidden:
        notes.append(f"{part.hidden:,} more layers not drawn (the table lists every layer)")
    if part.constants:
        notes.append(f"{part.constants:,} Constant operators not drawn")
    return "; ".join(notes)


def report_of(result: FileResult) -> ModelReport:
    """Return what a check run keeps of a file for pictures, with the findings it reports."""
    if result.report is None:  # not analysed (a note from the folder walk), or no pictures asked
        return ModelReport(path=result.path, format=None, findings=tuple(result.findings))
    return replace(result.report, findings=tuple(result.findings))
