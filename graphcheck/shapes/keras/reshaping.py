"""Shape functions for reshaping layers: Flatten, Reshape, Permute, RepeatVector, crop/pad/upsample."""

from __future__ import annotations

from dataclasses import replace

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, register
from graphcheck.shapes.dims import add, as_tuple, mul, positive_int, product, require_rank
from graphcheck.shapes.keras.conv import spatial_rank, split


@register("keras", "Flatten")
def flatten(call: Call) -> LayerShapes:
    """Flatten: (B, d1, ..., dn) -> (B, d1*...*dn); a rank-1 input becomes (B, 1)."""
    shape = call.single()
    rest = shape[1:]
    return LayerShapes(outputs=((shape[0], product(rest) if rest else 1),))


def _target(call: Call) -> tuple[int, ...]:
    """Read Reshape's target_shape: ints, at most one of them -1."""
    raw = call.config.get("target_shape")
    if not isinstance(raw, list) or not all(isinstance(d, int) and d >= -1 for d in raw) or (
            raw.count(-1) > 1):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"Reshape target_shape is {raw!r}")
    return tuple(raw)


@register("keras", "Reshape")
def reshape(call: Call) -> LayerShapes:
    """Reshape: the batch stays; -1 takes what is left; the element count must not change."""
    shape = call.single()
    target = _target(call)
    size = product(shape[1:])
    if not isinstance(size, int):
        return LayerShapes(outputs=((shape[0], *(None if d == -1 else d for d in target)),))
    known = product(d for d in target if d != -1)
    assert isinstance(known, int)
    if -1 not in target and known == size:
        return LayerShapes(outputs=((shape[0], *target),))
    if -1 in target and known and size % known == 0:
        return LayerShapes(outputs=((shape[0], *(size // known if d == -1 else d for d in target)),))
    raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                     f"Reshape to {format_shape(target)} needs "
                     f"{'a multiple of ' if -1 in target else ''}{known} elements per sample, "
                     f"but the input {format_shape(shape)} has {size}")


@register("keras", "Permute")
def permute(call: Call) -> LayerShapes:
    """Permute: reorder the non-batch axes; dims are 1-based and must name each axis once."""
    shape = call.single()
    dims = call.config.get("dims")
    if not isinstance(dims, list) or sorted(dims) != list(range(1, len(shape))):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"Permute dims={dims!r} is not a permutation of the axes 1..{len(shape) - 1} "
                         f"of input {format_shape(shape)}")
    return LayerShapes(outputs=((shape[0], *(shape[d] for d in dims)),))


@register("keras", "RepeatVector")
def repeat_vector(call: Call) -> LayerShapes:
    """RepeatVector(n): (B, F) -> (B, n, F)."""
    shape = call.single()
    require_rank(shape, (2,), "RepeatVector")
    return LayerShapes(outputs=((shape[0], positive_int(call.config, "n"), shape[1]),))


def _pairs(value: object, rank: int, key: str) -> list[tuple[int, int]]:
    """Normalise cropping/padding (int, pair, or one pair per axis) to ``rank`` (before, after) pairs."""
    if isinstance(value, int):
        return [(value, value)] * rank
    if isinstance(value, list) and rank == 1 and len(value) == 2 and all(
            isinstance(v, int) for v in value):
        return [(value[0], value[1])]
    if isinstance(value, list) and len(value) == rank:
        pairs = []
        for item in value:
            pair = as_tuple(item, 2)
            pairs.append((pair[0], pair[1]))
        return pairs
    raise ShapeError(RuleName.UNREADABLE_MODEL, f"{key} is {value!r}")


def _resize(call: Call, key: str, sign: int) -> LayerShapes:
    """Crop (sign -1) or pad (sign +1) each spatial axis by its (before, after) amounts."""
    rank = spatial_rank(call.layer.type)
    if rank == 1:
        call = _channels_last(call)
    space = split(call, rank)
    pairs = _pairs(call.config.get(key, 1), rank, key)
    sizes: Shape = tuple(add(n, sign * (a + b)) for n, (a, b) in zip(space.sizes, pairs))
    if any(isinstance(n, int) and n <= 0 for n in sizes):
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"{call.layer.type} {key}={pairs} removes more than the spatial size "
                         f"{format_shape(space.sizes)}")
    return LayerShapes(outputs=(space.rebuild(sizes, space.channels),))


def _channels_last(call: Call) -> Call:
    """1-D cropping, padding and upsampling layers are always channels-last."""
    return replace(call, layer=replace(call.layer, config={**call.config, "data_format": None}))


@register("keras", "Cropping1D", "Cropping2D", "Cropping3D")
def cropping(call: Call) -> LayerShapes:
    """CroppingND: each spatial axis loses (before + after) steps."""
    return _resize(call, "cropping", -1)


@register("keras", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(call: Call) -> LayerShapes:
    """ZeroPaddingND: each spatial axis gains (before + after) steps."""
    return _resize(call, "padding", 1)


@register("keras", "UpSampling1D", "UpSampling2D", "UpSampling3D")
def up_sampling(call: Call) -> LayerShapes:
    """UpSamplingND: each spatial axis is repeated ``size`` times."""
    rank = spatial_rank(call.layer.type)
    if rank == 1:
        call = _channels_last(call)
    space = split(call, rank)
    factors = as_tuple(call.config.get("size", 2), rank)
    sizes: tuple[Dim, ...] = tuple(mul(n, f) for n, f in zip(space.sizes, factors))
    return LayerShapes(outputs=(space.rebuild(sizes, space.channels),))


@register("keras", "Resizing", "CenterCrop")
def resize_image(call: Call) -> LayerShapes:
    """Resizing and CenterCrop: images (B, H, W, C) become (B, height, width, C)."""
    shape = call.single()
    require_rank(shape, (3, 4), call.layer.type)
    size = (positive_int(call.config, "height"), positive_int(call.config, "width"))
    if call.config.get("data_format") == "channels_first":
        return LayerShapes(outputs=((*shape[:-2], *size),))
    return LayerShapes(outputs=((*shape[:-3], *size, shape[-1]),))
