"""The model graph as SVG: boxes per layer (coloured by findings), shape labels on the arrows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from graphcheck.reporters import shorten
from graphcheck.reporters.picture import Box, Scope, caption, inner
from graphcheck.reporters.svg import CHAR, esc, rect, svg, text
from graphcheck.reporters.svg.layout import Layout, Point, layout

NAME_WIDTH = 34  # characters of a name drawn in a box; the tooltip and table show it whole
BOX_H = 40.0
MARKER = ('<defs><marker id="{key}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
          'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" class="head"/>'
          "</marker></defs>")


def _lines(box: Box) -> tuple[str, str]:
    """Return the two lines drawn in a box, shortened to fit."""
    name, kind = caption(box)
    return shorten(name, NAME_WIDTH), shorten(kind, NAME_WIDTH + 6)


def _size(box: Box) -> tuple[float, float]:
    """Return a box's width and height from its text."""
    longest = max(len(line) for line in _lines(box))
    return max(90.0, longest * CHAR + 24), BOX_H


def _box(box: Box, at: tuple[float, float, float, float], target: Scope | None,
         anchor: str | None) -> str:
    """Draw one box; a nested model links to the drawing of its layers."""
    x, y, w, h = at
    name, kind = _lines(box)
    style = str(box.severity) if box.severity else "recurrent" if box.recurrent else "layer"
    members = ", ".join(box.members[:3]) + (" …" if len(box.members) > 3 else "")
    parts = [f"<title>{esc(members)} ({esc(box.kind)})</title>", rect(x, y, w, h, style)]
    if box.nested:
        parts.append(rect(x + 3, y + 3, w - 6, h - 6, "inner", rx=4))
    parts += [text(x + w / 2, y + 17, name, "name"), text(x + w / 2, y + 32, kind, "kind")]
    inside = "".join(parts)
    if target is not None:  # opens the nested model's section (html.py's script)
        return f'<a href="#{target.key}" class="open" data-open="{target.key}">{inside}</a>'
    if anchor is not None:  # a recurrent layer: its cell diagram
        return f'<a href="#{anchor}" class="cell-link">{inside}</a>'
    return f'<g data-layer="{esc(box.members[0])}">{inside}</g>'


def _arrow(points: Sequence[Point], key: str) -> str:
    """Draw one edge."""
    path = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<path d="{path}" class="edge" marker-end="url(#{key}-arrow)"/>'


def _labels(placed: Layout, shapes: dict[tuple[str, str], str]) -> list[str]:
    """Place each shape label where it does not collide with its neighbours' labels.

    A tensor sent to several layers is labelled once, under its source; an edge into a layer
    with several inputs is labelled near its source, where the edges are still apart; one of
    several different outputs near its target; any other edge mid-way on its last segment.
    """
    fanned = Counter((s, shapes[(s, d)]) for s, d, _ in placed.edges)
    leaving = Counter(s for s, _, _ in placed.edges)
    into = Counter(d for _, d, _ in placed.edges)
    done: set[tuple[str, str]] = set()
    out = []
    for src, dst, points in placed.edges:
        shape = shapes[(src, dst)]
        if fanned[(src, shape)] > 1:
            if (src, shape) in done:
                continue
            done.add((src, shape))
            (x0, y0), (x1, y1) = points[0], (points[0][0], points[0][1] + 28)
        elif into[dst] > 1:
            (x0, y0), (x1, y1) = points[0], points[1]
        elif leaving[src] > 1:  # tensors of different shapes: apart near their targets
            (x0, y0), (x1, y1) = points[-2], points[-1]
            x0, y0 = x0 + (x1 - x0) * 0.5, y0 + (y1 - y0) * 0.5
        else:
            (x0, y0), (x1, y1) = points[-2], points[-1]
        out.append(text((x0 + x1) / 2 + 5, (y0 + y1) / 2 + 4, shape, "shape", anchor="start"))
    return out


def graph_svg(part: Scope, every: Sequence[Scope], anchors: Mapping[str, str] | None = None) -> str:
    """Return one model's (or nested model's) graph as an <svg> element.

    ``anchors`` maps layer names to the ids of what explains them further (cell diagrams).
    """
    sizes = {b.key: _size(b) for b in part.boxes}
    placed: Layout = layout(sizes, [(a.src, a.dst) for a in part.arrows])
    shapes = {(a.src, a.dst): a.shape for a in part.arrows}
    body = [MARKER.format(key=part.key)]
    body += [_arrow(points, part.key) for _, _, points in placed.edges]
    body += _labels(placed, shapes)
    for box in part.boxes:
        p = placed.nodes[box.key]
        anchor = (anchors or {}).get(box.members[0])
        body.append(_box(box, (p.x, p.y, p.w, p.h), inner(every, box), anchor))
    width = max(placed.width + 80, 200.0)  # room for the last edge label
    return svg(width, max(placed.height, BOX_H + 24), body, part.name or "model graph")
