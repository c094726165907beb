"""Op layers: calls on functions recorded in a functional graph, with their constant operands.

tf_keras records ``x + y``, ``tf.reshape(x, ...)`` or ``x[:, 1:]`` as ``TFOpLambda`` /
``SlicingOpLambda`` layers whose ``config.function`` names the TF function
(``__operators__.add``, ``math.reduce_mean``); Keras 3 records ``x + 3.0`` or ``keras.ops.mean``
as an Operation (loaded as type ``keras.ops.<Class>``, see ``loaders/keras_nodes.py``). Both are
mapped to one op name here (``add``, ``mean``, ``getitem``) and given one shape function. An
op's positional arguments, constants included, are in ``Call.options[ARGS_KEY]``; its other
arguments are in the options (tf_keras call kwargs) or the config (Keras 3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.op_layers import (
    ARGS_KEY,
    KERAS3_OP_CLASSES,
    KERAS3_OP_PREFIX,
    TENSOR_MARK,
)
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, register
from graphcheck.shapes.dims import product

OpFn = Callable[[Call], Shape]
OPS: dict[str, OpFn] = {}
# One name per op, whatever spelling TF or Keras 3 gives it.
ALIASES = {
    "truediv": "divide", "true_divide": "divide", "div": "divide", "realdiv": "divide",
    "floordiv": "floor_divide", "sub": "subtract", "mul": "multiply", "pow": "power",
    "get_item": "getitem", "reduce_mean": "mean", "reduce_sum": "sum", "reduce_max": "max",
    "reduce_min": "min", "reduce_prod": "prod", "reduce_std": "std", "reduce_variance": "var",
    "reduce_any": "any", "reduce_all": "all", "reduce_logsumexp": "logsumexp",
    "concat": "concatenate", "mat_mul": "matmul", "batch_matmul": "matmul", "neg": "negative",
    "clip_by_value": "clip", "absolute": "abs", "isnan": "is_nan", "isfinite": "is_finite",
}
ELEMENTWISE = ("add", "subtract", "multiply", "divide", "floor_divide", "power", "maximum",
               "minimum", "mod", "floormod", "squared_difference", "equal", "not_equal", "greater",
               "greater_equal", "less", "less_equal", "logical_and", "logical_or", "logical_xor",
               "where", "divide_no_nan", "arctan2", "atan2")
UNARY = ("relu", "relu6", "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt", "abs", "negative",
         "square", "cast", "softmax", "log_softmax", "gelu", "silu", "swish", "hard_sigmoid",
         "hard_swish", "hard_silu", "elu", "selu", "softplus", "softsign", "leaky_relu", "erf",
         "sin", "cos", "floor", "ceil", "round", "sign", "logical_not", "clip", "reciprocal",
         "stop_gradient", "identity", "l2_normalize", "log1p", "expm1", "convert_to_tensor",
         "nan_to_num", "is_nan", "is_finite", "zeros_like", "ones_like", "real", "imag", "conj",
         "log_sigmoid", "celu", "mish", "hard_tanh")
REDUCTIONS = ("mean", "sum", "max", "min", "prod", "std", "var", "any", "all", "logsumexp",
              "amax", "amin")


def op_name(call: Call) -> str:
    """Return the op a layer calls, as one name for tf_keras and Keras 3."""
    layer_type = call.layer.type
    if layer_type.startswith(KERAS3_OP_PREFIX):
        raw = _snake(layer_type[len(KERAS3_OP_PREFIX):])
    else:
        raw = str(call.config.get("function", "")).rsplit(".", 1)[-1]
    return ALIASES.get(raw, raw)


def _snake(name: str) -> str:
    """Turn a Keras 3 op class name into its function name (NotEqual -> not_equal)."""
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out.replace("__", "_")


@register("keras", "TFOpLambda", "SlicingOpLambda",
          *(KERAS3_OP_PREFIX + c for c in KERAS3_OP_CLASSES))
def op_layer(call: Call) -> LayerShapes:
    """Any op layer: look its op up and compute the one output; an unknown op is unsupported."""
    name = op_name(call)
    fn = OPS.get(name)
    if fn is None:
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"no shape function for op {name!r}: its output is "
                                              "unknown (the layers after it use the shape the "
                                              "file records, where it records one)")
    return LayerShapes(outputs=(fn(call),))


def op(*names: str) -> Callable[[OpFn], OpFn]:
    """Register an op shape function under one or more op names."""
    def decorate(fn: OpFn) -> OpFn:
        """Record ``fn`` under every name."""
        for name in names:
            OPS[name] = fn
        return fn
    return decorate


def raw_args(call: Call) -> list[Any]:
    """Return the op's positional arguments as recorded (tensors as index markers)."""
    args = call.options.get(ARGS_KEY)
    return list(args) if isinstance(args, list) else []


