"""Fuzzing: mutants of the fixtures (bytes, config.json edits, ONNX proto edits) never break graphcheck.

Every mutant must give findings that render as JSON, no exception, an untouched file and no
``internal-error`` finding at all (an unexpected exception in a loader, shape function or rule is
a bug even though the engine turns it into a finding). ``GRAPHCHECK_FUZZ_STRICT=0`` relaxes that
to the issue's bare contract (only the Keras loaders must not fail), for hunting other failures
first. The suite runs a derandomized few thousand mutants; ``GRAPHCHECK_FUZZ_SCALE`` sets a long
local run (docs/fuzzing.md).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphcheck.engine import check_path
from graphcheck.explanations.build import build
from graphcheck.reporters import RenderOptions, reporters

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SCALE = float(os.environ.get("GRAPHCHECK_FUZZ_SCALE", "1"))
STRICT = os.environ.get("GRAPHCHECK_FUZZ_STRICT", "1") != "0"
SEEDS = {
    "bytes": ["keras/question.keras", "keras/question.h5", "keras/question.json",
              "tf_keras/encoder_decoder.h5", "onnx/torch_lstm.onnx", "onnx/keras_gru.onnx",
              "hostile/lambda_tf_keras.h5"],
    "keras": ["keras/question.keras", "keras/functional.keras", "tf_keras/question.keras",
              "hostile/module_os_system.keras"],
    "onnx": ["onnx/torch_lstm.onnx", "onnx/torch_gru_bi.onnx", "onnx/keras_lstm.onnx",
             "onnx/keras_gru.onnx"],
}
HOSTILE_VALUES = st.one_of(
    st.integers(-3, 70), st.sampled_from([10**30, 2**63, -(2**31), 1e300, float("nan"), 0.5]),
    st.text(max_size=8), st.none(), st.booleans(), st.just([]), st.just({}),
    st.just([None] * 40), st.just([[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]),
    st.just({"class_name": "__keras_tensor__", "config": {"keras_history": ["ghost", 0, 0]}}),
    st.just({"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}),
)


def examples(count: int) -> Callable[[Any], Any]:
    """Return hypothesis settings for a stable, bounded run of ``count`` * scale mutants."""
    return settings(max_examples=max(1, int(count * SCALE)), derandomize=True, database=None,
                    deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@cache
def seed(name: str) -> bytes:
    """Return a fixture's bytes (skipping the test when another area's fixture is missing)."""
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {name} is missing")
    return path.read_bytes()


def assert_survives(data: bytes, suffix: str) -> None:
    """Analyse ``data`` as a file: JSON findings, no internal error, the file left unchanged."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mutant{suffix}"
        path.write_bytes(data)
        mtime = path.stat().st_mtime_ns
        result = check_path(path, path.name)
        errors = [f.message for f in result.findings if f.rule == "internal-error"]
        if STRICT or suffix != ".onnx":
            assert not [e for e in errors if STRICT or e.startswith("loading failed")], errors
        document = json.loads(reporters()["json"].render([result], RenderOptions()))
        assert all(f["path"] == path.name for f in document["findings"])
        json.loads(reporters("explain")["json"].explain([build(result)], RenderOptions()))
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
        assert path.stat().st_mtime_ns == mtime
        assert sorted(p.name for p in Path(tmp).iterdir()) == [path.name]


BYTE_OPS = st.tuples(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "repeat"]),
                     st.integers(0, 2**31), st.binary(min_size=1, max_size=12))


