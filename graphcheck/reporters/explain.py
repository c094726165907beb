"""Render ``graphcheck explain``: a summary table per model and recurrent layer stories."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from graphcheck.explain import NodeView, nodes, recurrent_story, total_params
from graphcheck.graph import Shape, format_shape
from graphcheck.reporters import shorten
from graphcheck.reporters.escape import json_value, terminal
from graphcheck.reporters.json import finding_dict
from graphcheck.results import FileResult

# Long (nested, generated) layer names would push the table off the screen; JSON keeps them whole.
NAME_WIDTH = 40


def _shapes(shapes: Sequence[Shape | None]) -> str:
    """Format one or more output shapes for the table."""
    return ", ".join(format_shape(s) for s in shapes) or "-"


def table(views: list[NodeView]) -> list[str]:
    """Return the summary table rows: layer, type, output shape, params, inputs."""
    rows = [("Layer", "Type", "Output shape", "Params", "Inputs")]
    for v in views:
        rows.append(("  " * v.depth + shorten(v.label, NAME_WIDTH), shorten(v.type, NAME_WIDTH),
                     _shapes(v.output_shapes), "?" if v.params is None else f"{v.params:,}",
                     ", ".join(shorten(i, NAME_WIDTH) for i in v.inputs)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return lines


def render_text(results: Sequence[FileResult]) -> str:
    """Return the text explanation of every analysed model, with its findings."""
    out: list[str] = []
    for result in results:
        out.append(f"== {result.path}" + (f" ({result.model.format})" if result.model else ""))
        if result.model is not None and result.inference is not None:
            views = list(nodes(result.model, result.inference))
            out += table(views)
            total = total_params(views)
            out.append(f"Total params: {'?' if total is None else f'{total:,}'}")
            for view in views:
                story = recurrent_story(view)
                if story:
                    out += ["", *story]
        for finding in result.findings:
            where = f"{finding.node}: " if finding.node else ""
            out.append(f"{finding.severity}: {where}{finding.code} {finding.rule} {finding.message}")
        out.append("")
    return "\n".join(terminal(line) for line in out)


def model_dict(result: FileResult) -> dict[str, Any]:
    """Return the explain JSON contract for one model."""
    findings = [finding_dict(f) for f in result.findings]
    if result.model is None or result.inference is None:
        return {"path": result.path, "format": None, "nodes": [], "outputs": [],
                "error": "; ".join(f.message for f in result.findings), "findings": findings}
    views = list(nodes(result.model, result.inference))
    return {
        "path": result.path, "format": result.model.format, "findings": findings,
        "nodes": [{"name": v.name, "type": v.type, "inputs": list(v.inputs),
                   "output_shapes": [None if s is None else list(s) for s in v.output_shapes],
                   "params": v.params or 0,
                   "weights": {k: list(s) for k, s in v.weights.items()}} for v in views],
        "outputs": [{"name": name, "shape": None if shape is None else list(shape)}
                    for name, shape in result.inference.outputs],
        "total_params": total_params(views),
    }


def render_json(results: Sequence[FileResult]) -> str:
    """Return the explain JSON array."""
    return json.dumps(json_value([model_dict(r) for r in results]), indent=2) + "\n"
