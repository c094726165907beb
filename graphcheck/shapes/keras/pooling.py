"""Shape functions for pooling: Max/Average pooling and their global forms, 1D/2D/3D."""

from __future__ import annotations

from graphcheck.shapes import Call, LayerShapes, register
from graphcheck.shapes.dims import as_tuple
from graphcheck.shapes.keras.conv import spatial_rank, split, window_sizes


@register("keras", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
          "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
def pooling(call: Call) -> LayerShapes:
    """Local pooling: a pool_size window moved by strides (pool_size when None); no weights."""
    rank = spatial_rank(call.layer.type)
    space = split(call, rank)
    pool = as_tuple(call.config.get("pool_size", 2), rank)
    raw = call.config.get("strides")
    strides = pool if raw is None else as_tuple(raw, rank)
    sizes = window_sizes(call, space, pool, strides)
    return LayerShapes(outputs=(space.rebuild(sizes, space.channels),))


@register("keras", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
          "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D")
def global_pooling(call: Call) -> LayerShapes:
    """Global pooling: the spatial axes collapse (to 1 each with keepdims=True)."""
    space = split(call, spatial_rank(call.layer.type))
    if call.config.get("keepdims"):
        return LayerShapes(outputs=(space.rebuild((1,) * len(space.sizes), space.channels),))
    return LayerShapes(outputs=((space.batch, space.channels),))


@register("keras", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
          "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D")
def adaptive_pooling(call: Call) -> LayerShapes:
    """Adaptive pooling: the spatial axes become output_size whatever their input size."""
    rank = spatial_rank(call.layer.type)
    space = split(call, rank)
    return LayerShapes(outputs=(space.rebuild(as_tuple(call.config.get("output_size"), rank),
                                              space.channels),))
