"""Shape functions for wrappers that apply another layer: TimeDistributed, SpectralNormalization."""

from __future__ import annotations

from dataclasses import replace

from graphcheck.findings import ShapeError
from graphcheck.graph import format_shape, snake_case
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.keras.recurrent import inner_layer, prefixed, run_inner


def sublayer_groups(types: list[str]) -> list[str]:
    """Name the weight groups of a list of sublayers as Keras 3 does: snake_case class, _1, _2..."""
    seen: dict[str, int] = {}
    groups = []
    for layer_type in types:
        base = snake_case(layer_type)
        groups.append(base + (f"_{seen[base]}" if seen.get(base) else ""))
        seen[base] = seen.get(base, 0) + 1
    return groups


@register("keras", "TimeDistributed")
def time_distributed(call: Call) -> LayerShapes:
    """TimeDistributed(layer): run the layer on (B, ...) for each of T steps of (B, T, ...)."""
    shape = call.single()
    if len(shape) < 3:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"TimeDistributed expects at least rank 3 (batch, timesteps, ...), "
                         f"found ndim={len(shape)}: {format_shape(shape)}")
    inner = inner_layer(call.config.get("layer"), "layer")
    step = run_inner(inner, replace(call, inputs=((shape[0], *shape[2:]),)))
    outputs = tuple(None if out is None else (shape[0], shape[1], *out[1:]) for out in step.outputs)
    return LayerShapes(outputs=outputs, weights=tuple(prefixed(step.weights, "layer", "")))


@register("keras", "SpectralNormalization")
def spectral_normalization(call: Call) -> LayerShapes:
    """SpectralNormalization(layer): the layer's shapes, plus vector_u (1, kernel's last axis)."""
    inner = inner_layer(call.config.get("layer"), "layer")
    step = run_inner(inner, call)
    if not step.weights:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"SpectralNormalization wraps {inner.type}, which has "
                         "no kernel nor embeddings to normalize")
    kernel = step.weights[0]
    last = kernel.shape[-1]
    # Keras 3 tracks the wrapped kernel again as the wrapper's own first variable.
    alias = WeightSpec(name="kernel", path="vars/0", shape=kernel.shape,
                       formula=f"the wrapped layer's {kernel.name}, stored again = {kernel.shape}")
    vector = WeightSpec(name="vector_u", path="vars/1", shape=(1, last),
                        formula=f"(1, the wrapped kernel's last axis) = (1, {last})")
    # Legacy .h5 lists each variable once, so there the alias is not stored.
    own = (vector,) if call.layer.weights_match == "order" else (alias, vector)
    return LayerShapes(outputs=step.outputs, weights=(*prefixed(step.weights, "layer", ""), *own))