def tensor_index(value: object) -> int | None:
    """Return the positional-tensor index a marker stands for, or None for a constant."""
    if isinstance(value, Mapping) and isinstance(value.get(TENSOR_MARK), int):
        return int(value[TENSOR_MARK])
    return None


def operand(call: Call, value: object) -> Shape:
    """Return the shape of one argument: a tensor's propagated shape, or a constant's own."""
    index = tensor_index(value)
    if index is not None:
        if index >= len(call.inputs):
            raise ShapeError(RuleName.UNREADABLE_MODEL, f"argument {index} names no input tensor")
        return call.inputs[index]
    return constant_shape(value)


def constant_shape(value: object) -> Shape:
    """Return the shape of a constant operand: () for a number, nested list lengths otherwise."""
    shape: list[Dim] = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def keyword(call: Call, *names: str) -> tuple[bool, object]:
    """Return (found, value) of a named op argument: a tensor's shape, or the constant's value."""
    for name in names:
        if call.kwargs.get(name):
            return True, call.kwargs[name][0]
        if name in call.options:
            return True, call.options[name]
        if name in call.config:
            return True, call.config[name]
    return False, None


def operands(call: Call, *keywords: str) -> list[Shape]:
    """Return the shapes of every operand: positional ones, then the named keyword ones."""
    shapes = [operand(call, v) for v in raw_args(call)]
    for name in keywords:
        if call.kwargs.get(name):
            shapes.append(call.kwargs[name][0])
        elif name in call.options:
            shapes.append(constant_shape(call.options[name]))
    return shapes


def setting(call: Call, *names: str, default: object = None) -> object:
    """Return a non-tensor op argument from the call (tf_keras) or the config (Keras 3)."""
    found, value = keyword(call, *names)
    if found and isinstance(value, tuple):
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"{names[0]} is a tensor computed at run time: the "
                                              "output shape is unknown")
    return value if found else default


def broadcast_all(shapes: list[Shape], what: str) -> Shape:
    """Broadcast shapes the way NumPy, TF and Keras ops do (a None dim meets n: n)."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for axis in range(rank):
        dims = [s[len(s) - rank + axis] for s in shapes if len(s) - rank + axis >= 0]
        sizes = {d for d in dims if isinstance(d, int) and d != 1}
        if len(sizes) > 1:
            raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                             f"{what} cannot broadcast {', '.join(format_shape(s) for s in shapes)}: "
                             f"sizes {sorted(sizes)} meet on one axis")
        if sizes:
            out.append(sizes.pop())
        else:
            out.append(1 if all(d == 1 for d in dims) else None)
    return tuple(out)


@op(*ELEMENTWISE)
def elementwise(call: Call) -> Shape:
    """Binary (and where's ternary) ops: operands broadcast, constants included."""
    shapes = operands(call, "y", "x", "condition")
    if not shapes:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"{op_name(call)} receives no operand")
    return broadcast_all(shapes, op_name(call))


def listed_operands(call: Call, what: str) -> list[Shape]:
    """Return the operands of an op taking a list (concat, stack, add_n), all of one rank."""
    args = raw_args(call)
    items = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    shapes = [operand(call, v) for v in items] or list(call.inputs)
    if not shapes or any(len(s) != len(shapes[0]) for s in shapes):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"{what} needs operands of one rank, got "
                         + ", ".join(format_shape(s) for s in shapes))
    return shapes


@op("add_n")
def add_n(call: Call) -> Shape:
    """tf.math.add_n: operands of one shape (no broadcasting), summed."""
    shapes = listed_operands(call, "add_n")
    out: list[Dim] = []
    for axis in range(len(shapes[0])):
        sizes = {s[axis] for s in shapes if isinstance(s[axis], int)}
        if len(sizes) > 1:
            raise ShapeError(RuleName.INPUT_DIM_MISMATCH, "add_n needs operands of one shape, got "
                             + ", ".join(format_shape(s) for s in shapes))
        out.append(sizes.pop() if sizes else None)
    return tuple(out)


@op(*UNARY)
def unary(call: Call) -> Shape:
    """Element-wise functions of one tensor (and cast): the shape is unchanged."""
    shapes = operands(call)
    if not shapes:
        return call.single()
    return shapes[0]


def axis_list(value: object, rank: int, what: str) -> list[int] | None:
    """Normalise an axis argument (int, list, None) to sorted non-negative axes; None is all."""
    if value is None:
        return None
    raw = value if isinstance(value, list) else [value]
    items = [a for a in raw if isinstance(a, int) and not isinstance(a, bool)]
    if len(items) != len(raw):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"{what} axis is {value!r}")
    if any(not -rank <= a < rank for a in items):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"{what} axis={value!r} is out of range for rank "
                                                f"{rank}")
    return sorted({a % rank for a in items})


