"""Shape functions for convolutions: Conv, ConvTranspose, SeparableConv and DepthwiseConv 1D/2D/3D."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import as_tuple, conv_length, positive_int, require_rank


@dataclass(frozen=True, kw_only=True)
class Spatial:
    """An image-like input split into batch, spatial dims and channels, by data_format."""

    batch: Dim
    sizes: Shape
    channels: Dim
    channels_first: bool

    def rebuild(self, sizes: Shape, channels: Dim) -> Shape:
        """Return a shape with new spatial sizes and channels, in the same data_format."""
        if self.channels_first:
            return (self.batch, channels, *sizes)
        return (self.batch, *sizes, channels)


def spatial_rank(layer_type: str) -> int:
    """Return the number of spatial axes a layer class works on (``Conv2DTranspose`` -> 2)."""
    found = re.search(r"(\d)D", layer_type)
    if found is None:
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"cannot tell the spatial rank of {layer_type!r}")
    return int(found.group(1))


def split(call: Call, rank: int) -> Spatial:
    """Split the single input of a ``rank``-D spatial layer, checking its rank."""
    shape = call.single()
    require_rank(shape, (rank + 2,), call.layer.type)
    if call.config.get("data_format") == "channels_first":
        return Spatial(batch=shape[0], sizes=shape[2:], channels=shape[1], channels_first=True)
    return Spatial(batch=shape[0], sizes=shape[1:-1], channels=shape[-1], channels_first=False)


def window_sizes(call: Call, space: Spatial, kernel: tuple[int, ...], strides: tuple[int, ...],
                 dilation: tuple[int, ...] | None = None) -> Shape:
    """Return output sizes of a sliding window; Keras refuses an empty output."""
    padding = str(call.config.get("padding", "valid")).lower()
    # causal padding pads dilation*(k-1) steps on the left, so the length is that of "same".
    padding = "same" if padding == "causal" else padding
    dilation = dilation or (1,) * len(kernel)
    sizes = tuple(conv_length(n, k, s, padding, d)
                  for n, k, s, d in zip(space.sizes, kernel, strides, dilation))
    if any(isinstance(n, int) and n <= 0 for n in sizes):
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"{call.layer.type} with window {kernel}, strides {strides} and "
                         f"padding={padding!r} on spatial size {format_shape(space.sizes)} "
                         f"gives an empty output {format_shape(sizes)}")
    return sizes


def _options(config: Mapping[str, Any], rank: int) -> tuple[tuple[int, ...], ...]:
    """Return kernel_size, strides and dilation_rate as tuples of ``rank`` ints."""
    return (as_tuple(config.get("kernel_size"), rank), as_tuple(config.get("strides", 1), rank),
            as_tuple(config.get("dilation_rate", 1), rank))


def bias(config: Mapping[str, Any], size: Dim, what: str, path: str) -> list[WeightSpec]:
    """Return the bias spec when use_bias is on."""
    if not config.get("use_bias", True):
        return []
    return [WeightSpec(name="bias", path=path, shape=(size,), formula=f"({what},) = ({size},)")]


@register("keras", "Conv1D", "Conv2D", "Conv3D")
def conv(call: Call) -> LayerShapes:
    """ConvND: kernel kernel_size + (channels/groups, filters); spatial sizes shrink by padding."""
    rank = spatial_rank(call.layer.type)
    space = split(call, rank)
    filters = positive_int(call.config, "filters")
    kernel, strides, dilation = _options(call.config, rank)
    groups = call.config.get("groups", 1)
    groups = groups if isinstance(groups, int) and groups > 0 else 1
    per_group = space.channels // groups if isinstance(space.channels, int) else None
    if isinstance(space.channels, int) and space.channels % groups:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"{space.channels} input channels cannot be split "
                                               f"into groups={groups}")
    sizes = window_sizes(call, space, kernel, strides, dilation)
    grouped = f"channels/groups = {space.channels}/{groups}" if groups > 1 else f"{space.channels}"
    weights = [WeightSpec(name="kernel", path="vars/0", shape=(*kernel, per_group, filters),
                          formula=f"kernel_size + (channels, filters) = {kernel} + "
                                  f"({grouped}, {filters})")]
    weights += bias(call.config, filters, "filters", "vars/1")
    return LayerShapes(outputs=(space.rebuild(sizes, filters),), weights=tuple(weights))


def transposed_length(size: Dim, kernel: int, stride: int, padding: str, dilation: int,
                      output_padding: int | None) -> Dim:
    """Return a transposed convolution's output length, as Keras computes it."""
    if not isinstance(size, int):
        return None
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (size - 1) * stride + span + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + span % 2 + output_padding


