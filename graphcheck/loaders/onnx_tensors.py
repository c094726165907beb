"""ONNX tensors beyond their shapes: which are weights, small integer values, what flows where."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphcheck.recurrent_facts import ONNX_STATE_INPUTS

# TensorProto data types that hold learned numbers: floats of every width, and the 8- and
# 4-bit integers of quantized models. int16/int32/int64, bool and strings are indices,
# shapes, masks or labels.
WEIGHT_TYPES = frozenset({1, 2, 3, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23})
INT_TYPES = frozenset({2, 3, 4, 5, 6, 7, 12, 13})
# Small integer tensors (shapes, axes, starts/ends, indices) have their values read; nothing else.
MAX_VALUES = 64
# Ops whose first input's values reach their output unchanged apart from layout: a constant
# initial state goes through these on its way to initial_h/initial_c (tf2onnx: Expand, Unsqueeze).
PASS_THROUGH = frozenset({"Expand", "Tile", "Unsqueeze", "Squeeze", "Reshape", "Identity", "Cast",
                          "CastLike", "Slice", "Gather", "Transpose", "Flatten", "Concat", "Split"})
STATE_ROLES = frozenset(ONNX_STATE_INPUTS)
# Outputs that depend on an input's shape only, never on its values.
SHAPE_ONLY = frozenset({"Shape", "Size", "ConstantOfShape", "EyeLike"})
CONTROL_FLOW = frozenset({"Loop", "Scan", "If"})
# Ops whose first output holds their first input's values (1-D index lists stay 1-D lists).
VALUE_PRESERVING = frozenset({"Identity", "Cast", "Unsqueeze", "Squeeze", "Reshape"})


@dataclass(frozen=True, kw_only=True)
class Tensor:
    """A tensor whose contents the file stores: an initializer or a Constant node's value."""

    id: str
    shape: tuple[int, ...]
    dtype: int
    values: tuple[int, ...] | None = None

    @property
    def is_weight(self) -> bool:
        """Return True for a learned tensor: a float (or quantized) tensor with at least one axis.

        Rank-0 floats are arithmetic constants (the 1.0 in ``1 - z``, an epsilon, a loop bound).
        """
        return self.dtype in WEIGHT_TYPES and len(self.shape) > 0

    @property
    def size(self) -> int:
        """Return the number of elements."""
        return math.prod(self.shape)


# A body input's outer tensor name and scanned axis; and what that name refers to outside.
Feed = tuple[str, int | None]
Source = tuple[tuple[str, int] | None, "Tensor | None", int | None]


def stored_tensor(proto: Any, id_: str) -> Tensor:
    """Describe a TensorProto: dims, type, and its values when it is a small inline integer tensor."""
    shape = tuple(int(d) for d in proto.dims)
    values = None
    if proto.data_type in INT_TYPES and math.prod(shape) <= MAX_VALUES and proto.data_location != 1:
        values = _int_values(proto)
    return Tensor(id=id_, shape=shape, dtype=int(proto.data_type), values=values)


def _int_values(proto: Any) -> tuple[int, ...] | None:
    """Return an integer tensor's values, or None when onnx cannot decode them."""
    from onnx import numpy_helper

    try:
        return tuple(int(v) for v in numpy_helper.to_array(proto).reshape(-1))
    except Exception:  # a malformed tensor: its values stay unknown
        return None


def constant_tensor(node: Any, id_: str) -> Tensor | None:
    """Describe the tensor a Constant node holds (value, value_float(s), value_int(s))."""
    from onnx import AttributeProto, TensorProto

    for attribute in node.attribute:
        if attribute.name == "value" and attribute.type == AttributeProto.TENSOR:
            return stored_tensor(attribute.t, id_)
        if attribute.name == "sparse_value" and attribute.type == AttributeProto.SPARSE_TENSOR:
            dims = tuple(int(d) for d in attribute.sparse_tensor.dims)
            return Tensor(id=id_, shape=dims, dtype=int(attribute.sparse_tensor.values.data_type))
        if attribute.name in ("value_float", "value_floats"):
            count = () if attribute.name == "value_float" else (len(attribute.floats),)
            return Tensor(id=id_, shape=count, dtype=TensorProto.FLOAT)
        if attribute.name in ("value_int", "value_ints"):
            ints = (attribute.i,) if attribute.name == "value_int" else tuple(attribute.ints)
            shape = () if attribute.name == "value_int" else (len(ints),)
            return Tensor(id=id_, shape=shape, dtype=TensorProto.INT64,
                          values=tuple(int(i) for i in ints) if len(ints) <= MAX_VALUES else None)
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Use:
    """One node reading a tensor: the node, its op, the input slot and role, the node's outputs."""

    node: str
    op: str
    slot: int
    role: str | None
    outputs: tuple[str, ...]


