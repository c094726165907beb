"""graphcheck's own shapes for common ONNX ops, for where onnx's inference stops or goes wrong.

onnx's inference gives up on a node it has no schema for (ONNX Runtime's com.microsoft ops)
and, after a node it fails on, goes on from shapes it could not check. These functions carry
shapes past such nodes so that the recurrent nodes behind them are still checked. They never
report problems: only the shapes they can be sure of, None elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape
from graphcheck.shapes.dims import broadcast

Shapes = Sequence[Shape | None]
Values = Mapping[int, Sequence[int]]
OpFn = Callable[[Shapes, Mapping[str, Any], Values], tuple[Shape | None, ...]]

SAME = ("Relu", "Sigmoid", "Tanh", "Cast", "CastLike", "Identity", "Dropout", "Neg", "Abs", "Exp",
        "Log", "Sqrt", "Erf", "Softmax", "LogSoftmax", "LeakyRelu", "Elu", "Selu", "HardSigmoid",
        "HardSwish", "Clip", "Not", "Gelu", "FastGelu", "QuickGelu", "Softplus", "Reciprocal",
        "Floor", "Ceil", "Round", "Sign", "Mish", "Sin", "Cos", "LayerNormalization",
        "SkipLayerNormalization", "BatchNormalization", "InstanceNormalization",
        "SimplifiedLayerNormalization")
BROADCAST = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod", "Equal",
             "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where",
             "PRelu", "BiasGelu", "BiasAdd")
OPS: dict[str, OpFn] = {}


def op(*names: str) -> Callable[[OpFn], OpFn]:
    """Register an own shape function for op types."""

    def decorate(fn: OpFn) -> OpFn:
        """Record ``fn`` under every name."""
        OPS.update(dict.fromkeys(names, fn))
        return fn

    return decorate


def _axis(axis: int, rank: int) -> int | None:
    """Normalise a possibly negative axis; None when out of range."""
    axis = axis + rank if axis < 0 else axis
    return axis if 0 <= axis < rank else None


def _listed(attrs: Mapping[str, Any], values: Values, name: str, slot: int) -> list[int] | None:
    """Return an int list given as attribute ``name`` (older opsets) or as input ``slot``."""
    given = attrs.get(name)
    if isinstance(given, list):
        return [int(v) for v in given]
    found = values.get(slot)
    return None if found is None else [int(v) for v in found]


@op(*SAME)
def same(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Elementwise ops and normalisations: the first input's shape."""
    return (inputs[0] if inputs else None,)


