"""Shape functions for tf_keras's LocallyConnected1D/2D: convolutions without weight sharing."""

from __future__ import annotations

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import as_tuple, mul, positive_int, product
from graphcheck.shapes.keras.conv import spatial_rank, split, window_sizes


def _kernel(implementation: object, sizes: tuple[Dim, ...], out: tuple[Dim, ...],
            kernel: tuple[int, ...], channels: Dim, filters: int, first: bool,
            padding: str) -> tuple[tuple[Dim, ...], str]:
    """Return the kernel shape of each tf_keras implementation (1: dense, 2: masked, 3: sparse)."""
    if implementation == 2:
        if first:
            return (channels, *sizes, filters, *out), "(channels, *input) + (filters, *output)"
        return (*sizes, channels, *out, filters), "(*input, channels) + (*output, filters)"
    if implementation == 3:
        # Only the in-bounds taps are stored; with "valid" padding every tap is in bounds.
        taps = mul(product(out), product(kernel), channels, filters) if padding == "valid" else None
        return (taps,), "one entry per in-bounds (output, tap, channel, filter)"
    return ((product(out), mul(product(kernel), channels), filters),
            "(output positions, kernel taps x channels, filters)")


@register("keras", "LocallyConnected1D", "LocallyConnected2D")
def locally_connected(call: Call) -> LayerShapes:
    """LocallyConnectedND: a window like ConvND, but one kernel per output position."""
    rank = spatial_rank(call.layer.type)
    space = split(call, rank)
    filters = positive_int(call.config, "filters")
    kernel = as_tuple(call.config.get("kernel_size"), rank)
    strides = as_tuple(call.config.get("strides", 1), rank)
    padding = str(call.config.get("padding", "valid")).lower()
    if space.channels is None:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"{call.layer.type} needs a known channel axis, got "
                         f"{format_shape(space.rebuild(space.sizes, None))}")
    out = window_sizes(call, space, kernel, strides)
    first = space.channels_first
    shape, why = _kernel(call.config.get("implementation", 1), space.sizes, out, kernel,
                         space.channels, filters, first, padding)
    specs = [WeightSpec(name="kernel", path="vars/0", shape=shape, formula=f"{why} = "
                        f"{format_shape(shape)}")]
    if call.config.get("use_bias", True):
        bias = (*out, filters)
        specs.append(WeightSpec(name="bias", path="vars/1", shape=bias,
                                formula=f"(*output, filters) = {format_shape(bias)}"))
    return LayerShapes(outputs=(space.rebuild(out, filters),), weights=tuple(specs))
