"""More op layers (see ops.py): indexing, stack, arg reductions, one_hot, tile, pad, resize, einsum."""

from __future__ import annotations

from collections.abc import Mapping

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.op_layers import DYNAMIC_KEY, KERAS3_OP_PREFIX, TENSOR_MARK
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call
from graphcheck.shapes.dims import add, mul
from graphcheck.shapes.keras.ops import (
    axis_list,
    broadcast_all,
    first_operand,
    listed_operands,
    op,
    operand,
    raw_args,
    setting,
)


def _ints(value: object, what: str) -> list[int]:
    """Return a static list of ints (a tile's repeats, a pad width row) or raise."""
    items = value if isinstance(value, list) else [value]
    found = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
    if len(found) != len(items):
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"{what} {value!r} is not a static list of ints")
    return found


@op("stack")
def stack(call: Call) -> Shape:
    """Stack operands of one shape along a new axis."""
    shapes = listed_operands(call, "stack")
    shape = broadcast_all(shapes, "stack")
    axis = setting(call, "axis", default=0)
    if not isinstance(axis, int) or not -len(shape) - 1 <= axis <= len(shape):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"stack axis={axis!r} is out of range")
    axis %= len(shape) + 1
    return (*shape[:axis], len(shapes), *shape[axis:])


@op("argmax", "argmin")
def arg_reduction(call: Call) -> Shape:
    """argmax/argmin drop one axis (Keras 3: all of them when axis is None; TF: axis 0)."""
    shape = first_operand(call)
    keras3 = call.layer.type.startswith(KERAS3_OP_PREFIX)
    axis = setting(call, "axis", "dimension", default=None if keras3 else 0)
    if axis is None:
        return (1,) * len(shape) if setting(call, "keepdims", default=False) else ()
    axes = axis_list(axis, len(shape), "argmax") or []
    if setting(call, "keepdims", default=False):
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


@op("one_hot")
def one_hot(call: Call) -> Shape:
    """one_hot adds an axis of size depth/num_classes (last by default)."""
    shape = first_operand(call)
    depth = setting(call, "depth", "num_classes")
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"one_hot depth {depth!r} is not a static int")
    axis = setting(call, "axis", default=-1)
    axis = -1 if axis is None else axis
    if not isinstance(axis, int) or not -len(shape) - 1 <= axis <= len(shape):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"one_hot axis={axis!r} is out of range")
    axis %= len(shape) + 1
    return (*shape[:axis], depth, *shape[axis:])


@op("tile")
def tile(call: Call) -> Shape:
    """Tile multiplies each axis by its repeat count (leading axes added when there are more)."""
    shape = first_operand(call)
    repeats = _ints(setting(call, "multiples", "repeats"), "tile repeats")
    if len(repeats) < len(shape):
        repeats = [1] * (len(shape) - len(repeats)) + repeats
    padded: list[Dim] = [*([1] * (len(repeats) - len(shape))), *shape]
    return tuple(mul(d, r) for d, r in zip(padded, repeats))


@op("pad")
def pad(call: Call) -> Shape:
    """Pad adds before + after to each axis."""
    shape = first_operand(call)
    widths = setting(call, "paddings", "pad_width")
    rows = widths if isinstance(widths, list) and all(isinstance(w, list) for w in widths) else None
    if rows is None or len(rows) != len(shape):
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"pad widths {widths!r} do not fit "
                                              f"{format_shape(shape)}")
    return tuple(add(d, sum(_ints(row, "pad width"))) for d, row in zip(shape, rows))


@op("resize")
def resize(call: Call) -> Shape:
    """Image resize: the two spatial axes become ``size`` (channels last unless said)."""
    shape = first_operand(call)
    size = _ints(setting(call, "size"), "resize size")
    if len(size) != 2 or len(shape) not in (3, 4):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"resize to {size} of {format_shape(shape)}")
    if setting(call, "data_format") == "channels_first":
        return (*shape[:-2], *size)
    return (*shape[:-3], *size, shape[-1])


@op("getitem")
def getitem(call: Call) -> Shape:
    """Index with ints, slices, None (new axis) and Ellipsis."""
    shape = first_operand(call)
    args = raw_args(call)
    dynamic = call.options.get(DYNAMIC_KEY)
    if len(args) >= 2:
        key = args[1]
    elif isinstance(dynamic, Mapping) and "slice_spec" in dynamic:
        key = dynamic["slice_spec"]  # bounds computed at run time, marked
    else:
        key = setting(call, "slice_spec")
    items = key if isinstance(key, list) else [key]
    return _index(shape, [_index_item(i) for i in items])


