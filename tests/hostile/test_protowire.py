"""The one protobuf wire reader: agrees with protobuf on real messages, refuses malformed bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from onnx import TensorProto, helper

from graphcheck.findings import LoadError
from graphcheck.loaders import protowire
from graphcheck.loaders.savedmodel import METADATA, root_metadata


def test_records_match_what_protobuf_serialised() -> None:
    """Walking a serialized TensorProto finds its fields and values as protobuf wrote them."""
    tensor = helper.make_tensor("w", TensorProto.FLOAT, [3, 300, 2], [0.5] * 1800)
    data = tensor.SerializeToString()
    found = list(protowire.records(data, 0, len(data)))
    dims = [protowire.varint(data, start, end)[0] for number, wire, _, start, end in found
            if number == 1 and wire == protowire.VARINT]  # onnx.proto is proto2: dims unpacked
    assert dims == [3, 300, 2]
    assert [data[start:end] for number, _, _, start, end in found if number == 8] == [b"w"]
    assert protowire.encode_varint(300) == b"\xac\x02"


def test_packed_varints_are_counted_as_protobuf_reads_them() -> None:
    """A packed dims field (which protobuf accepts for proto2 repeated ints) holds as many dims as counted."""
    payload = b"".join(protowire.encode_varint(d) for d in (3, 300, 2**40))
    data = b"\x0a" + protowire.encode_varint(len(payload)) + payload
    assert list(TensorProto.FromString(data).dims) == [3, 300, 2**40]
    assert protowire.count_varints(data, 2, len(data)) == 3


@pytest.mark.parametrize(("data", "fragment"), [
    (b"\x08\xff\xff", "bad varint at byte 1"),  # a varint cut short
    (b"\x0a\x05abc", "field 1 at byte 0 runs past the end"),  # a length beyond the buffer
    (b"\x0b", "wire type 3 at byte 0"),  # a group, which the schemas read here never use
    (b"\x08" + b"\xff" * 11, "bad varint at byte 1"),  # over 64 bits
])
def test_malformed_bytes_are_refused(data: bytes, fragment: str) -> None:
    """Malformed wire bytes raise Malformed naming where, never IndexError or a hang."""
    with pytest.raises(protowire.Malformed, match=fragment):
        list(protowire.records(data, 0, len(data)))


def test_keras_metadata_errors_come_from_the_shared_reader(tmp_path: Path) -> None:
    """A corrupt keras_metadata.pb is a LoadError carrying the reader's diagnosis."""
    node = b"\x1a\x04root" + b"\x2a\x02{}"  # node_path = "root", metadata = "{}"
    good = b"\x0a" + protowire.encode_varint(len(node)) + node
    assert root_metadata(good) == b"{}"
    with pytest.raises(LoadError, match=f"{METADATA} is truncated or corrupt .field 1 at byte 0"):
        root_metadata(good[:-1])