@op(*BROADCAST)
def broadcasting(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Multidirectional (numpy) broadcasting of all inputs."""
    if not inputs or any(s is None for s in inputs):
        return (None,)
    try:
        return (reduce(lambda a, b: broadcast(a, b, "ONNX"), inputs),)  # type: ignore[arg-type]
    except ShapeError:
        return (None,)


@op("MatMul", "FusedMatMul")
def matmul(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Multiply as numpy.matmul does: batch axes broadcast, rank-1 operands promoted and dropped."""
    if len(inputs) < 2 or inputs[0] is None or inputs[1] is None or not inputs[0] or not inputs[1]:
        return (None,)
    a, b = inputs[0], inputs[1]
    rows = a[:-1] if len(a) > 1 else ()
    cols = b[-1:] if len(b) > 1 else ()
    batch = broadcasting([a[:-2], b[:-2]], attrs, values)[0]
    return (None,) if batch is None else ((*batch, *rows[-1:], *cols),)


@op("Gemm")
def gemm(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Return A'B's shape: rows of A (transA), columns of B (transB)."""
    if len(inputs) < 2 or inputs[0] is None or inputs[1] is None:
        return (None,)
    a, b = inputs[0], inputs[1]
    if len(a) != 2 or len(b) != 2:
        return (None,)
    return ((a[1] if attrs.get("transA") else a[0], b[0] if attrs.get("transB") else b[1]),)


@op("Transpose")
def transpose(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Permute axes (reverse them when perm is absent)."""
    shape = inputs[0] if inputs else None
    if shape is None:
        return (None,)
    perm = attrs.get("perm", list(range(len(shape)))[::-1])
    if sorted(perm) != list(range(len(shape))):
        return (None,)
    return (tuple(shape[p] for p in perm),)


@op("Reshape")
def reshape(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Target shape from a stored int tensor: 0 copies the input's axis, -1 takes the rest."""
    target = values.get(1)
    shape = inputs[0] if inputs else None
    if target is None:
        return (None,)
    out: list[Dim] = [shape[i] if d == 0 and shape is not None and i < len(shape) and
                      not attrs.get("allowzero") else d for i, d in enumerate(target)]
    if -1 in out:
        total = _size(shape)
        rest = _size(tuple(d for d in out if d != -1))
        known = isinstance(total, int) and isinstance(rest, int) and rest
        out[out.index(-1)] = total // rest if known and total is not None and rest else None
    return (tuple(out),)


def _size(shape: Shape | None) -> int | None:
    """Return the element count when every dim is static."""
    if shape is None or not all(isinstance(d, int) for d in shape):
        return None
    total = 1
    for dim in shape:
        assert isinstance(dim, int)
        total *= dim
    return total


@op("Squeeze")
def squeeze(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Drop the listed axes, or every static 1 when none are listed."""
    shape = inputs[0] if inputs else None
    if shape is None:
        return (None,)
    axes = _listed(attrs, values, "axes", 1)
    if axes is None:
        if any(not isinstance(d, int) for d in shape):
            return (None,)
        return (tuple(d for d in shape if d != 1),)
    drop = {_axis(a, len(shape)) for a in axes}
    return (None,) if None in drop else (tuple(d for i, d in enumerate(shape) if i not in drop),)


@op("Unsqueeze")
def unsqueeze(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Insert 1s at the listed axes of the output."""
    shape, axes = (inputs[0] if inputs else None), _listed(attrs, values, "axes", 1)
    if shape is None or axes is None:
        return (None,)
    rank = len(shape) + len(axes)
    where = {_axis(a, rank) for a in axes}
    if None in where:
        return (None,)
    rest = iter(shape)
    return (tuple(1 if i in where else next(rest) for i in range(rank)),)


@op("Slice")
def slice_(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Slice with stored starts/ends/axes/steps (inputs since opset 10, attributes before).

    Starts and ends computed at run time (a loop's ``x[t:t+1]``) leave only the sliced axes unknown.
    """
    shape = inputs[0] if inputs else None
    starts, ends = _listed(attrs, values, "starts", 1), _listed(attrs, values, "ends", 2)
    count = len(starts) if starts is not None else len(ends) if ends is not None else None
    axes = _listed(attrs, values, "axes", 3) or (None if count is None else list(range(count)))
    if shape is None or axes is None:
        return (None,)
    steps = values.get(4) or [1] * len(axes)
    out = list(shape)
    for index, (axis, step) in enumerate(zip(axes, steps)):
        where = _axis(axis, len(shape))
        if where is None or step == 0:
            return (None,)
        out[where] = (None if starts is None or ends is None or index >= min(len(starts), len(ends))
                      else _sliced(shape[where], starts[index], ends[index], step))
    return (tuple(out),)


def _sliced(dim: Dim, start: int, end: int, step: int) -> Dim:
    """Return the length of one sliced axis (None when the axis is not static)."""
    if not isinstance(dim, int):
        return None
    return len(range(dim)[slice(start, end, step)])


@op("Concat")
def concat(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Join along ``axis``: sizes add up there, other axes from the first input."""
    if not inputs or any(s is None for s in inputs):
        return (None,)
    first = inputs[0]
    assert first is not None
    axis = _axis(int(attrs.get("axis", 0)), len(first))
    if axis is None or any(len(s) != len(first) for s in inputs if s is not None):
        return (None,)
    sizes = [s[axis] for s in inputs if s is not None]
    total = sum(d for d in sizes if isinstance(d, int)) if all(isinstance(d, int) for d in sizes) else None
    return ((*first[:axis], total, *first[axis + 1:]),)


@op("Gather")
def gather(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Data's axes around ``axis`` with the indices' shape in its place."""
    if len(inputs) < 2 or inputs[0] is None or inputs[1] is None:
        return (None,)
    data, indices = inputs[0], inputs[1]
    axis = _axis(int(attrs.get("axis", 0)), len(data))
    return (None,) if axis is None else ((*data[:axis], *indices, *data[axis + 1:]),)


@op("Flatten")
def flatten(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Two axes: the product of those before ``axis`` and of those after."""
    shape = inputs[0] if inputs else None
    if shape is None:
        return (None,)
    axis = int(attrs.get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    return ((_size(shape[:axis]), _size(shape[axis:])),)


@op("Shape")
def shape_of(inputs: Shapes, attrs: Mapping[str, Any], values: Values) -> tuple[Shape | None, ...]:
    """Return a 1-D shape: the rank (or the start:end window of it, since opset 15)."""
    shape = inputs[0] if inputs else None
    if shape is None:
        return (None,)
    return ((len(range(len(shape))[slice(attrs.get("start", 0), attrs.get("end"))]),),)
