"""Layers that keras.applications defines and saves: LayerScale, StochasticDepth, CustomScaleLayer."""

from __future__ import annotations

from graphcheck.findings import ShapeError
from graphcheck.graph import format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import broadcast, positive_int


@register("keras", "LayerScale")
def layer_scale(call: Call) -> LayerShapes:
    """ConvNeXt's LayerScale: x * gamma, gamma of shape (projection_dim,)."""
    shape = call.single()
    width = positive_int(call.config, "projection_dim")
    if shape and shape[-1] is not None and shape[-1] != width:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"LayerScale multiplies {format_shape(shape)} by "
                         f"gamma of shape ({width},): the last axis must be {width}")
    return LayerShapes(outputs=(shape,), weights=(WeightSpec(
        name="gamma", path="vars/0", shape=(width,),
        formula=f"(projection_dim,) = ({width},)"),))


@register("keras", "StochasticDepth")
def stochastic_depth(call: Call) -> LayerShapes:
    """ConvNeXt's StochasticDepth: drops whole samples while training; the shape is kept."""
    return LayerShapes(outputs=(call.single(),))


@register("keras", "CustomScaleLayer", "Custom>CustomScaleLayer")
def custom_scale(call: Call) -> LayerShapes:
    """InceptionResNetV2's CustomScaleLayer: inputs[0] + inputs[1] * scale, broadcast."""
    if len(call.inputs) != 2:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"CustomScaleLayer adds exactly 2 inputs, got {len(call.inputs)}")
    first, second = call.inputs
    out = broadcast(first[1:], second[1:], "CustomScaleLayer")
    return LayerShapes(outputs=((first[0] if first[0] is not None else second[0], *out),))
