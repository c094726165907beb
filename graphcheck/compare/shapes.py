"""The models' inputs and outputs: the shapes the reference infers against the export's."""

from __future__ import annotations

from typing import Any

from graphcheck.compare.report import Collector
from graphcheck.graph import Model, Shape, format_shape
from graphcheck.loaders.onnx_graph import value_shape
from graphcheck.rules.export import ExportShapeMismatch
from graphcheck.shapes.propagate import infer


def agree(a: Shape | None, b: Shape | None) -> bool:
    """Return True when two shapes can be the same: same rank, equal where both are static."""
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(not isinstance(x, int) or not isinstance(y, int) or x == y
                                    for x, y in zip(a, b))


def check_io(model: Model, proto: Any, out: Collector) -> None:
    """Report model inputs or outputs whose count or shapes differ between the two files."""
    inference = infer(model)
    stored = {t.name for t in proto.graph.initializer}
    onnx_inputs = [value_shape(i) for i in proto.graph.input if i.name not in stored]
    onnx_outputs = [value_shape(o) for o in proto.graph.output]
    keras_inputs = [inference.nodes[ref.layer].outputs()[ref.tensor] if ref.layer in inference.nodes
                    and len(inference.nodes[ref.layer].outputs()) > ref.tensor else None
                    for ref in model.root.inputs]
    keras_outputs = [shape for _, shape in inference.outputs]
    for what, keras, onnx in (("inputs", keras_inputs, onnx_inputs),
                              ("outputs", keras_outputs, onnx_outputs)):
        if len(keras) != len(onnx):
            out.add(ExportShapeMismatch, None, subject=f"the model's {what}", detail=(
                f"the reference has {len(keras)}, the ONNX model {len(onnx)}"))
            continue
        for index, (a, b) in enumerate(zip(keras, onnx)):
            if not agree(a, b):
                out.add(ExportShapeMismatch, None, subject=f"the model's {what} #{index}", detail=(
                    f"the reference's is {format_shape(a)}, the ONNX model's "
                    f"{format_shape(b)}"))