@op(*REDUCTIONS)
def reduction(call: Call) -> Shape:
    """Reductions drop (or, with keepdims, keep as 1) the reduced axes; no axis reduces all."""
    shape = first_operand(call)
    axes = axis_list(setting(call, "axis"), len(shape), op_name(call))
    keep = bool(setting(call, "keepdims", "keep_dims", default=False))
    axes = list(range(len(shape))) if axes is None else axes
    if keep:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def first_operand(call: Call) -> Shape:
    """Return the shape of the op's first operand."""
    shapes = operands(call)
    return shapes[0] if shapes else call.single()


@op("reshape")
def reshape(call: Call) -> Shape:
    """Reshape to the full target shape (batch included); one -1 takes what is left."""
    shape = first_operand(call)
    target = setting(call, "shape", "newshape")
    if not isinstance(target, list) or not all(isinstance(d, int) or d is None for d in target):
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"reshape target {target!r} is not a static shape")
    if target.count(-1) > 1:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"reshape target {target} has more than one -1")
    known = [d for d in target if d not in (-1, None)]
    total, rest = product(shape), product(known)
    if isinstance(total, int) and isinstance(rest, int) and -1 not in target and total != rest:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"cannot reshape {format_shape(shape)} "
                                               f"({total} values) to {target}")
    fill = total // rest if isinstance(total, int) and isinstance(rest, int) and rest else None
    return tuple(fill if d == -1 else d for d in target)


@op("transpose")
def transpose(call: Call) -> Shape:
    """Transpose by perm/axes (reversed when absent)."""
    shape = first_operand(call)
    perm = setting(call, "perm", "axes")
    if perm is None:
        return tuple(reversed(shape))
    if not isinstance(perm, list) or sorted(p % max(len(shape), 1) for p in perm
                                            if isinstance(p, int)) != list(range(len(shape))):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"transpose perm {perm!r} does not fit "
                                                f"{format_shape(shape)}")
    return tuple(shape[p] for p in perm)


@op("concatenate")
def concatenate(call: Call) -> Shape:
    """Concatenate along ``axis``: sizes there add up, every other axis must agree."""
    shapes = listed_operands(call, "concatenate")
    raw = setting(call, "axis", default=0)
    axes = axis_list(raw, len(shapes[0]), "concatenate")
    axis = axes[0] if axes else 0
    out = list(broadcast_all([tuple(1 if i == axis else d for i, d in enumerate(s))
                              for s in shapes], "concatenate"))
    widths = [s[axis] for s in shapes]
    out[axis] = sum(w for w in widths if isinstance(w, int)) if all(
        isinstance(w, int) for w in widths) else None
    return tuple(out)


@op("matmul")
def matmul(call: Call) -> Shape:
    """Matrix product over the last two axes, batch axes broadcast (transpose_a/b honoured)."""
    shapes = operands(call, "b")
    if len(shapes) != 2:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"matmul needs 2 operands, got {len(shapes)}")
    a, b = shapes
    if len(a) < 2 or len(b) < 2:
        return _vector_matmul(a, b)
    if setting(call, "transpose_a", "adjoint_a", default=False):
        a = (*a[:-2], a[-1], a[-2])
    if setting(call, "transpose_b", "adjoint_b", default=False):
        b = (*b[:-2], b[-1], b[-2])
    if isinstance(a[-1], int) and isinstance(b[-2], int) and a[-1] != b[-2]:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"matmul of {format_shape(a)} and {format_shape(b)}:"
                                               f" inner sizes {a[-1]} and {b[-2]} differ")
    batch = broadcast_all([a[:-2], b[:-2]], "matmul")
    return (*batch, a[-2], b[-1])


def _vector_matmul(a: Shape, b: Shape) -> Shape:
    """NumPy matmul with a 1-D operand: the vector's axis is contracted and dropped."""
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return (*b[:-2], b[-1])
    return a[:-1]


@op("expand_dims")
def expand_dims(call: Call) -> Shape:
    """Insert a 1 at ``axis`` (negative counts from the end of the result)."""
    shape = first_operand(call)
    axis = setting(call, "axis", default=0)
    if not isinstance(axis, int) or not -len(shape) - 1 <= axis <= len(shape):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"expand_dims axis={axis!r} is out of range for "
                                                f"{format_shape(shape)}")
    axis %= len(shape) + 1
    return (*shape[:axis], 1, *shape[axis:])


@op("squeeze")
def squeeze(call: Call) -> Shape:
    """Drop the given axes, which must be 1; no axis drops every axis of size 1."""
    shape = first_operand(call)
    axes = axis_list(setting(call, "axis"), len(shape), "squeeze")
    if axes is None:
        return tuple(d for d in shape if d != 1)
    wrong = [shape[a] for a in axes if isinstance(shape[a], int) and shape[a] != 1]
    if wrong:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"squeeze axis {axes} of {format_shape(shape)}: "
                                               f"size {wrong[0]} is not 1")
    return tuple(d for i, d in enumerate(shape) if i not in axes)

