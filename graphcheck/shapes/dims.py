"""Arithmetic on dimensions that may be unknown (None) or symbolic (str)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.limits import current as current_limits
from graphcheck.rule_names import RuleName


def known(dim: Dim) -> int | None:
    """Return the dimension if it is a static int, else None."""
    return dim if isinstance(dim, int) else None


def mul(*dims: Dim) -> Dim:
    """Multiply dimensions; unknown if any factor is."""
    total = 1
    for dim in dims:
        if not isinstance(dim, int):
            return None
        total *= dim
    return total


def add(*dims: Dim) -> Dim:
    """Add dimensions; unknown if any term is."""
    total = 0
    for dim in dims:
        if not isinstance(dim, int):
            return None
        total += dim
    return total


def product(dims: Iterable[Dim]) -> Dim:
    """Multiply an iterable of dimensions."""
    return mul(*dims)


def require_rank(shape: Shape, ranks: Iterable[int], what: str) -> None:
    """Raise input-rank-mismatch unless ``shape`` has one of ``ranks``, with Keras's wording."""
    allowed = tuple(ranks)
    if len(shape) in allowed:
        return
    expected = " or ".join(str(r) for r in allowed)
    message = (
        f"{what} expects input of rank {expected} (ndim={expected}), "
        f"found ndim={len(shape)}: {format_shape(shape)}"
    )
    if len(shape) == max(allowed) + 1:
        message += "; did the batch size go into input_shape? Keras adds the batch dimension itself"
    raise ShapeError(RuleName.INPUT_RANK_MISMATCH, message)


def merge_dim(a: Dim, b: Dim) -> Dim:
    """Combine two dims that must agree, keeping the more specific one."""
    return b if a is None else a


def conv_length(size: Dim, kernel: int, stride: int, padding: str, dilation: int = 1) -> Dim:
    """Return the output length of a convolution or pooling window along one axis."""
    if not isinstance(size, int):
        return None
    if padding == "same":
        return -(-size // stride)
    span = dilation * (kernel - 1) + 1
    return max((size - span) // stride + 1, 0) if padding in ("valid", "causal") else None


def as_tuple(value: object, rank: int) -> tuple[int, ...]:
    """Normalise a Keras int-or-tuple argument (kernel_size, strides) to ``rank`` ints."""
    if isinstance(value, int):
        return (value,) * rank
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return tuple(value)
    raise ShapeError(RuleName.UNREADABLE_MODEL, f"expected an int or {rank} ints, got {value!r}")


def optional_number(config: Mapping[str, object], key: str) -> None:
    """Raise a finding when an optional numeric setting (dropout, ...) is not a number.

    Keras clamps out-of-range rates itself but fails with a TypeError on a string or list.
    """
    value = config.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"is {value!r}, not a number", field=f"config.{key}")


def positive_int(config: Mapping[str, object], key: str) -> int:
    """Read a config value that must be a positive int (units, filters), or raise a finding."""
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"is {value!r}, not a positive integer",
                         field=f"config.{key}")
    if value > current_limits().max_dim:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"is {value}, over the limit of "
                         f"{current_limits().max_dim} (max_dim)", field=f"config.{key}")
    return value


def broadcast(first: Shape, second: Shape, layer_type: str) -> Shape:
    """Combine two non-batch shapes the way Keras's merge layers do (unknown wins over size)."""
    if len(first) < len(second):
        first, second = second, first
    if not second:
        return first
    out: list[Dim] = list(first[: len(first) - len(second)])
    for a, b in zip(first[len(first) - len(second):], second):
        if not isinstance(a, int) or not isinstance(b, int):
            out.append(None)
        elif a == 1 or b == 1 or a == b:
            out.append(b if a == 1 else a)
        else:
            raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                             f"{layer_type} needs inputs of the same shape (or broadcastable by "
                             f"1s), but {a} meets {b}: {format_shape(first)} vs {format_shape(second)} "
                             "without the batch axis")
    return tuple(out)