@dataclass(kw_only=True)
class Flow:
    """Which node reads which tensor, across the graph and its subgraphs (by tensor id)."""

    uses: dict[str, list[Use]] = field(default_factory=dict)
    # Each node's input tensor ids by slot ("" for an omitted input) and op type.
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ops: dict[str, str] = field(default_factory=dict)
    # Tensors whose values the file fixes (initializers, Constant outputs); others are runtime.
    stored: set[str] = field(default_factory=set)
    producers: dict[str, str] = field(default_factory=dict)
    states: dict[str, bool] = field(default_factory=dict)

    def read(self, node: str, op: str, inputs: Iterable[tuple[str, str | None]],
             outputs: tuple[str, ...]) -> None:
        """Record a node: its input tensor ids with their roles, and its output ids."""
        listed = list(inputs)
        self.inputs[node], self.ops[node] = tuple(t for t, _ in listed), op
        for slot, (tensor, role) in enumerate(listed):
            if tensor:
                self.uses.setdefault(tensor, []).append(
                    Use(node=node, op=op, slot=slot, role=role, outputs=outputs))
        for tensor in outputs:
            self.producers[tensor] = node

    def state_only(self, tensor: str, depth: int = 0) -> bool:
        """Return True when every use of ``tensor`` ends in a recurrent node's initial_h/initial_c."""
        if tensor not in self.states:  # remembered: diamonds of Concats must not multiply the walk
            uses = self.uses.get(tensor, [])
            self.states[tensor] = bool(uses) and depth <= 64 and all(
                use.role in STATE_ROLES or (
                    use.op in PASS_THROUGH and (use.slot == 0 or use.op == "Concat") and use.outputs
                    and all(self.state_only(out, depth + 1) for out in use.outputs)) for use in uses)
        return self.states[tensor]

    def runtime(self, tensor: str, seen: set[str] | None = None) -> bool:
        """Return True when the tensor's values depend on a graph input's values (not just its shape)."""
        if tensor in self.stored:
            return False
        node = self.producers.get(tensor)
        if node is None:  # a graph input, a Loop/Scan body input, or undefined
            return True
        op = self.ops.get(node, "")
        if op in SHAPE_ONLY:
            return False
        if op in CONTROL_FLOW:
            return True
        seen = set() if seen is None else seen
        if node in seen:
            return False
        seen.add(node)
        return any(self.runtime(t, seen) for t in self.inputs.get(node, ()) if t)


def body_feeds(node: Any, attribute: str) -> list[Feed]:
    """Return the outer tensor fed to each body input of a Loop or Scan (and the scanned axis)."""
    if node.op_type == "Loop" and attribute == "body":
        return [("", None), ("", None), *[(name, None) for name in node.input[2:]]]
    if node.op_type != "Scan" or attribute != "body":
        return []
    attrs = {a.name: a for a in node.attribute}
    scanned = attrs["num_scan_inputs"].i if "num_scan_inputs" in attrs else 0
    states = len(node.input) - scanned
    axes = list(attrs["scan_input_axes"].ints) if "scan_input_axes" in attrs else [0] * scanned
    return [(name, None if i < states else (axes[i - states] if i - states < len(axes) else 0))
            for i, name in enumerate(node.input)]


def output_values(node: Any, known: Sequence[tuple[int, ...] | None],
                  constant: Tensor | None) -> tuple[int, ...] | None:
    """Return the small integer values of a node's first output, when the file fixes them.

    ``known`` holds the values known for each input (None when unknown), by slot.
    """
    if constant is not None:
        return constant.values
    if node.op_type in VALUE_PRESERVING and known and known[0] is not None:
        return known[0]
    if node.op_type == "Concat" and known and all(v is not None for v in known):
        return tuple(v for values in known if values is not None for v in values)
    return None