def mutate_bytes(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    """Apply byte-level edits at positions taken modulo the length."""
    out = bytearray(data)
    for op, where, chunk in ops:
        at = where % (len(out) + 1)
        if op == "flip" and at < len(out):
            out[at] ^= 1 << (where % 8)
        elif op == "set":
            out[at:at + len(chunk)] = chunk
        elif op == "truncate":
            del out[at:]
        elif op == "insert":
            out[at:at] = chunk
        elif op == "delete":
            del out[at:at + len(chunk) * 16]
        elif op == "repeat":
            out[at:at] = out[at:at + len(chunk) * 8] * 4
    return bytes(out)


@examples(1200)
@given(name=st.sampled_from(SEEDS["bytes"]), ops=st.lists(BYTE_OPS, min_size=1, max_size=4))
def test_byte_mutants(name: str, ops: list[tuple[str, int, bytes]]) -> None:
    """Flipped, overwritten, cut and repeated bytes of every format."""
    assert_survives(mutate_bytes(seed(name), ops), Path(name).suffix)


def json_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """List every position in a JSON document, in document order."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += json_paths(item, (*path, index))
    return found


def strings_in(value: Any) -> list[str]:
    """Return the strings of a JSON document (layer names, to make dangling references and cycles)."""
    return [p[-1] for p in json_paths(value) if p and isinstance(p[-1], str)] or ["x"]


def edit_json(config: Any, data: st.DataObject) -> Any:
    """Apply one structured edit at a drawn position: replace, delete, duplicate or rename."""
    paths = json_paths(config)[1:]
    if not paths:
        return config
    path = data.draw(st.sampled_from(paths))
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    op = data.draw(st.sampled_from(["replace", "delete", "duplicate", "rename"]))
    if op == "replace":
        parent[key] = copy.deepcopy(data.draw(HOSTILE_VALUES))  # st.just shares one object
    elif op == "delete":
        del parent[key]
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(key, json.loads(json.dumps(parent[key])))
    else:
        parent[key] = data.draw(st.sampled_from(strings_in(config)))
    return config


def rezip(original: bytes, replace: dict[str, bytes]) -> bytes:
    """Rewrite a .keras archive with some members replaced."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            out.writestr(info, replace.get(info.filename, source.read(info)))
    return buffer.getvalue()


@examples(1000)
@given(name=st.sampled_from(SEEDS["keras"]), data=st.data())
def test_config_json_edits(name: str, data: st.DataObject) -> None:
    """Structured edits of config.json inside real .keras archives."""
    original = seed(name)
    config = json.loads(zipfile.ZipFile(io.BytesIO(original)).read("config.json"))
    for _ in range(data.draw(st.integers(1, 3))):
        config = edit_json(config, data)
    text = json.dumps(config, allow_nan=True).encode()
    assert_survives(rezip(original, {"config.json": text}), ".keras")


@examples(300)
@given(name=st.sampled_from(SEEDS["keras"][:3]), ops=st.lists(BYTE_OPS, min_size=1, max_size=3))
def test_weights_member_mutants(name: str, ops: list[tuple[str, int, bytes]]) -> None:
    """Corrupt HDF5 inside a valid zip, which byte flips of the archive rarely reach."""
    original = seed(name)
    weights = zipfile.ZipFile(io.BytesIO(original)).read("model.weights.h5")
    assert_survives(rezip(original, {"model.weights.h5": mutate_bytes(weights, ops)}), ".keras")


def edit_onnx(proto: Any, data: st.DataObject) -> None:
    """Apply one structured edit to an ONNX model: rewire, rename ops, bad dims, hostile data."""
    graph = proto.graph
    nodes = list(graph.node)
    op = data.draw(st.sampled_from(["rewire", "domain", "op_type", "attribute", "opset", "dims",
                                    "external", "drop", "duplicate"]))
    node = nodes[data.draw(st.integers(0, len(nodes) - 1))] if nodes else None
    names = [o for n in nodes for o in n.output] + [i.name for i in graph.input] or ["x"]
    if node is not None and op == "rewire" and node.input:
        node.input[data.draw(st.integers(0, len(node.input) - 1))] = data.draw(st.sampled_from(names))
    elif node is not None and op == "domain":
        node.domain = data.draw(st.sampled_from(["com.evil", "ai.onnx.ml", "x" * 300]))
    elif node is not None and op == "op_type":
        node.op_type = data.draw(st.sampled_from(["Evil", "LSTM", "GRU", "Loop", "If", ""]))
    elif node is not None and op == "attribute" and node.attribute:
        attribute = node.attribute[data.draw(st.integers(0, len(node.attribute) - 1))]
        attribute.i = data.draw(st.sampled_from([-1, 0, 2**62, 7]))
        attribute.ClearField("ints")
        attribute.ints.extend(data.draw(st.lists(st.integers(-(2**40), 2**40), max_size=40)))
    elif op == "opset" and proto.opset_import:
        proto.opset_import[0].version = data.draw(st.sampled_from([0, 1, 999, -5]))
        proto.opset_import[0].domain = data.draw(st.sampled_from(["", "com.evil"]))
    elif op == "dims":
        infos = [*graph.input, *graph.output, *graph.value_info]
        if infos:
            shape = infos[data.draw(st.integers(0, len(infos) - 1))].type.tensor_type.shape
            shape.dim.add().dim_value = data.draw(st.sampled_from([-7, 0, 2**62]))
    elif op == "external" and graph.initializer:
        _make_external(graph.initializer[0], data.draw(st.sampled_from(
            ["../../etc/passwd", "/etc/passwd", "weights.bin", "a/../../../x"])))
    elif op == "drop" and nodes:
        graph.node.remove(node)
    elif op == "duplicate" and node is not None:
        graph.node.add().CopyFrom(node)


def _make_external(tensor: Any, location: str) -> None:
    """Point an initializer at external data (which graphcheck must never open)."""
    from onnx import TensorProto

    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location


@examples(600)
@given(name=st.sampled_from(SEEDS["onnx"]), data=st.data())
def test_onnx_proto_edits(name: str, data: st.DataObject) -> None:
    """Structured edits of real ONNX models: cycles, custom domains, absurd dims, escaping paths."""
    onnx = pytest.importorskip("onnx")
    proto = onnx.load_from_string(seed(name))
    for _ in range(data.draw(st.integers(1, 3))):
        edit_onnx(proto, data)
    assert_survives(proto.SerializeToString(), ".onnx")