# An index (or slice bound) that is a tensor: its value is known only at run time.
RUNTIME = object()


def _index_item(value: object) -> object:
    """Read one index item: int, None, "..." (Ellipsis) or a (start, stop, step) slice.

    A tensor as an index is an int whose value is unknown (RUNTIME); as a slice bound it makes
    the slice's length unknown.
    """
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, Mapping):
        if TENSOR_MARK in value:
            return RUNTIME
        if value.get("class_name") == "__ellipsis__":
            return "..."
        inner = value.get("config") if value.get("class_name") == "__slice__" else value
        if isinstance(inner, Mapping) and {"start", "stop", "step"} >= set(inner):
            parts = tuple(inner.get(k) for k in ("start", "stop", "step"))
            if any(isinstance(p, Mapping) and TENSOR_MARK in p for p in parts):
                return slice(RUNTIME)
            if all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
                return slice(*parts)
    raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"index {value!r} is not a static int, slice, None or "
                                          "Ellipsis")


def _index(shape: Shape, items: list[object]) -> Shape:
    """Apply index items to a shape."""
    consumed = sum(1 for i in items if i is not None and i != "...")
    if consumed > len(shape):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"{consumed} indices for {format_shape(shape)}")
    if "..." not in items:
        items = [*items, "..."]
    out: list[Dim] = []
    dims = list(shape)
    for item in items:
        if item is None:
            out.append(1)
        elif item == "...":
            take = len(dims) - sum(1 for i in items[items.index(item) + 1:]
                                   if i is not None and i != "...")
            out += dims[:take]
            dims = dims[take:]
        elif isinstance(item, int) or item is RUNTIME:
            if isinstance(item, int):
                _check_int_index(item, dims[0])
            dims = dims[1:]
        elif isinstance(item, slice):
            out.append(_slice_length(dims[0], item))
            dims = dims[1:]
    return tuple(out)


def _check_int_index(index: int, size: Dim) -> None:
    """Raise when an int index is out of range for a known size."""
    if isinstance(size, int) and not -size <= index < size:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"index {index} is out of range for size {size}")


def _slice_length(size: Dim, item: slice) -> Dim:
    """Return how many elements a slice keeps of an axis (unknown size: only if bounds say)."""
    if item.stop is RUNTIME:
        return None
    if isinstance(size, int):
        return len(range(*item.indices(size)))
    start, stop, step = item.start, item.stop, item.step or 1
    if step > 0 and isinstance(start, int) and isinstance(stop, int) and start >= 0 and stop >= 0:
        return max(0, -(-(stop - start) // step))
    if item == slice(None):
        return size
    return None


@op("einsum")
def einsum(call: Call) -> Shape:
    """Einsum by its subscripts: each output letter takes its operand's size; '...' broadcasts."""
    args = raw_args(call)
    args = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    subscripts = setting(call, "subscripts", "equation")
    if args and isinstance(args[0], str):  # tf.einsum(equation, *inputs)
        subscripts, args = args[0], args[1:]
    shapes = [operand(call, v) for v in args]
    if not isinstance(subscripts, str) or not shapes:
        # tf_keras saves tf.einsum without its input tensors: nothing to compute from.
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"einsum {subscripts!r} with no operand recorded")
    inputs, arrow, output = subscripts.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"einsum {subscripts!r} names {len(terms)} "
                                                f"operands, got {len(shapes)}")
    sizes: dict[str, list[Dim]] = {}
    ellipses: list[Shape] = []
    for term, shape in zip(terms, shapes):
        letters = term.replace("...", "")
        rest = len(shape) - len(letters)
        if rest < 0 or (rest and "..." not in term):
            raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"einsum term {term!r} does not fit "
                                                    f"{format_shape(shape)}")
        at = term.find("...")
        dims = list(shape) if at < 0 else [*shape[:at], *shape[at + rest:]]
        ellipses.append(tuple(shape[at:at + rest]) if at >= 0 else ())
        for letter, dim in zip(letters, dims):
            sizes.setdefault(letter, []).append(dim)
    if not arrow:  # implicit output: the letters used once, in alphabetical order
        output = "..." * ("..." in inputs) + "".join(
            sorted(c for c in sizes if inputs.replace("...", "").count(c) == 1))
    known = {c: broadcast_all([(d,) for d in dims], "einsum")[0] for c, dims in sizes.items()}
    broadcast = broadcast_all(ellipses, "einsum")
    head, dots, tail = output.partition("...")
    if not dots:
        return tuple(known.get(c) for c in output)
    return (*(known.get(c) for c in head), *broadcast, *(known.get(c) for c in tail))