@register("keras", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(call: Call) -> LayerShapes:
    """ConvNDTranspose: kernel kernel_size + (filters, channels); spatial sizes grow by strides."""
    rank = spatial_rank(call.layer.type)
    space = split(call, rank)
    filters = positive_int(call.config, "filters")
    kernel, strides, dilation = _options(call.config, rank)
    raw = call.config.get("output_padding")
    extra: tuple[int | None, ...] = (None,) * rank if raw is None else as_tuple(raw, rank)
    padding = str(call.config.get("padding", "valid")).lower()
    sizes = tuple(transposed_length(n, k, s, padding, d, p)
                  for n, k, s, d, p in zip(space.sizes, kernel, strides, dilation, extra))
    weights = [WeightSpec(name="kernel", path="vars/0", shape=(*kernel, filters, space.channels),
                          formula=f"kernel_size + (filters, channels) = {kernel} + "
                                  f"({filters}, {space.channels})")]
    weights += bias(call.config, filters, "filters", "vars/1")
    return LayerShapes(outputs=(space.rebuild(sizes, filters),), weights=tuple(weights))


@register("keras", "SeparableConv1D", "SeparableConv2D")
def separable_conv(call: Call) -> LayerShapes:
    """SeparableConvND: a depthwise kernel per channel, then a 1x1 pointwise kernel to filters."""
    rank = spatial_rank(call.layer.type)
    space = split(call, rank)
    filters = positive_int(call.config, "filters")
    multiplier = positive_int({"depth_multiplier": call.config.get("depth_multiplier", 1)},
                              "depth_multiplier")
    kernel, strides, dilation = _options(call.config, rank)
    sizes = window_sizes(call, space, kernel, strides, dilation)
    mid = space.channels * multiplier if isinstance(space.channels, int) else None
    weights = [
        WeightSpec(name="depthwise_kernel", path="vars/0",
                   shape=(*kernel, space.channels, multiplier),
                   formula=f"kernel_size + (channels, depth_multiplier) = {kernel} + "
                           f"({space.channels}, {multiplier})"),
        WeightSpec(name="pointwise_kernel", path="vars/1", shape=(*(1,) * rank, mid, filters),
                   formula=f"{(1,) * rank} + (channels*depth_multiplier, filters) = "
                           f"{(1,) * rank} + ({space.channels}*{multiplier}, {filters})"),
    ]
    weights += bias(call.config, filters, "filters", "vars/2")
    return LayerShapes(outputs=(space.rebuild(sizes, filters),), weights=tuple(weights))


@register("keras", "DepthwiseConv1D", "DepthwiseConv2D")
def depthwise_conv(call: Call) -> LayerShapes:
    """DepthwiseConvND: one kernel per input channel, channels x depth_multiplier outputs."""
    rank = spatial_rank(call.layer.type)
    space = split(call, rank)
    multiplier = positive_int({"depth_multiplier": call.config.get("depth_multiplier", 1)},
                              "depth_multiplier")
    kernel, strides, dilation = _options(call.config, rank)
    sizes = window_sizes(call, space, kernel, strides, dilation)
    out = space.channels * multiplier if isinstance(space.channels, int) else None
    weights = [WeightSpec(name="kernel", path="vars/0", shape=(*kernel, space.channels, multiplier),
                          formula=f"kernel_size + (channels, depth_multiplier) = {kernel} + "
                                  f"({space.channels}, {multiplier})")]
    weights += bias(call.config, out, "channels*depth_multiplier", "vars/1")
    return LayerShapes(outputs=(space.rebuild(sizes, out),), weights=tuple(weights))
