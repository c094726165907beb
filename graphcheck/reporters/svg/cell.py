"""The recurrent cell diagram: one step drawn to its numbers, then the cell unrolled over time.

For ``LSTM(32)`` on ``(None, 10, 64)``: x_t (64 features) -> kernel (64, 4*32) and h_{t-1} (32)
-> recurrent kernel (32, 4*32), both split into the 4 gates of 32 units, -> h_t (32); below,
the same cell applied at each of the 10 timesteps, and which outputs the layer returns. The
matrices are drawn to scale (one factor for the whole step), so 64 x 128 is twice 32 x 128.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphcheck.explanations.report import Cell, NodeReport
from graphcheck.graph import Dim, format_shape
from graphcheck.reporters.svg import CHAR, esc, rect, svg, text

MATRIX = 150.0  # the longest matrix side, in pixels
MONO = 7.3  # advance of a 12px monospace character (the formula)
UNKNOWN = 60.0  # drawn length of a dimension the file leaves open
STEPS = 6  # unrolled cells drawn before the middle ones become an ellipsis
STEP_W, STEP_H, STEP_GAP = 74.0, 34.0, 34.0
ARROW = ('<defs><marker id="{key}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
         'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" class="head"/>'
         "</marker></defs>")


def dim(value: Dim) -> str:
    """Return a dimension as text: ``?`` when the file leaves it open."""
    return "?" if value is None else str(value)


def _times(count: int, value: Dim) -> Dim:
    """Return count*value, or the symbolic product when value is not a number."""
    return count * value if isinstance(value, int) else f"{count}*{dim(value)}"


def _scale(cell: Cell) -> float:
    """Return pixels per unit so that the longest matrix side is MATRIX pixels (12 at most)."""
    sides = [d for d in (cell.features, cell.units, _times(len(cell.gates), cell.units))
             if isinstance(d, int) and d > 0]
    return min(12.0, MATRIX / max(sides)) if sides else 1.0


def _length(value: Dim, scale: float, count: int = 1) -> float:
    """Return the drawn length of ``count*value`` (at least 8 px, so tiny layers stay visible)."""
    return max(8.0, count * value * scale) if isinstance(value, int) else count * UNKNOWN


def _line(x1: float, y1: float, x2: float, y2: float, key: str, cls: str = "flow") -> str:
    """Return an arrow from (x1, y1) to (x2, y2)."""
    return (f'<path d="M{x1:.1f},{y1:.1f}L{x2:.1f},{y2:.1f}" class="{cls}" '
            f'marker-end="url(#{key})"/>')


def _matrix(x: float, y: float, w: float, h: float, gates: Sequence[str], label: str) -> list[str]:
    """Draw a weight matrix split into one coloured band per gate, its label above it."""
    band = w / max(1, len(gates))
    parts = [f'<rect x="{x + i * band:.1f}" y="{y:.1f}" width="{band:.1f}" height="{h:.1f}" '
             f'class="gate g{i % 4}"><title>{esc(g)}</title></rect>' for i, g in enumerate(gates)]
    return [*parts, rect(x, y, w, h, "matrix", rx=0), text(x, y - 6, label, "label", "start")]


def _step(cell: Cell, key: str, y: float) -> tuple[list[str], float]:
    """Draw one timestep to scale: inputs, matrices, gates and outputs; return its height."""
    s, k = _scale(cell), len(cell.gates)
    wide = _length(cell.units, s, k)
    kh, rh = _length(cell.features, s), _length(cell.units, s)
    mx, top = 150.0, y + 56
    rtop = top + kh + 36
    parts = [text(10, y + 12, f"one timestep t (the same weights at every step){_rev(cell)}", "title",
                  "start"),
             text(10, y + 28, f"each of the {len(cell.gates)} gates ({dim(cell.units)} units) adds "
                  "x_t \u00b7 kernel, h_{t-1} \u00b7 recurrent_kernel and the bias, then its "
                  "activation", "kind", "start")]
    parts += _node(10, top + kh / 2 - 17, "x_t", f"{dim(cell.features)} features")
    parts += _node(10, rtop + rh / 2 - 17, "h_{t-1}", f"{dim(cell.units)} units")
    parts += [_line(110, top + kh / 2, mx - 4, top + kh / 2, key),
              _line(110, rtop + rh / 2, mx - 4, rtop + rh / 2, key)]
    parts += _matrix(mx, top, wide, kh, cell.gates, f"kernel {format_shape(cell.kernel)}")
    parts += _matrix(mx, rtop, wide, rh, cell.gates,
                     f"recurrent_kernel {format_shape(cell.recurrent_kernel)}")
    bottom = rtop + rh
    if cell.bias is not None:
        parts += _matrix(mx, bottom + 26, wide, 6, cell.gates, f"bias {format_shape(cell.bias)}")
        bottom += 32
    gx = mx + _matrix_width(cell) + 40
    gates, gy = _gates(cell, gx, top, bottom, key, mx + wide)
    parts += gates
    parts += _node(gx + 190, gy - 17, "h_t", f"{dim(cell.units)} units")
    parts.append(_line(gx + 150, gy, gx + 186, gy, key))
    if cell.kind == "LSTM":  # the second state only LSTM carries
        parts += _node(gx + 190, gy + 27, "c_t", f"{dim(cell.units)} units")
        parts.append(text(gx + 190, gy + 76, "cell state, carried to the next step", "kind", "start"))
    return parts, max(bottom, gy + 80) - y + 14


def _rev(cell: Cell) -> str:
    """Say which way the cell runs, when it runs backwards."""
    return ", run from the last timestep to the first" if cell.reverse else ""


def _node(x: float, y: float, name: str, size: str) -> list[str]:
    """Draw a vector box: its name and its length."""
    return [rect(x, y, 100, 34, "vector"), text(x + 50, y + 14, name, "name"),
            text(x + 50, y + 28, size, "kind")]


def _gates(cell: Cell, x: float, top: float, bottom: float, key: str,
           left: float) -> tuple[list[str], float]:
    """Draw the gate column (each ``units`` wide) fed by both matrices; return its centre."""
    k = len(cell.gates)
    h = 24.0
    start = (top + bottom) / 2 - (k * (h + 6) - 6) / 2
    parts = []
    for i, gate in enumerate(cell.gates):
        gy = start + i * (h + 6)
        parts += [rect(x, gy, 150, h, f"gate g{i % 4}", rx=4),
                  text(x + 75, gy + 16, f"{gate}: {dim(cell.units)} units", "kind"),
                  _line(left + 2, gy + h / 2, x - 3, gy + h / 2, key, "thin")]
    centre = start + (k * (h + 6) - 6) / 2
    return parts, centre


def _shown_steps(timesteps: Dim) -> list[str | None]:
    """Return the step labels drawn (None is the ellipsis): all of them, or both ends."""
    if isinstance(timesteps, int) and 0 < timesteps <= STEPS:
        return [str(t) for t in range(1, timesteps + 1)]
    last = timesteps if isinstance(timesteps, int) and timesteps > 0 else "T"
    before = [str(last - 1)] if isinstance(last, int) else []
    return ["1", "2", "3", None, *before, str(last)]


def _unrolled(cell: Cell, key: str, y: float) -> tuple[list[str], float]:
    """Draw the cell applied at each timestep, the state passed along, and what is returned."""
    steps = _shown_steps(cell.timesteps)
    over = (f"{cell.timesteps} timesteps" if isinstance(cell.timesteps, int)
            else "a variable number of timesteps T")
    title = (f"unrolled over {over}: each x_t has {dim(cell.features)} "
             f"features, each h_t {dim(cell.units)} units")
    parts = [text(10, y + 12, title, "title", "start")]
    top = y + 56
    xs = [20 + i * (STEP_W + STEP_GAP) for i in range(len(steps))]
    order = list(zip(xs, steps))
    last_x = xs[0] if cell.reverse else xs[-1]
    for i, (x, step) in enumerate(order):
        parts += _unrolled_step(cell, key, x, top, step, x == last_x)
        if i + 1 < len(order):  # the state passes to the next step run (leftwards when reversed)
            a, b = x + STEP_W + 2, order[i + 1][0] - 2
            a, b = (b, a) if cell.reverse else (a, b)
            parts.append(_line(a, top + STEP_H / 2, b, top + STEP_H / 2, key))
    parts += _returned(cell, xs[-1] + STEP_W + 30, top)
    return parts, STEP_H + 120


def _unrolled_width(cell: Cell) -> float:
    """Return the right edge of the unrolled drawing and the return notes beside it."""
    steps = len(_shown_steps(cell.timesteps))
    notes = max(len(line) for line in _returned_lines(cell))
    return 20 + steps * (STEP_W + STEP_GAP) - STEP_GAP + 30 + notes * CHAR + 20


def _unrolled_step(cell: Cell, key: str, x: float, top: float, step: str | None,
                   final: bool) -> list[str]:
    """Draw one unrolled cell with its input below and its output above."""
    if step is None:
        return [text(x + STEP_W / 2, top + STEP_H / 2 + 5, "…", "ellipsis")]
    out = cell.return_sequences or final
    parts = [rect(x, top, STEP_W, STEP_H, "cell" + (" final" if final else "")),
             text(x + STEP_W / 2, top + 21, f"{cell.kind} cell", "kind"),
             text(x + STEP_W / 2, top + STEP_H + 42, f"x_{step}", "name"),
             _line(x + STEP_W / 2, top + STEP_H + 30, x + STEP_W / 2, top + STEP_H + 2, key)]
    if out:
        parts += [_line(x + STEP_W / 2, top - 2, x + STEP_W / 2, top - 22, key),
                  text(x + STEP_W / 2, top - 28, f"h_{step}", "name")]
    return parts


def _returned(cell: Cell, x: float, top: float) -> list[str]:
    """List what the layer returns beside the unrolled cells."""
    return [text(x, top + 4 + 16 * i, line, "said", "start")
            for i, line in enumerate(_returned_lines(cell))]


def _returned_lines(cell: Cell) -> list[str]:
    """Say what the layer returns: every step's h, or the last one, and the final states."""
    units, steps = dim(cell.units), dim(cell.timesteps)
    lines = ([f"returns h at every step: ({steps}, {units})", "return_sequences=True"]
             if cell.return_sequences else
             [f"returns only the last h: ({units},)", "return_sequences=False"])
    if cell.return_state:
        states = "h and c" if cell.kind == "LSTM" else "h"
        lines.append(f"return_state=True: also the final {states}, ({units},) each")
    return lines


