"""Resource limits that keep hostile files from costing unbounded time or memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Every bound graphcheck applies while reading a file; see docs/limits.md."""

    # JSON documents (config.json, model_config, a model .json, keras_metadata.pb): bytes read.
    max_json_bytes: int = 16 * MIB
    # Nesting depth of any JSON document (a Keras config of nested models stays well under 40).
    max_json_depth: int = 100
    # Bytes a zip member may inflate to before it is refused unread (zip bombs).
    max_member_bytes: int = 16 * MIB
    # Members an archive may list (zipfile reads the whole directory into memory).
    max_zip_members: int = 10_000
    # Layers (Keras) or nodes (ONNX) in one graph, nested graphs counted separately.
    max_nodes: int = 100_000
    # Dimensions in one shape, and the largest dimension or size (units, filters) accepted.
    max_rank: int = 32
    max_dim: int = 2**40
    # HDF5 groups and datasets visited while collecting weight shapes.
    max_h5_objects: int = 200_000
    # Bytes of an ONNX model held in memory: everything but the values of its large tensors,
    # which stay in the file (a 1.5 GB model with embedded weights holds a few kilobytes).
    max_onnx_bytes: int = 256 * MIB
    # Entries of each kind in an ONNX file, counted on the wire before protobuf parses it:
    # initializers, value records, attributes, node inputs and outputs, attribute values.
    max_onnx_entries: int = 500_000
    # Subgraphs (If/Loop/Scan bodies) in an ONNX file: onnx's shape inference takes time that
    # grows faster than linearly with their number, so they are bounded on their own.
    max_onnx_graphs: int = 5_000
    # Bytes of Lambda bytecode decoded (never run) to describe what it would do.
    max_code_bytes: int = 1 * MIB
    # Seconds an HDF5-backed file (.h5, .keras) may take to read; HDF5 is C code that a
    # corrupt file can send into an endless loop, so the read runs in a child with a deadline.
    max_read_seconds: int = 20


DEFAULT = Limits()
_CURRENT: ContextVar[Limits] = ContextVar("graphcheck_limits", default=DEFAULT)


def current() -> Limits:
    """Return the limits in force for the file being analysed."""
    return _CURRENT.get()


@contextmanager
def using(limits: Limits) -> Iterator[Limits]:
    """Apply ``limits`` to everything analysed inside the ``with`` block."""
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


def keys() -> tuple[str, ...]:
    """Return the limit names, as the configuration file spells them."""
    return tuple(f.name for f in fields(Limits))


def from_mapping(values: Mapping[str, Any], base: Limits = DEFAULT) -> Limits:
    """Return ``base`` with the given limits replaced; unknown keys and non-positive values raise."""
    unknown = sorted(set(values) - set(keys()))
    if unknown:
        raise ValueError(f"unknown limit {', '.join(unknown)}; known: {', '.join(keys())}")
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"limit {key} must be a positive integer, got {value!r}")
    return replace(base, **values)
