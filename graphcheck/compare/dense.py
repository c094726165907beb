"""A Dense layer held against the MatMul (+ Add) or Gemm that implements it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphcheck.compare.keras_view import KerasOther
from graphcheck.compare.onnx_view import OnnxView, attributes
from graphcheck.compare.transforms import close, largest_difference
from graphcheck.compare.values import KerasValues, OnnxValues
from graphcheck.rules.export import ExportSemanticsMismatch, ExportWeightMismatch

# Keras activations and the ONNX op an exporter puts after the Dense's MatMul + Add for them.
ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
                  "elu": "Elu", "selu": "Selu", "softplus": "Softplus", "softsign": "Softsign"}


@dataclass(frozen=True, kw_only=True)
class OnnxDense:
    """A MatMul or Gemm with a stored 2-D weight, and the Add of a stored bias after it."""

    matmul: Any
    weight: str
    transposed: bool  # Gemm transB=1 stores the weight (units, inputs)
    add: Any | None
    bias: str | None

    @property
    def names(self) -> tuple[str, ...]:
        """Return the node names, MatMul first."""
        return tuple(str(n.name) for n in (self.matmul, self.add) if n is not None)

    @property
    def last(self) -> Any:
        """Return the node whose output is the layer's pre-activation output."""
        return self.add if self.add is not None else self.matmul


def dense_nodes(view: OnnxView, values: OnnxValues) -> list[OnnxDense]:
    """Return every MatMul/Gemm whose second input is a stored 2-D tensor, in graph order."""
    found = []
    for node in view.nodes:
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2 or not values.has(node.input[1]):
            continue
        if len(values.tensors[node.input[1]].dims) != 2:
            continue
        transposed = node.op_type == "Gemm" and bool(attributes(node).get("transB", 0))
        if node.op_type == "Gemm" and len(node.input) > 2 and values.has(node.input[2]):
            found.append(OnnxDense(matmul=node, weight=node.input[1], transposed=transposed,
                                   add=None, bias=node.input[2]))
            continue
        add = _bias_add(view, values, node)
        bias = None if add is None else next(i for i in add.input if values.has(i))
        found.append(OnnxDense(matmul=node, weight=node.input[1], transposed=transposed,
                               add=add, bias=bias))
    return found


def _bias_add(view: OnnxView, values: OnnxValues, node: Any) -> Any | None:
    """Return the Add right after ``node`` that adds a stored tensor, if any."""
    readers = view.consumers.get(node.output[0], [])
    if len(readers) == 1 and readers[0].op_type == "Add" and any(values.has(i) for i in readers[0].input):
        return readers[0]
    return None


def units_of(dense: OnnxDense, values: OnnxValues) -> tuple[int, int]:
    """Return (inputs, units) of the stored weight."""
    rows, cols = (int(d) for d in values.tensors[dense.weight].dims)
    return (cols, rows) if dense.transposed else (rows, cols)


def weight_of(dense: OnnxDense, values: OnnxValues) -> Any:
    """Return the stored weight as (inputs, units), untransposing Gemm's transB."""
    weight = values.read(dense.weight)
    return weight.T if dense.transposed else weight


def check(keras: KerasValues, onnx: OnnxValues, view: OnnxView, ref: KerasOther, dense: OnnxDense,
          atol: float, out: Any) -> None:
    """Record the differences between a Dense layer and its nodes."""
    fields = {"subject": ref.subject, "op": dense.matmul.op_type, "node": dense.matmul.name}
    kernel = keras.read(ref.layer, 0)
    weight = weight_of(dense, onnx)
    if not close(weight, kernel, atol):
        cause = ("the kernel is transposed" if close(weight.T, kernel, atol) else
                 f"values differ by up to {largest_difference(weight, kernel):.3g}"
                 if weight.shape == kernel.shape else f"its shape is {weight.shape}, not {kernel.shape}")
        out.add(ExportWeightMismatch, ref.layer.name, **fields, weights="the kernel", cause=cause)
    _bias(keras, onnx, ref, dense, atol, out, fields)
    _activation(view, ref, dense, out, fields)


def _bias(keras: KerasValues, onnx: OnnxValues, ref: KerasOther, dense: OnnxDense, atol: float,
          out: Any, fields: dict[str, str]) -> None:
    """Compare the bias (absent on one side counts as zeros)."""
    import numpy as np

    stored = len(ref.layer.weights or ()) > 1
    bias = keras.read(ref.layer, 1) if stored else None
    actual = onnx.read(dense.bias) if dense.bias else None
    if bias is None and actual is None:
        return
    units = units_of(dense, onnx)[1]
    bias = np.zeros(units) if bias is None else bias
    actual = np.zeros(units) if actual is None else np.broadcast_to(actual, (units,))
    if not close(actual, bias, atol):
        out.add(ExportWeightMismatch, ref.layer.name, **fields, weights="the bias",
                cause=f"values differ by up to {largest_difference(actual, bias):.3g}")


def _activation(view: OnnxView, ref: KerasOther, dense: OnnxDense, out: Any, fields: dict[str, str]) -> None:
    """Check that a Dense with an activation is followed by the ONNX op computing it."""
    activation = ref.layer.config.get("activation", "linear")
    wanted = ACTIVATION_OPS.get(activation) if isinstance(activation, str) else None
    if wanted is None:
        return
    readers = view.consumers.get(dense.last.output[0], [])
    if not any(r.op_type == wanted for r in readers):
        found = ", ".join(sorted(r.op_type for r in readers)) or "nothing"
        out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=(
            f"the layer applies {activation} but its output goes to {found}, not {wanted}"))
