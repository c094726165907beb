"""Correspondence: which ONNX nodes implement each reference layer (by name, else by structure)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from graphcheck.compare import dense, recurrent
from graphcheck.compare.keras_view import KerasOther, KerasRecurrent
from graphcheck.compare.onnx_view import LayerNames, OnnxRecurrent, layer_names
from graphcheck.compare.recurrent import Sides
from graphcheck.compare.report import MISSING, NOT_VERIFIED, Pair
from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.rules.export import ExportMissingLayer, ExportNotVerified

T = TypeVar("T")


def take(free: list[T], *choices: Iterator[T]) -> T | None:
    """Remove from ``free`` and return the first item the first non-empty choice yields, if any."""
    for choice in choices:
        item = next(choice, None)
        if item is not None:
            free.remove(item)
            return item
    return None


def _names(sides: Sides, model: Model) -> LayerNames:
    """Return the reference's layer names as the candidate's node names may carry them."""
    return layer_names(sides.onnx.proto, model.root.name, (layer.name for layer in model.root.layers()))


def calls(model: Model, name: str) -> int:
    """Return how many times a top-level layer is called (a shared layer: once per use)."""
    edges = model.root.graph.in_edges(name, data=True)
    return 1 + max((int(data.get("dst_call", 0) or 0) for _, _, data in edges), default=0)


def match_recurrent(sides: Sides, model: Model, layers: Sequence[KerasRecurrent]) -> list[Pair]:
    """Pair each recurrent layer with its LSTM/GRU/RNN nodes, one per call (or a Loop), and check them."""
    names = _names(sides, model)
    free = sides.view.recurrent()
    owner = {id(n.node): sides.view.owner(n.node, names) for n in free}
    found: dict[str, list[OnnxRecurrent]] = {ref.layer.name: [] for ref in layers}
    uses = [ref for ref in layers for _ in range(calls(model, ref.layer.name))]
    for ref in uses:  # names first, so that structure only decides what names leave open
        node = take(free, (n for n in free if owner[id(n.node)] == ref.layer.name and n.kind is ref.kind))
        found[ref.layer.name] += [node] if node else []
    for ref in uses:
        if uses.count(ref) > len(found[ref.layer.name]):
            node = take(free, (n for n in free if n.kind is ref.kind and owner[id(n.node)] not in found
                               and n.attrs.get("hidden_size") == ref.units))
            found[ref.layer.name] += [node] if node else []
    loops = sides.view.lowered()
    pairs = [_checked(sides, ref, found[ref.layer.name], loops, names) for ref in layers]
    for node in free:
        sides.out.add(ExportMissingLayer, node.name, subject=f"ONNX {node.node.op_type} '{node.name}'",
                      other="reference", detail=(f"no {node.kind.keras} layer of the reference with units="
                                                 f"{node.attrs.get('hidden_size')} is left to pair it with"))
        pairs.append(Pair(reference=None, kind=node.node.op_type, candidate=(node.name,), status=MISSING))
    return pairs


def _checked(sides: Sides, ref: KerasRecurrent, nodes: list[OnnxRecurrent], loops: list[object],
             names: LayerNames) -> Pair:
    """Check one recurrent layer against its nodes; a layer without one is lowered or missing."""
    if not nodes:
        return _unmatched(sides, ref, loops, names)
    start = len(sides.out.findings)
    for node in nodes:
        try:
            recurrent.check(sides, ref, node)
        except LoadError as error:
            sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject, reason=str(error))
    return Pair(reference=ref.layer.name, kind=ref.layer.type, candidate=tuple(n.name for n in nodes),
                status=sides.out.status_since(start))


def _unmatched(sides: Sides, ref: KerasRecurrent, loops: list[Any], names: LayerNames) -> Pair:
    """Report a recurrent layer with no native node: lowered (a note) or missing (an error)."""
    loop = take(loops, (n for n in loops if sides.view.owner(n, names) == ref.layer.name),
                (n for n in loops if sides.view.owner(n, names) is None))
    if loop is not None:
        sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject, reason=(
            f"it was lowered into {loop.op_type} '{loop.name}', whose body graphcheck does not "
            "interpret: its weights, direction and gates are unchecked"))
        return Pair(reference=ref.layer.name, kind=ref.layer.type, candidate=(str(loop.name),),
                    status=NOT_VERIFIED)
    named = sides.view.named_after(ref.layer.name, names)
    # Unrolled into plain ops (Keras unroll=True): an unknown lowering, not a loss, when the
    # ops named after the layer multiply by something (a Transpose alone computes no cell).
    if any(n.op_type in ("MatMul", "Gemm", "Einsum") for n in named):
        ops = sorted({n.op_type for n in named})
        sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject, reason=(
            f"it was lowered into {len(named)} ops named after it ({', '.join(ops)}), not a "
            f"native {ref.kind.onnx} or a loop; graphcheck does not interpret such a lowering"))
        return Pair(reference=ref.layer.name, kind=ref.layer.type,
                    candidate=tuple(str(n.name) for n in named), status=NOT_VERIFIED)
    sides.out.add(ExportMissingLayer, ref.layer.name, subject=ref.subject, other="ONNX model", detail=(
        f"no {ref.kind.onnx} node with hidden_size {ref.units}, no Loop or Scan it could have been "
        "lowered into, and no node named after it"))
    return Pair(reference=ref.layer.name, kind=ref.layer.type, candidate=(), status=MISSING)


def match_dense(sides: Sides, model: Model, layers: Sequence[KerasOther]) -> list[Pair]:
    """Pair each Dense layer with its MatMul(+Add)/Gemm; other layers with weights are notes."""
    names = _names(sides, model)
    free = dense.dense_nodes(sides.view, sides.onnx)
    owner = {id(d): sides.view.owner(d.matmul, names) for d in free}
    pairs = []
    denses = [ref for ref in layers if ref.layer.type == "Dense" and ref.layer.weights]
    found = {ref.layer.name: take(free, (d for d in free if owner[id(d)] == ref.layer.name))
             for ref in denses}
    for ref in denses:
        shape = ref.layer.weights[0].shape if ref.layer.weights else ()
        node = found[ref.layer.name] or take(free, (
            d for d in free if dense.units_of(d, sides.onnx) == shape and owner[id(d)] not in found))
        pairs.append(_dense_pair(sides, ref, node))
    for ref in layers:
        if ref.layer.type != "Dense":
            sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject,
                          reason=f"diff does not compare {ref.layer.type} layers yet")
            pairs.append(Pair(reference=ref.layer.name, kind=ref.layer.type, candidate=(),
                              status=NOT_VERIFIED))
    return pairs


def _dense_pair(sides: Sides, ref: KerasOther, node: dense.OnnxDense | None) -> Pair:
    """Check one Dense layer against its nodes, or report it missing."""
    if node is None:
        sides.out.add(ExportMissingLayer, ref.layer.name, subject=ref.subject, other="ONNX model",
                      detail="no MatMul or Gemm multiplies by a stored weight of its kernel's shape")
        return Pair(reference=ref.layer.name, kind="Dense", candidate=(), status=MISSING)
    start = len(sides.out.findings)
    try:
        dense.check(sides.keras, sides.onnx, sides.view, ref, node, sides.atol, sides.out)
    except LoadError as error:
        sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject, reason=str(error))
    return Pair(reference=ref.layer.name, kind="Dense", candidate=node.names,
                status=sides.out.status_since(start))
