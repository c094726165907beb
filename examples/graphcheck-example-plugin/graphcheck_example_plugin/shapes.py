"""The shapes of the team's custom layer ``ScaledDense``; importing this module registers them.

``ScaledDense(units)`` is a Dense layer times a learned scalar gain. Its ``build`` adds, in this
order, ``kernel`` (features, units), ``bias`` (units,) and ``gain`` (a scalar), which Keras 3
stores as ``vars/0``, ``vars/1`` and ``vars/2`` of the layer.
"""

from __future__ import annotations

from graphcheck.findings import ShapeError
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register


@register("keras", "ScaledDense")
def scaled_dense(call: Call) -> LayerShapes:
    """ScaledDense acts on the last axis, as Dense: (..., features) -> (..., units)."""
    shape = call.single()
    units = call.config.get("units")
    if type(units) is not int or units <= 0:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"is {units!r}, not a positive integer",
                         field="config.units")
    if len(shape) < 2:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"ScaledDense expects at least rank 2 (batch, features), found {len(shape)}")
    features = shape[-1]
    weights = (WeightSpec(name="kernel", path="vars/0", shape=(features, units),
                          formula=f"(features, units) = ({features}, {units})"),
               WeightSpec(name="bias", path="vars/1", shape=(units,), formula=f"(units,) = ({units},)"),
               WeightSpec(name="gain", path="vars/2", shape=(), formula="a scalar"))
    return LayerShapes(outputs=((*shape[:-1], units),), weights=weights)
