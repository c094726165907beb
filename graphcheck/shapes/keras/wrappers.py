"""Shape functions for wrappers that apply another layer: TimeDistributed."""

from __future__ import annotations

from dataclasses import replace

from graphcheck.findings import ShapeError
from graphcheck.graph import format_shape
from graphcheck.shapes import Call, LayerShapes, register
from graphcheck.shapes.keras.recurrent import inner_layer, prefixed, run_inner


@register("keras", "TimeDistributed")
def time_distributed(call: Call) -> LayerShapes:
    """TimeDistributed(layer): run the layer on (B, ...) for each of T steps of (B, T, ...)."""
    shape = call.single()
    if len(shape) < 3:
        raise ShapeError("input-rank-mismatch",
                         f"TimeDistributed expects at least rank 3 (batch, timesteps, ...), "
                         f"found ndim={len(shape)}: {format_shape(shape)}")
    inner = inner_layer(call.config.get("layer"), "layer")
    step = run_inner(inner, replace(call, inputs=((shape[0], *shape[2:]),)))
    outputs = tuple(None if out is None else (shape[0], shape[1], *out[1:]) for out in step.outputs)
    return LayerShapes(outputs=outputs, weights=tuple(prefixed(step.weights, "layer", "")))
