"""The models' inputs and outputs: each side's shapes (Keras inferred, ONNX declared), compared."""

from __future__ import annotations

from typing import Any

from graphcheck.compare.report import Collector
from graphcheck.graph import Model, Shape, format_shape
from graphcheck.loaders.onnx_graph import value_shape
from graphcheck.rules.export import ExportShapeMismatch
from graphcheck.shapes.propagate import infer

# A model's input shapes and output shapes (None: unknown).
Signature = tuple[list[Shape | None], list[Shape | None]]


def agree(a: Shape | None, b: Shape | None) -> bool:
    """Return True when two shapes can be the same: same rank, equal where both are static."""
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(not isinstance(x, int) or not isinstance(y, int) or x == y
                                    for x, y in zip(a, b))


def keras_signature(model: Model) -> Signature:
    """Return a Keras model's input and output shapes as graphcheck infers them."""
    inference = infer(model)

    def shape(layer: str, tensor: int) -> Shape | None:
        outputs = inference.nodes[layer].outputs() if layer in inference.nodes else ()
        return outputs[tensor] if len(outputs) > tensor else None
    return ([shape(ref.layer, ref.tensor) for ref in model.root.inputs],
            [found for _, found in inference.outputs])


def onnx_signature(proto: Any) -> Signature:
    """Return an ONNX model's declared input (initializers aside) and output shapes."""
    stored = {t.name for t in proto.graph.initializer}
    return ([value_shape(i) for i in proto.graph.input if i.name not in stored],
            [value_shape(o) for o in proto.graph.output])


def compare_signatures(reference: Signature, candidate: Signature, out: Collector) -> None:
    """Report inputs or outputs whose count or shapes differ between the two models."""
    for what, ref, cand in zip(("inputs", "outputs"), reference, candidate):
        if len(ref) != len(cand):
            out.add(ExportShapeMismatch, None, subject=f"the model's {what}", detail=(
                f"the reference has {len(ref)}, the candidate {len(cand)}"))
            continue
        for index, (a, b) in enumerate(zip(ref, cand)):
            if not agree(a, b):
                out.add(ExportShapeMismatch, None, subject=f"the model's {what} #{index}", detail=(
                    f"the reference's is {format_shape(a)}, the candidate's {format_shape(b)}"))
