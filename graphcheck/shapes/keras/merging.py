"""Shape functions for merge layers: Concatenate, Add and the other element-wise merges, Dot."""

from __future__ import annotations

from graphcheck.findings import ShapeError
from graphcheck.graph import Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, register
from graphcheck.shapes.dims import broadcast


def _all(shapes: tuple[Shape, ...]) -> str:
    """Render every input shape for a message."""
    return ", ".join(format_shape(s) for s in shapes)


def _need_inputs(call: Call, count: int | None = None) -> tuple[Shape, ...]:
    """Return the merged inputs, requiring at least two (or exactly ``count``)."""
    shapes = call.inputs
    if (count is not None and len(shapes) != count) or len(shapes) < 2:
        want = f"exactly {count}" if count is not None else "at least 2"
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"{call.layer.type} needs {want} inputs, got {len(shapes)}")
    return shapes


@register("keras", "Concatenate")
def concatenate(call: Call) -> LayerShapes:
    """Concatenate: widths add up along ``axis``; every other axis must agree."""
    shapes = _need_inputs(call)
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"Concatenate needs inputs of one rank, got {_all(shapes)}")
    raw = call.config.get("axis", -1)
    axis = raw if isinstance(raw, int) and -rank <= raw < rank else None
    if axis is None:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"Concatenate axis={raw!r} is out of range for "
                                                f"inputs {_all(shapes)}")
    axis %= rank
    for index in range(1, rank):
        sizes = {s[index] for s in shapes if isinstance(s[index], int)}
        if index != axis and len(sizes) > 1:
            raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                             f"Concatenate on axis {axis} needs the other axes to match, but axis "
                             f"{index} differs: {_all(shapes)}")
    widths = [s[axis] for s in shapes]
    total = sum(w for w in widths if isinstance(w, int))
    out = list(shapes[0])
    out[axis] = total if all(isinstance(w, int) for w in widths) else None
    return LayerShapes(outputs=(tuple(out),))


@register("keras", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
def elementwise(call: Call) -> LayerShapes:
    """Element-wise merges: inputs broadcast together (Subtract takes exactly two)."""
    shapes = _need_inputs(call, 2 if call.layer.type == "Subtract" else None)
    out = shapes[0][1:]
    for shape in shapes[1:]:
        out = broadcast(out, shape[1:], call.layer.type)
    batches = {s[0] for s in shapes if s and s[0] is not None}
    batch = batches.pop() if len(batches) == 1 else None
    return LayerShapes(outputs=((batch, *out),))


def _dot_axes(raw: object, first: Shape, second: Shape) -> tuple[int, int]:
    """Return the two contracted axes of Dot's ``axes`` (an int or a pair), non-negative."""
    pair = [raw, raw] if isinstance(raw, int) else raw
    if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(a, int) for a in pair):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"Dot axes is {raw!r}")
    a, b = pair
    if not (-len(first) <= a < len(first) and -len(second) <= b < len(second)):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"Dot axes={raw!r} is out of range for {_all((first, second))}")
    return a % len(first), b % len(second)


@register("keras", "Dot")
def dot(call: Call) -> LayerShapes:
    """Dot: contract one axis of each input; the rest of both shapes (batch once) remains."""
    first, second = _need_inputs(call, 2)
    a, b = _dot_axes(call.config.get("axes", -1), first, second)
    x, y = first[a], second[b]
    if isinstance(x, int) and isinstance(y, int) and x != y:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"Dot contracts axis {a} of {format_shape(first)} ({x}) with axis {b} of "
                         f"{format_shape(second)} ({y}): the sizes must be equal")
    out = [d for i, d in enumerate(first) if i != a] + [
        d for i, d in enumerate(second) if i not in (b, 0)]
    return LayerShapes(outputs=(tuple(out) if len(out) > 1 else (*out, 1),))
