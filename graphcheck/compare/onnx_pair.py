"""ONNX against ONNX (an export before and after an optimiser): the same ops with the same weights.

The reference's recurrent ops are paired with the candidate's by name, else by kind and size
in graph order; attributes must agree and weights must be equal up to what cannot change the
result (how a bias is split between Wb and Rb, except for a ``linear_before_reset`` GRU). The
reference's weights are put in Keras's layout so that the same known mistakes are named.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from graphcheck.compare import dense, weights
from graphcheck.compare.match import take
from graphcheck.compare.onnx_view import OnnxRecurrent, OnnxView
from graphcheck.compare.report import MISSING, Collector, Pair
from graphcheck.compare.transforms import close, largest_difference
from graphcheck.compare.values import OnnxValues
from graphcheck.rules.export import (
    ExportMissingLayer,
    ExportNotVerified,
    ExportSemanticsMismatch,
    ExportShapeMismatch,
    ExportWeightMismatch,
)

# Elementwise activations: one lost or gained changes what the model computes.
ACTIVATIONS = frozenset({"Relu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Elu", "Selu",
                         "LeakyRelu", "HardSigmoid", "Softplus", "Softsign", "Gelu", "HardSwish"})
# Attributes of the recurrent ops and the value an absent one means.
DEFAULTS: dict[str, Any] = {"direction": "forward", "layout": 0, "linear_before_reset": 0,
                            "input_forget": 0, "clip": None, "activations": None}


def compare(ref: OnnxValues, cand: OnnxValues, atol: float, out: Collector) -> list[Pair]:
    """Pair and compare the recurrent ops, then the MatMul/Gemm weights, of two ONNX models."""
    ref_view, cand_view = OnnxView(ref.proto), OnnxView(cand.proto)
    free = cand_view.recurrent()
    pairs = []
    for node in ref_view.recurrent():
        size = node.attrs.get("hidden_size")
        other = take(free, (n for n in free if n.name == node.name and n.kind is node.kind),
                     (n for n in free if n.kind is node.kind and n.attrs.get("hidden_size") == size))
        pairs.append(_recurrent(ref, cand, node, other, atol, out))
    for node in free:
        out.add(ExportMissingLayer, node.name, subject=f"ONNX {node.node.op_type} '{node.name}'",
                other="reference", detail="no op of the reference is left to pair it with")
        pairs.append(Pair(reference=None, kind=node.node.op_type, candidate=(node.name,), status=MISSING))
    pairs += _dense(ref, cand, ref_view, cand_view, atol, out)
    _other_ops(ref_view, cand_view, out)
    return pairs


def _other_ops(ref: OnnxView, cand: OnnxView, out: Collector) -> None:
    """Report ops the two graphs do not have in equal numbers: activations lost, or unchecked changes.

    An optimiser removes Identity ops and folds constants, so most count changes are notes. A
    standard activation gone (or added) with no custom-domain op that could have fused it
    changes what the model computes.
    """
    def counts(view: OnnxView) -> Counter[str]:
        return Counter(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
                       for n in view.nodes)
    before, after = counts(ref), counts(cand)
    changed = sorted(op for op in before | after if before[op] != after[op])
    if not changed:
        return
    said = [f"{op} {before[op]} -> {after[op]}" for op in changed]
    lost = [op for op in changed if op in ACTIVATIONS]
    fusable = any("." in op for op in after)
    if lost and not fusable:
        out.add(ExportSemanticsMismatch, None, subject="the reference graph", op="graph",
                node=cand.name, detail=(f"the candidate has a different number of activations "
                                        f"({', '.join(said)}) and no custom-domain op that could "
                                        "have fused them"))
        return
    out.add(ExportNotVerified, None, subject="the graph outside the paired ops",
            reason=f"op counts differ ({', '.join(said)}); those ops are unchecked")


def _recurrent(ref: OnnxValues, cand: OnnxValues, node: OnnxRecurrent, other: OnnxRecurrent | None,
               atol: float, out: Collector) -> Pair:
    """Compare one recurrent op with its counterpart."""
    subject = f"{node.node.op_type} '{node.name}'"
    if other is None:
        out.add(ExportMissingLayer, node.name, subject=subject, other="candidate",
                detail=f"no {node.node.op_type} with hidden_size {node.attrs.get('hidden_size')}")
        return Pair(reference=node.name, kind=node.node.op_type, candidate=(), status=MISSING)
    start = len(out.findings)
    fields = {"subject": subject, "op": other.node.op_type, "node": other.name}
    if node.attrs.get("hidden_size") != other.attrs.get("hidden_size"):
        out.add(ExportShapeMismatch, node.name, subject=subject, detail=(
            f"hidden_size is {other.attrs.get('hidden_size')} in the candidate, "
            f"{node.attrs.get('hidden_size')} in the reference"))
    elif _attributes(node, other, out, fields):
        _weights(ref, cand, node, other, atol, out, fields)
    return Pair(reference=node.name, kind=node.node.op_type, candidate=(other.name,),
                status=out.status_since(start))


def _attributes(node: OnnxRecurrent, other: OnnxRecurrent, out: Collector, fields: dict[str, str]) -> bool:
    """Report differing attributes and input reversal; return True when the weights are comparable."""
    comparable = True
    for key, default in DEFAULTS.items():
        a, b = node.attrs.get(key, default), other.attrs.get(key, default)
        if a != b:
            out.add(ExportSemanticsMismatch, node.name, **fields,
                    detail=f"{key} is {b!r} in the candidate, {a!r} in the reference")
            comparable = comparable and key != "direction"
    if bool(node.reversed_input) != bool(other.reversed_input):
        where = "candidate" if other.reversed_input else "reference"
        out.add(ExportSemanticsMismatch, node.name, **fields,
                detail=f"only the {where}'s input is reversed by a ReverseSequence")
    return comparable


def _weights(ref: OnnxValues, cand: OnnxValues, node: OnnxRecurrent, other: OnnxRecurrent, atol: float,
             out: Collector, fields: dict[str, str]) -> None:
    """Hold the candidate's W, R, B against the reference's."""
    names, unread = weights.stored(ref, node)
    other_names, other_unread = weights.stored(cand, other)
    if unread or other_unread:
        out.add(ExportNotVerified, node.name, subject=fields["subject"], reason=unread or other_unread)
        return
    units = int(node.attrs.get("hidden_size", 0))
    cells = weights.keras_cells(node.kind, units, weights.arrays(ref, names),
                                bool(node.attrs.get("linear_before_reset", 0)))
    found = weights.causes(node.kind, units, weights.arrays(cand, other_names), cells, atol)
    weights.report(out, node.name, found, fields)


def _dense(ref: OnnxValues, cand: OnnxValues, ref_view: OnnxView, cand_view: OnnxView, atol: float,
           out: Collector) -> list[Pair]:
    """Pair MatMul/Gemm ops by name, else by order and weight shape; compare weight and bias."""
    free = dense.dense_nodes(cand_view, cand)
    pairs = []
    for node in dense.dense_nodes(ref_view, ref):
        shape = dense.units_of(node, ref)
        other = take(free, (d for d in free if d.matmul.name == node.matmul.name),
                     (d for d in free if dense.units_of(d, cand) == shape))
        name = str(node.matmul.name)
        if other is None:
            out.add(ExportMissingLayer, name, subject=f"{node.matmul.op_type} '{name}'", other="candidate",
                    detail=f"no MatMul or Gemm multiplies by a stored {shape[0]} x {shape[1]} weight")
            pairs.append(Pair(reference=name, kind=node.matmul.op_type, candidate=(), status=MISSING))
            continue
        start = len(out.findings)
        _dense_values(ref, cand, node, other, atol, out)
        pairs.append(Pair(reference=name, kind=node.matmul.op_type, candidate=other.names,
                          status=out.status_since(start)))
    return pairs


def _dense_values(ref: OnnxValues, cand: OnnxValues, node: dense.OnnxDense, other: dense.OnnxDense,
                  atol: float, out: Collector) -> None:
    """Compare one MatMul/Gemm's weight and bias with its counterpart's."""
    import numpy as np

    fields = {"subject": f"{node.matmul.op_type} '{node.matmul.name}'", "op": other.matmul.op_type,
              "node": str(other.matmul.name)}
    a, b = dense.weight_of(node, ref), dense.weight_of(other, cand)
    if not close(a, b, atol):
        cause = "the weight is transposed" if close(a.T, b, atol) else (
            f"values differ by up to {largest_difference(a, b):.3g}" if a.shape == b.shape
            else f"its shape is {b.shape}, not {a.shape}")
        out.add(ExportWeightMismatch, str(node.matmul.name), **fields, weights="the weight", cause=cause)
    units = a.shape[1]
    x = ref.read(node.bias) if node.bias else np.zeros(units)
    y = cand.read(other.bias) if other.bias else np.zeros(units)
    if not close(np.broadcast_to(x, (units,)), np.broadcast_to(y, (units,)), atol):
        out.add(ExportWeightMismatch, str(node.matmul.name), **fields, weights="the bias",
                cause=f"values differ by up to {largest_difference(np.broadcast_to(x, (units,)), y):.3g}")
