"""The protobuf wire format, read in place: varints, field records, bounds checked at every step.

One reader for every protobuf graphcheck decodes without a schema: ONNX models
(`onnx_wire`) and tf_keras's ``keras_metadata.pb`` (`savedmodel`). It works on any buffer
indexed by byte (``bytes``, a memory map), so a large file is walked without being read whole.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator

Buffer = bytes | bytearray | memoryview | mmap.mmap
# (field number, wire type, record start, value start, value end): the record's bytes are
# data[record:end]; a length-delimited value's bytes are data[start:end].
Record = tuple[int, int, int, int, int]
VARINT, FIXED64, DELIMITED, FIXED32 = 0, 1, 2, 5
# Bytes with the high bit set continue a varint; every other byte ends one.
CONTINUED = bytes(range(0x80, 0x100))


class Malformed(ValueError):
    """The bytes are not a well-formed protobuf message (truncated, bad varint, group wire type)."""


def varint(data: Buffer, pos: int, end: int) -> tuple[int, int]:
    """Return the varint at ``pos`` and the position after it; stop at ``end``."""
    value = shift = 0
    start = pos
    while pos < end and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise Malformed(f"bad varint at byte {start}")


def records(data: Buffer, pos: int, end: int) -> Iterator[Record]:
    """Yield each field record of the message in data[pos:end]; nothing is copied."""
    while pos < end:
        record = pos
        key = data[pos]
        if key < 0x80:  # one-byte keys and lengths are the common case: no call for them
            pos += 1
        else:
            key, pos = varint(data, pos, end)
        wire, start = key & 7, pos
        if wire == DELIMITED:
            size = data[pos] if pos < end else 0x80
            if size < 0x80:
                start = pos + 1
            else:
                size, start = varint(data, pos, end)
            pos = start + size
        elif wire == VARINT:
            pos = varint(data, pos, end)[1]
        elif wire in (FIXED64, FIXED32):
            pos += 8 if wire == FIXED64 else 4
        else:  # groups (3, 4) are not used by the schemas read here; 6 and 7 do not exist
            raise Malformed(f"wire type {wire} at byte {record}")
        if pos > end:
            raise Malformed(f"field {key >> 3} at byte {record} runs past the end")
        yield key >> 3, wire, record, start, pos


def fields(data: Buffer, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    """Yield (field number, start, end) of each length-delimited field in data[pos:end]."""
    for number, wire, _, start, stop in records(data, pos, end):
        if wire == DELIMITED:
            yield number, start, stop


def count_varints(data: Buffer, start: int, end: int) -> int:
    """Return how many varints a packed repeated field's bytes data[start:end] hold (C speed)."""
    return len(bytes(data[start:end]).translate(None, CONTINUED))


def encode_varint(value: int) -> bytes:
    """Encode a protobuf varint."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_field(number: int, payload: bytes | bytearray) -> bytes:
    """Encode one length-delimited field: its key, its length, its bytes."""
    return encode_varint(number << 3 | DELIMITED) + encode_varint(len(payload)) + payload
