"""Shape functions for normalization layers: BatchNormalization, LayerNormalization and kin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register


def axes_of(config: Mapping[str, Any], shape: Shape, default: int = -1) -> list[int]:
    """Return the config's ``axis`` (int or list) as sorted non-negative axes of ``shape``."""
    raw = config.get("axis", default)
    items = raw if isinstance(raw, list) else [raw]
    axes = []
    for axis in items:
        if isinstance(axis, bool) or not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
            raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                             f"axis={raw!r} is out of range for input {format_shape(shape)}")
        axes.append(axis % len(shape))
    return sorted(axes)


def named_vectors(names: list[str], shape: tuple[Dim, ...], what: str) -> tuple[WeightSpec, ...]:
    """Return one spec per name, all of ``shape``, stored as vars/0, vars/1, ... in that order."""
    return tuple(WeightSpec(name=name, path=f"vars/{index}", shape=shape,
                            formula=f"{what} = {format_shape(shape)}")
                 for index, name in enumerate(names))


@register("keras", "BatchNormalization", "SyncBatchNormalization")
def batch_normalization(call: Call) -> LayerShapes:
    """BatchNormalization: gamma, beta (trainable) and moving mean/variance per axis entry."""
    shape = call.single()
    axes = axes_of(call.config, shape)
    size = tuple(shape[a] for a in axes)
    names = (["gamma"] if call.config.get("scale", True) else []) + (
        ["beta"] if call.config.get("center", True) else []) + ["moving_mean", "moving_variance"]
    return LayerShapes(outputs=(shape,),
                       weights=named_vectors(names, size, f"input size along axis {axes}"))


@register("keras", "LayerNormalization")
def layer_normalization(call: Call) -> LayerShapes:
    """LayerNormalization: gamma and beta shaped like the normalized axes."""
    shape = call.single()
    axes = axes_of(call.config, shape)
    size = tuple(shape[a] for a in axes)
    rms = bool(call.config.get("rms_scaling"))
    names = (["gamma"] if call.config.get("scale", True) or rms else []) + (
        ["beta"] if call.config.get("center", True) and not rms else [])
    return LayerShapes(outputs=(shape,),
                       weights=named_vectors(names, size, f"input size along axis {axes}"))


@register("keras", "GroupNormalization")
def group_normalization(call: Call) -> LayerShapes:
    """GroupNormalization: gamma and beta of the channel size; channels split into groups."""
    shape = call.single()
    axes = axes_of(call.config, shape)
    channels = shape[axes[0]]
    groups = call.config.get("groups", 32)
    if isinstance(channels, int) and isinstance(groups, int) and groups > 0 and channels % groups:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"GroupNormalization groups={groups} does not divide {channels} channels")
    names = (["gamma"] if call.config.get("scale", True) else []) + (
        ["beta"] if call.config.get("center", True) else [])
    return LayerShapes(outputs=(shape,), weights=named_vectors(names, (channels,), "(channels,)"))


@register("keras", "RMSNormalization")
def rms_normalization(call: Call) -> LayerShapes:
    """RMSNormalization: one scale vector over the normalized axes."""
    shape = call.single()
    axes = axes_of(call.config, shape)
    size = tuple(shape[a] for a in axes)
    return LayerShapes(outputs=(shape,),
                       weights=named_vectors(["scale"], size, f"input size along axis {axes}"))
