"""Scale and import behaviour that must not regress (speed itself is measured in benchmarks/)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import onnx
import pytest

from benchmarks.make_cases import EMBED_WIDTH, write_embedded_onnx
from graphcheck.engine import check_path
from graphcheck.loaders import onnx_wire

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUESTION = FIXTURES / "keras" / "question.keras"
ONNX_LSTM = FIXTURES / "onnx" / "torch_lstm.onnx"
EXTRA_DENSE = 9_998  # question.keras has an input, an LSTM and one Dense: 10,000 layers in all


def imported_modules(path: Path) -> set[str]:
    """Return the modules a CLI run on ``path`` imports, read children included."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "graphcheck", "check",
                          str(path)], capture_output=True, text=True, check=False)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", run.stderr, re.MULTILINE)
    assert names, run.stderr[-2000:]
    return set(names)


def imported(path: Path) -> set[str]:
    """Return the top-level modules a CLI run on ``path`` imports, read children included."""
    return {name.split(".")[0] for name in imported_modules(path)}


def test_a_keras_run_imports_no_onnx() -> None:
    """A .keras file needs zip, JSON and HDF5: neither onnx, protobuf nor networkx is imported."""
    modules = imported(QUESTION)
    assert "h5py" in modules  # the probe sees the imports that do happen
    assert not modules & {"onnx", "google", "networkx"}


def test_each_run_imports_only_its_framework_shape_functions() -> None:
    """Each framework's shape functions (and the ONNX graph builder) load for its models only."""
    keras_run, onnx_run = imported_modules(QUESTION), imported_modules(ONNX_LSTM)
    assert "graphcheck.shapes.keras.recurrent" in keras_run
    onnx_only = ("graphcheck.shapes.onnx", "graphcheck.loaders.onnx_graph", "graphcheck.loaders.onnx_tensors")
    assert not {name for name in keras_run if name.startswith(onnx_only)}
    assert {"graphcheck.shapes.onnx.recurrent", *onnx_only[1:]} <= onnx_run
    assert not {name for name in onnx_run if name.startswith("graphcheck.shapes.keras")}


def test_an_onnx_run_imports_no_hdf5() -> None:
    """An ONNX file needs protobuf and onnx's shape inference: neither h5py nor networkx."""
    modules = imported(ONNX_LSTM)
    assert "onnx" in modules
    assert not modules & {"h5py", "networkx"}


def _deep_config(config: dict[str, Any]) -> dict[str, Any]:
    """Append EXTRA_DENSE copies of the Keras-written Dense(2) layer to the question's model."""
    deep = copy.deepcopy(config)
    layers = deep["config"]["layers"]
    dense = layers[-1]
    for index in range(1, EXTRA_DENSE + 1):
        layer = copy.deepcopy(dense)
        layer["config"]["name"] = f"dense_{index}"
        layer["build_config"] = {"input_shape": [None, 2]}
        layers.append(layer)
    return deep


def _deep_weights(source: bytes, target: Path) -> None:
    """Write the question's weights plus Keras-3-style groups for every appended Dense layer."""
    (target.parent / "question.weights.h5").write_bytes(source)
    with h5py.File(target.parent / "question.weights.h5", "r") as old, h5py.File(target, "w") as new:
        for key in old:
            old.copy(old[key], new, key)
        kernel, bias = np.zeros((2, 2), "float32"), np.zeros((2,), "float32")
        for index in range(1, EXTRA_DENSE + 1):
            group = new.create_group(f"layers/dense_{index}/vars")
            group["0"], group["1"] = kernel, bias


def test_a_10000_layer_keras_model_reads_whole(tmp_path: Path) -> None:
    """10,000 layers with weights: read within the deadline, every weight matched, no finding.

    Through zipfile's sequential member stream this file passed the 20 s read deadline.
    """
    with zipfile.ZipFile(QUESTION) as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    _deep_weights(weights, tmp_path / "model.weights.h5")
    target = tmp_path / "deep.keras"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:  # as Keras writes it
        archive.writestr("config.json", json.dumps(_deep_config(config)))
        archive.write(tmp_path / "model.weights.h5", "model.weights.h5")
    result = check_path(target, "deep.keras")
    assert result.findings == []
    assert result.model is not None and result.inference is not None
    assert len(result.model.root.graph) == 2 + 1 + EXTRA_DENSE  # input, LSTM, Dense layers
    last = result.model.root.layer(f"dense_{EXTRA_DENSE}")
    assert last.weights is not None and [w.shape for w in last.weights] == [(2, 2), (2,)]


VALUE_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "raw_data", "double_data",
                "uint64_data")


def _without_values(tensor: Any) -> Any:
    """Return a copy of a TensorProto without its values."""
    copy = onnx.TensorProto()
    copy.CopyFrom(tensor)
    for name in VALUE_FIELDS:
        copy.ClearField(name)
    return copy


def _without_large_values(proto: Any) -> Any:
    """Clear the values of tensors over KEPT_TENSOR_BYTES, the way without_tensor_data leaves them."""
    for tensor in proto.graph.initializer:
        if tensor.ByteSize() - _without_values(tensor).ByteSize() > onnx_wire.KEPT_TENSOR_BYTES:
            tensor.CopyFrom(_without_values(tensor))
    return proto


@pytest.mark.parametrize("path", sorted((FIXTURES / "onnx").glob("*.onnx")), ids=lambda p: p.name)
def test_the_copy_without_tensor_data_keeps_everything_else(path: Path) -> None:
    """Parsed from the wire copy, every fixture equals onnx.load's proto minus large tensor values."""
    copy = onnx.ModelProto.FromString(onnx_wire.without_tensor_data(path, 1 << 30))
    full = onnx.load(str(path), load_external_data=False)
    assert copy == _without_large_values(full)


def test_an_onnx_model_over_a_gigabyte_is_read_without_its_weight_bytes(tmp_path: Path) -> None:
    """A 1.2 GB embedded model (a sparse file) is analysed from dims: no limit, no finding.

    ``max_onnx_bytes`` used to refuse it by file size; its weight bytes are never read now.
    """
    size = 1_200_000_000
    path = tmp_path / "embedded.onnx"
    write_embedded_onnx(path, size)
    assert path.stat().st_size > size
    result = check_path(path, "embedded.onnx")
    assert result.findings == []
    assert result.model is not None
    gather = result.model.root.layer("gather")
    rows = size // (4 * EMBED_WIDTH)
    assert gather.weights is not None and [w.shape for w in gather.weights] == [(rows, EMBED_WIDTH)]


def test_the_sparse_onnx_writer_makes_a_valid_model(tmp_path: Path) -> None:
    """The benchmark's writer (used above) produces what onnx itself loads and checks, small."""
    path = tmp_path / "small.onnx"
    write_embedded_onnx(path, 4 * EMBED_WIDTH * 3)
    onnx.checker.check_model(str(path))
    proto = onnx.load(str(path))
    embedding = next(t for t in proto.graph.initializer if t.name == "embedding")
    assert list(embedding.dims) == [3, EMBED_WIDTH] and len(embedding.raw_data) == 4 * EMBED_WIDTH * 3
    assert [n.op_type for n in proto.graph.node] == ["Gather", "LSTM"]
