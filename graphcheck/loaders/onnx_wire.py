"""Read an ONNX model's protobuf wire format in place: count its nodes, copy it without weight bytes.

The file is memory-mapped and walked field by field; only the pages walked are read. Shape
inference needs each tensor's dims and type, never its values, so the copy handed to
protobuf leaves large tensors' data in the file: a 1.5 GB model parses as a few kilobytes.
While copying, every repeated field an attacker could inflate is counted against the limits,
before protobuf would build one message of it.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from pathlib import Path

from graphcheck.limits import Limits
from graphcheck.limits import current as current_limits
from graphcheck.loaders import protowire

# Field numbers from onnx.proto: where nodes, and the graphs that hold nodes, are stored.
GRAPH_IN_MODEL = 7
FUNCTION_IN_MODEL = 25
NODE_IN_GRAPH = 1
NODE_IN_FUNCTION = 7
ATTRIBUTE_IN_NODE = 5
GRAPHS_IN_ATTRIBUTE = frozenset({6, 11})  # g (Loop/Scan/If bodies) and graphs
# Deeper nesting than protobuf itself parses (its recursion limit is 100 messages).
MAX_GRAPH_DEPTH = 64
# Records the node count may visit per node it may count: a node has a few (inputs, outputs,
# op_type, attributes), its graph a few more (initializers, value_info). A file of millions of
# other records ends the count early; the copy's own counts then refuse it (max_onnx_entries).
RECORDS_PER_NODE = 16


class _Stop(Exception):
    """Raised to end the scan: enough nodes counted, or bytes protobuf will reject anyway."""


def count_nodes(path: Path, stop_after: int) -> int:
    """Return the nodes of the graph, its subgraphs and local functions; stop at ``stop_after + 1``."""
    if path.stat().st_size == 0:
        return 0
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        scan = _Scan(data, stop_after)
        with contextlib.suppress(_Stop, protowire.Malformed):
            scan.model()
        return scan.count


class _Scan:
    """One pass over a serialized ModelProto that only follows the fields leading to nodes."""

    def __init__(self, data: mmap.mmap, stop_after: int) -> None:
        """Scan ``data`` (memory-mapped: only the pages walked are read)."""
        self.data = data
        self.stop_after = stop_after
        self.count = 0
        self.visits = RECORDS_PER_NODE * stop_after + 1000

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
        """Yield (field number, start, end) of each length-delimited field in data[pos:end].

        Every record walked past counts against the scan's visits: a hostile file cannot make
        the count walk a billion records that are not nodes.
        """
        for number, wire, _, start, stop in self.records(pos, end):
            self.visits -= 1
            if self.visits < 0:
                raise _Stop
            if wire == protowire.DELIMITED:
                yield number, start, stop

    def records(self, pos: int, end: int) -> Iterator[protowire.Record]:
        """Yield (field number, wire type, record start, value start, value end) of each field."""
        return protowire.records(self.data, pos, end)


# Which fields of each message hold messages that may hold tensors or counted entries (onnx.proto).
(MODEL, GRAPH, FUNCTION, TRAINING, NODE, ATTRIBUTE, SPARSE, TENSOR, VALUE, TYPE, TENSOR_TYPE,
 ELEMENT_TYPE, MAP, SHAPE) = range(14)
CHILDREN: dict[int, dict[int, int]] = {
    MODEL: {7: GRAPH, 20: TRAINING, 25: FUNCTION},
    TRAINING: {1: GRAPH, 2: GRAPH},
    GRAPH: {1: NODE, 5: TENSOR, 11: VALUE, 12: VALUE, 13: VALUE, 15: SPARSE},
    FUNCTION: {7: NODE, 11: ATTRIBUTE, 12: VALUE},
    NODE: {5: ATTRIBUTE},
    ATTRIBUTE: {5: TENSOR, 6: GRAPH, 10: TENSOR, 11: GRAPH, 14: TYPE, 15: TYPE, 22: SPARSE,
                23: SPARSE},
    SPARSE: {1: TENSOR, 2: TENSOR},
    VALUE: {2: TYPE},
    # TypeProto: tensor, sequence, map, sparse tensor, optional; their element types, shapes.
    TYPE: {1: TENSOR_TYPE, 4: ELEMENT_TYPE, 5: MAP, 8: TENSOR_TYPE, 9: ELEMENT_TYPE},
    TENSOR_TYPE: {2: SHAPE},
    ELEMENT_TYPE: {1: TYPE},
    MAP: {2: TYPE},
}
VALUES = "value_info records (graph inputs and outputs included)"
NAMES = "node input and output names"
LISTS = "values in list attributes (ints, floats, strings, tensors)"
NODES = "nodes (Loop/Scan/If bodies and functions included)"
GRAPHS = "subgraphs (If/Loop/Scan bodies and other graph attributes)"
ENTRIES = ("other entries (opset imports, functions, metadata_props, external_data, annotations, "
           "bindings)")
# Repeated fields whose entries are counted before protobuf builds them: (what, encoding).
# "dims" are counted per message against max_rank; the others over the whole file against
# LIMIT_KEYS (nodes again, should the node count have ended early), else max_onnx_entries.
# Scalars may be packed: a varint or fixed32 per entry inside one field.
COUNTED: dict[int, dict[int, tuple[str, str]]] = {
    MODEL: {8: (ENTRIES, ""), 14: (ENTRIES, ""), 20: (ENTRIES, ""), 25: (ENTRIES, ""),
            26: (ENTRIES, "")},
    TRAINING: {3: (ENTRIES, ""), 4: (ENTRIES, "")},
    GRAPH: {1: (NODES, ""), 5: ("initializers", ""), 15: ("initializers", ""), 11: (VALUES, ""),
            12: (VALUES, ""), 13: (VALUES, ""), 14: (ENTRIES, ""), 16: (ENTRIES, "")},
    FUNCTION: {7: (NODES, ""), 4: (NAMES, ""), 5: (NAMES, ""), 6: (NAMES, ""), 9: (ENTRIES, ""),
               11: ("attributes", ""), 12: (VALUES, ""), 14: (ENTRIES, "")},
    NODE: {1: (NAMES, ""), 2: (NAMES, ""), 5: ("attributes", ""), 9: (ENTRIES, ""),
           10: (ENTRIES, "")},
    VALUE: {4: (ENTRIES, "")},
    ATTRIBUTE: {6: (GRAPHS, ""), 7: (LISTS, "fixed32"), 8: (LISTS, "varint"), 9: (LISTS, ""),
                10: (LISTS, ""), 11: (GRAPHS, ""), 15: (LISTS, ""), 23: (LISTS, "")},
    TENSOR: {1: ("dims", "varint"), 13: (ENTRIES, ""), 16: (ENTRIES, "")},
    SPARSE: {3: ("dims", "varint")},
    SHAPE: {1: ("dims", "")},
}
LIMIT_KEYS = {NODES: "max_nodes", GRAPHS: "max_onnx_graphs"}
# Protobuf refuses messages nested deeper than this (If/Loop bodies nest three messages a level).
MAX_MESSAGE_DEPTH = 100
# TensorProto's value fields: float, int32, string, int64, raw, double and uint64 data.
TENSOR_DATA = frozenset({4, 5, 6, 7, 9, 10, 11})
# Tensors up to this many data bytes keep their values: shape inference reads small constants
# (Reshape's shape, Slice's starts); weights are larger and only their dims matter.
KEPT_TENSOR_BYTES = 4096


class Unreadable(Exception):
    """The bytes are not a well-formed protobuf message."""


class TooLarge(Exception):
    """The copy without tensor data grows past the limit."""


class OverLimit(Exception):
    """A count or a nesting depth read on the wire is over its limit; the message says which."""


def without_tensor_data(path: Path, limit: int, limits: Limits | None = None) -> bytes:
    """Return the serialized ModelProto without the values of tensors over KEPT_TENSOR_BYTES.

    Counted fields are checked against ``limits`` (the current ones by default) on the way.
    """
    if path.stat().st_size == 0:
        return b""
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        copy = _Copy(data, limit, limits or current_limits())
        try:
            return bytes(copy.message(MODEL, 0, len(data), 0))
        except protowire.Malformed:
            raise Unreadable("the protobuf wire format is malformed or truncated") from None


class _Copy(_Scan):
    """Rebuilds a message from its fields, recursing where tensors can be, dropping their data."""

    def __init__(self, data: mmap.mmap, limit: int, limits: Limits) -> None:
        """Copy from ``data``; raise TooLarge once more than ``limit`` bytes are kept."""
        super().__init__(data, 0)
        self.limit = limit
        self.kept = 0
        self.limits = limits
        self.counts: dict[str, int] = {}

    def message(self, kind: int, start: int, end: int, depth: int) -> bytearray:
        """Return the bytes of the message in data[start:end], rebuilt without large tensor data."""
        if depth >= MAX_MESSAGE_DEPTH:
            raise OverLimit(f"the model nests messages over {MAX_MESSAGE_DEPTH} deep (If/Loop/Scan "
                            "bodies inside each other, or nested types), deeper than protobuf reads; "
                            "a fixed bound")
        children, counted = CHILDREN.get(kind, {}), COUNTED.get(kind, {})
        if not children and not counted:  # nothing inside to drop or to count
            self.keep(end - start)
            return bytearray(self.data[start:end])
        drop = (kind == TENSOR and end - start > KEPT_TENSOR_BYTES
                and self.data_bytes(start, end) > KEPT_TENSOR_BYTES)
        out, rank = bytearray(), 0
        for number, wire, record, value, stop in self.records(start, end):
            if number in counted:
                rank += self.tally(counted[number], wire, value, stop, rank)
            if drop and number in TENSOR_DATA:
                continue
            if wire == 2 and number in children:
                inner = self.message(children[number], value, stop, depth + 1)
                # Unchanged (nothing dropped inside): the record's own bytes, key and length too.
                same = len(inner) == stop - value
                out += self.data[record:stop] if same else protowire.encode_field(number, inner)
            else:
                self.keep(stop - record)
                out += self.data[record:stop]
        return out

    def tally(self, what: tuple[str, str], wire: int, start: int, end: int, rank: int) -> int:
        """Count one record's entries; return how many dims it adds to its message's rank."""
        name, encoding = what
        if name == "dims":
            limit = self.limits.max_rank
            entries = self.entries(encoding, wire, start, end, limit - rank)
            if entries < 0 or rank + entries > limit:
                raise OverLimit(f"a tensor or shape in the model has more than {limit} dimensions, "
                                "over the limit (max_rank), counted before parsing")
            return entries
        key = LIMIT_KEYS.get(name, "max_onnx_entries")
        limit = getattr(self.limits, key)
        total = self.counts.get(name, 0)
        entries = self.entries(encoding, wire, start, end, limit - total)
        self.counts[name] = total + entries
        if entries < 0 or total + entries > limit:
            raise OverLimit(f"the model has more than {limit} {name}, over the limit ({key}), "
                            "counted before parsing")
        return 0

    def entries(self, encoding: str, wire: int, start: int, end: int, room: int) -> int:
        """Return the entries in one record: 1, or those packed in it; -1 when surely over ``room``."""
        if wire != protowire.DELIMITED or not encoding:
            return 1
        if encoding == "fixed32":
            return (end - start) // 4
        if (end - start) // 10 > room:  # a varint takes at most ten bytes: no need to look
            return -1
        return protowire.count_varints(self.data, start, end)

    def data_bytes(self, start: int, end: int) -> int:
        """Return how many bytes a TensorProto's value fields take in the file, keys included."""
        return sum(stop - record for number, _, record, _, stop in self.records(start, end)
                   if number in TENSOR_DATA)

    def keep(self, size: int) -> None:
        """Count bytes copied, refusing to hold more than the limit."""
        self.kept += size
        if self.kept > self.limit:
            raise TooLarge(self.kept)