def cell_svg(cell: Cell, key: str) -> str:
    """Return one direction of a recurrent layer as an <svg>: the step, the unrolled cell, the formula."""
    head = [ARROW.format(key=key)]
    step, h1 = _step(cell, key, 6)
    unrolled, h2 = _unrolled(cell, key, 6 + h1)
    y = 6 + h1 + h2
    formula = [text(10, y + 4, f"parameters = {cell.formula}", "formula", "start"),
               text(10, y + 24, f"= {cell.numbers}", "formula", "start"),
               text(10, y + 44, "(the same for any number of timesteps)", "kind", "start")]
    formula_chars = max(len(cell.formula) + 13, len(cell.numbers) + 2)
    width = max(_right(cell), _unrolled_width(cell), formula_chars * MONO + 30)
    label = f"{cell.kind} cell diagram" + (f" ({cell.label})" if cell.label else "")
    return svg(width, y + 56, head + step + unrolled + formula, label)


def _matrix_width(cell: Cell) -> float:
    """Return the width the matrices and their labels take."""
    label = len(f"recurrent_kernel {format_shape(cell.recurrent_kernel)}") * CHAR
    return max(_length(cell.units, _scale(cell), len(cell.gates)), label)


def _right(cell: Cell) -> float:
    """Return the right edge of the one-step drawing."""
    return 150 + _matrix_width(cell) + 40 + 190 + 250


def merge_note(node: NodeReport) -> str:
    """Say how a Bidirectional layer joins its two directions, or return ''."""
    if node.merge_mode is None or len(node.cells) != 2:
        return ""
    units = [c.units for c in node.cells]
    joined = (f"{dim(units[0])} + {dim(units[1])}" if node.merge_mode == "concat"
              else f"{dim(units[0])}")
    shapes = ", ".join(format_shape(s) for s in node.output_shapes)
    return (f"merge_mode={node.merge_mode}: forward and backward outputs joined "
            f"({joined} units per step) -> {shapes}")
