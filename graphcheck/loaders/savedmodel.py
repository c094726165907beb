"""tf_keras SavedModel directories, through the small ``keras_metadata.pb`` (no TensorFlow)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.loaders.keras_config import NoWeights, build_model, untuple
from graphcheck.loaders.keras_zip import parse_json, read_json_file

METADATA = "keras_metadata.pb"
# SavedMetadata { repeated SavedObject nodes = 1; }
# SavedObject { int32 node_id = 2; string node_path = 3; string identifier = 4;
#               string metadata = 5; }
NODES, NODE_PATH, METADATA_FIELD = 1, 3, 5


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a protobuf varint at ``pos``; return (value, next position)."""
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise LoadError(f"{METADATA} is truncated or corrupt (bad varint at byte {pos})")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> Iterator[tuple[int, bytes | int]]:
    """Yield (field number, value) of one protobuf message; nested messages stay bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise LoadError(f"{METADATA} is truncated (field {number} runs past the end)")
            yield number, data[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise LoadError(f"{METADATA} is corrupt (wire type {wire} at byte {pos})")


def root_metadata(data: bytes) -> bytes:
    """Return the metadata JSON of the node whose path is ``root``."""
    for number, node in fields(data):
        if number != NODES or not isinstance(node, bytes):
            continue
        values = dict(fields(node))
        if values.get(NODE_PATH) == b"root" and isinstance(values.get(METADATA_FIELD), bytes):
            return bytes(values[METADATA_FIELD])
    raise LoadError(f"{METADATA} has no root node: not a tf_keras SavedModel")


class SavedModelLoader:
    """A SavedModel directory written by tf_keras; weights are in TensorFlow's own format."""

    name = "savedmodel"
    priority = 300
    suffixes: frozenset[str] = frozenset()

    def finds(self, path: Path, head: bytes | None) -> bool | None:
        """Claim no file: a SavedModel is a folder, which ``sniff`` finds."""
        return None

    def sniff(self, path: Path, head: bytes) -> bool:
        """Accept a directory holding keras_metadata.pb (a FIFO or device there: load refuses it)."""
        return path.is_dir() and os.path.lexists(path / METADATA)

    def load(self, path: Path) -> Model:
        """Decode the root metadata and build the graph (weight shapes are not read)."""
        root = untuple(parse_json(root_metadata(read_json_file(path / METADATA)), METADATA))
        graph = build_model(root, NoWeights(), METADATA)
        return Model(path=str(path), format="savedmodel", root=graph, has_weights=False)


LOADER = SavedModelLoader()
