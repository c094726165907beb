"""Every ONNX op without a graphcheck function: the shapes onnx's shape inference gave it."""

from __future__ import annotations

from graphcheck.findings import ShapeError
from graphcheck.graph import Shape
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register


def stored_specs(call: Call) -> tuple[WeightSpec, ...]:
    """Accept the initializers a node reads as they are: only recurrent ops imply their shapes."""
    return tuple(WeightSpec(name=w.key, path=w.key, shape=w.shape, formula="initializer")
                 for w in call.layer.weights or ())


def stored_shapes(call: Call) -> tuple[Shape | None, ...]:
    """Return the output shapes the loader recorded from onnx's inference (or the file)."""
    shapes = call.config.get("shapes")
    return tuple(shapes) if isinstance(shapes, list) and shapes else (None,)


@register("onnx", "*")
def inferred(call: Call) -> LayerShapes:
    """Any op: onnx's inferred output shapes; a custom-domain op onnx cannot follow is noted."""
    outputs = stored_shapes(call)
    problems: tuple[ShapeError, ...] = ()
    domain = call.config.get("domain", "ai.onnx")
    if domain not in ("ai.onnx", "ai.onnx.ml") and all(s is None for s in outputs):
        problems = (ShapeError("unsupported-layer", f"{call.layer.type!r} from domain {domain!r} "
                               "has no shape inference: its outputs are unknown downstream"),)
    return LayerShapes(outputs=outputs, weights=stored_specs(call), problems=problems)


@register("onnx", "Output")
def graph_output(call: Call) -> LayerShapes:
    """Pass a graph output's propagated shape through (the recorded one when it has no producer)."""
    if call.inputs:
        return LayerShapes(outputs=(call.inputs[0],))
    return LayerShapes(outputs=stored_shapes(call))
