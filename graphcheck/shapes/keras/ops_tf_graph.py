"""TF 2.0-2.3 ``TensorFlowOpLayer``: a TF graph operation (NodeDef) read as the op it computes.

The config holds the operation (``node_def``: ``op``, ``input``, ``attr``) and its constant
inputs by position (``__args__`` after loading, see loaders/keras_nodes.py). Each TF operation
is mapped to the op name of ops.py with its arguments where ops.py reads them, so one shape
function serves TFOpLambda, Keras 3 ops and these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Layer
from graphcheck.op_layers import ARGS_KEY
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, register
from graphcheck.shapes.keras.ops import op_layer

# TF operation type -> op name of ops.py.
TF_OPS = {
    "AddV2": "add", "Add": "add", "Sub": "subtract", "Mul": "multiply", "RealDiv": "divide",
    "Div": "divide", "FloorDiv": "floor_divide", "Maximum": "maximum", "Minimum": "minimum",
    "Pow": "power", "SquaredDifference": "squared_difference", "Equal": "equal",
    "NotEqual": "not_equal", "Greater": "greater", "GreaterEqual": "greater_equal",
    "Less": "less", "LessEqual": "less_equal", "LogicalAnd": "logical_and",
    "LogicalOr": "logical_or", "SelectV2": "where", "Relu": "relu", "Relu6": "relu6",
    "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp", "Log": "log", "Sqrt": "sqrt",
    "Rsqrt": "rsqrt", "Abs": "abs", "Neg": "negative", "Square": "square", "Cast": "cast",
    "Softmax": "softmax", "LogSoftmax": "log_softmax", "Elu": "elu", "Selu": "selu",
    "Softplus": "softplus", "Softsign": "softsign", "Erf": "erf", "Sin": "sin", "Cos": "cos",
    "Floor": "floor", "Ceil": "ceil", "Round": "round", "Sign": "sign",
    "LogicalNot": "logical_not", "Reciprocal": "reciprocal", "StopGradient": "stop_gradient",
    "Identity": "identity", "Mean": "mean", "Sum": "sum", "Max": "max", "Min": "min",
    "Prod": "prod", "Any": "any", "All": "all", "Reshape": "reshape", "Transpose": "transpose",
    "ConcatV2": "concatenate", "ExpandDims": "expand_dims", "Squeeze": "squeeze",
    "MatMul": "matmul", "BatchMatMulV2": "matmul", "BatchMatMul": "matmul",
    "StridedSlice": "getitem", "Pack": "stack", "Tile": "tile", "Pad": "pad", "PadV2": "pad",
    "OneHot": "one_hot", "ArgMax": "argmax", "ArgMin": "argmin",
}
# Ops whose second input is a setting (not an operand), by the name ops.py reads it under.
SECOND_INPUT = {"Reshape": "shape", "Transpose": "perm", "ExpandDims": "axis", "Tile": "multiples",
                "Pad": "paddings", "PadV2": "paddings", "OneHot": "depth", "ArgMax": "axis",
                "ArgMin": "axis", **{r: "axis" for r in ("Mean", "Sum", "Max", "Min", "Prod",
                                                         "Any", "All")}}
# NodeDef attributes that are settings, by the name ops.py reads them under.
ATTRS = {"keep_dims": "keepdims", "squeeze_dims": "axis", "transpose_a": "transpose_a",
         "transpose_b": "transpose_b", "adj_x": "adjoint_a", "adj_y": "adjoint_b"}


def attr_value(value: object) -> object:
    """Decode one NodeDef attribute as protobuf's JSON writes it ({"b": true}, {"i": "1"}, lists)."""
    if not isinstance(value, Mapping):
        return None
    if "b" in value:
        return bool(value["b"])
    if "i" in value:
        return int(value["i"])
    listed = value.get("list")
    if isinstance(listed, Mapping):
        return [int(i) for i in listed.get("i", [])]
    return None


@register("keras", "TensorFlowOpLayer")
def tensorflow_op_layer(call: Call) -> LayerShapes:
    """Translate the operation into the op ops.py knows, and compute its output there."""
    raw_def = call.config.get("node_def")
    node_def: Mapping[str, Any] = raw_def if isinstance(raw_def, Mapping) else {}
    kind = node_def.get("op")
    if not isinstance(kind, str):
        raise ShapeError(RuleName.UNREADABLE_MODEL, "TensorFlowOpLayer has no node_def.op")
    name = TF_OPS.get(kind)
    if name is None:
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"no shape function for TF operation {kind!r}: its "
                                              "output is unknown")
    raw = call.options.get(ARGS_KEY)
    args = list(raw) if isinstance(raw, list) else []
    options: dict[str, Any] = {}
    found = node_def.get("attr")
    attrs: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    for key, setting in ATTRS.items():
        if key in attrs:
            options[setting] = attr_value(attrs[key])
    if kind in SECOND_INPUT and len(args) > 1:
        options[SECOND_INPUT[kind]] = args.pop(1)
    if kind == "ConcatV2" and args:
        options["axis"] = args.pop()
        args = [args]
    elif kind == "Pack":
        options["axis"] = attr_value(attrs.get("axis")) or 0
        args = [args]
    elif kind == "StridedSlice":
        options["slice_spec"] = _slice_spec(args[1:], attrs)
        args = args[:1]
    elif kind == "OneHot":
        options["axis"] = attr_value(attrs.get("axis"))
        args = args[:1]
    options[ARGS_KEY] = args
    layer = Layer(name=call.layer.name, type="TFOpLambda", config={"function": name})
    return op_layer(replace(call, layer=layer, options=options))


def _slice_spec(bounds: list[Any], attrs: Mapping[str, Any]) -> list[object]:
    """Turn StridedSlice's begin/end/strides and masks into index items (int, slice, None, ...)."""
    if len(bounds) != 3 or not all(isinstance(b, list) for b in bounds):
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, "StridedSlice bounds are not constant")
    begin, end, strides = bounds
    masks = {key: _int_attr(attrs, key) for key in (
        "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    items: list[object] = []
    for index, (start, stop, step) in enumerate(zip(begin, end, strides)):
        bit = 1 << index
        if masks["ellipsis_mask"] & bit:
            items.append({"class_name": "__ellipsis__"})
        elif masks["new_axis_mask"] & bit:
            items.append(None)
        elif masks["shrink_axis_mask"] & bit:
            items.append(start)
        else:
            items.append({"start": None if masks["begin_mask"] & bit else start,
                          "stop": None if masks["end_mask"] & bit else stop, "step": step})
    return items


def _int_attr(attrs: Mapping[str, Any], key: str) -> int:
    """Return an integer attribute (a StridedSlice mask), 0 when absent."""
    value = attr_value(attrs.get(key))
    return value if isinstance(value, int) else 0
