"""Count an ONNX model's nodes from the protobuf wire format, before protobuf parses it into memory."""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from pathlib import Path

# Field numbers from onnx.proto: where nodes, and the graphs that hold nodes, are stored.
GRAPH_IN_MODEL = 7
FUNCTION_IN_MODEL = 25
NODE_IN_GRAPH = 1
NODE_IN_FUNCTION = 7
ATTRIBUTE_IN_NODE = 5
GRAPHS_IN_ATTRIBUTE = frozenset({6, 11})  # g (Loop/Scan/If bodies) and graphs
# Deeper nesting than protobuf itself parses (its recursion limit is 100 messages).
MAX_GRAPH_DEPTH = 64


class _Stop(Exception):
    """Raised to end the scan: enough nodes counted, or bytes protobuf will reject anyway."""


def count_nodes(path: Path, stop_after: int) -> int:
    """Return the nodes of the graph, its subgraphs and local functions; stop at ``stop_after + 1``."""
    if path.stat().st_size == 0:
        return 0
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        scan = _Scan(data, stop_after)
        with contextlib.suppress(_Stop):
            scan.model()
        return scan.count


class _Scan:
    """One pass over a serialized ModelProto that only follows the fields leading to nodes."""

    def __init__(self, data: mmap.mmap, stop_after: int) -> None:
        """Scan ``data`` (memory-mapped: only the pages walked are read)."""
        self.data = data
        self.stop_after = stop_after
        self.count = 0

    def model(self) -> None:
        """Count the nodes of the main graph and of the model's local functions."""
        for number, start, end in self.fields(0, len(self.data)):
            if number == GRAPH_IN_MODEL:
                self.graph(start, end, NODE_IN_GRAPH, 0)
            elif number == FUNCTION_IN_MODEL:
                self.graph(start, end, NODE_IN_FUNCTION, 0)

    def graph(self, start: int, end: int, node_field: int, depth: int) -> None:
        """Count a GraphProto's (or FunctionProto's) nodes and their subgraphs' nodes."""
        if depth > MAX_GRAPH_DEPTH:
            raise _Stop
        for number, node_start, node_end in self.fields(start, end):
            if number != node_field:
                continue
            self.count += 1
            if self.count > self.stop_after:
                raise _Stop
            for field, attr_start, attr_end in self.fields(node_start, node_end):
                if field == ATTRIBUTE_IN_NODE:
                    self.subgraphs(attr_start, attr_end, depth)

    def subgraphs(self, start: int, end: int, depth: int) -> None:
        """Count the nodes of the graphs an AttributeProto holds."""
        for number, graph_start, graph_end in self.fields(start, end):
            if number in GRAPHS_IN_ATTRIBUTE:
                self.graph(graph_start, graph_end, NODE_IN_GRAPH, depth + 1)

    def fields(self, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
        """Yield (field number, start, end) of each length-delimited field in data[pos:end]."""
        while pos < end:
            key, pos = self.varint(pos, end)
            wire = key & 7
            if wire == 2:
                size, pos = self.varint(pos, end)
                if pos + size > end:
                    raise _Stop
                yield key >> 3, pos, pos + size
                pos += size
            elif wire == 0:
                pos = self.varint(pos, end)[1]
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            else:  # groups: not used by onnx.proto
                raise _Stop

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        """Return the varint at ``pos`` and the position after it."""
        value = shift = 0
        while pos < end and shift < 64:
            byte = self.data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, pos
            shift += 7
        raise _Stop
