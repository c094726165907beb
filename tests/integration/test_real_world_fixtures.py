"""Real-world patterns without the frameworks: op layers, Keras 1/2.1 files, Windows paths.

The per-layer numbers are checked against tf_keras / Keras 3 in test_oracle_real_world.py;
these tests pin what graphcheck reports on the same committed fixtures, and how it reads
hand-made configs of the old forms, malformed ones included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path
from graphcheck.explanations.views import nodes
from graphcheck.findings import Severity
from graphcheck.loaders.keras_legacy import legacy_class, modernise
from graphcheck.results import FileResult
from graphcheck.rules import Case
from graphcheck.rules.cases import layer
from tests.helpers import run_case

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def check(relative: str) -> FileResult:
    """Check a fixture by its path below fixtures/."""
    return check_path(FIXTURES / relative, relative)


def above_note(result: FileResult) -> list[str]:
    """Return the findings worse than a note, as text."""
    return [f"{f.rule} {f.node}: {f.message}" for f in result.findings if f.severity > Severity.NOTE]


@pytest.mark.parametrize("name", ["ops/tf_ops.h5", "ops/tf_ops.json", "ops/keras3_ops.keras",
                                  "ops/tf_graph_ops.h5",
                                  "era/keras21_sequential.h5", "era/keras21_sequential.json",
                                  "era/keras21_sequential_h5.keras", "era/keras1_sequential.json",
                                  "era/keras1_sequential.h5", "era/keras21_functional.h5"])
def test_files_the_framework_loads_read_cleanly(name: str) -> None:
    """No finding above note, nothing unsupported, every layer's output known."""
    result = check(name)
    assert above_note(result) == []
    assert [f for f in result.findings if f.rule == "unsupported-layer"] == []
    assert result.model is not None and result.inference is not None
    unknown = [v.name for v in nodes(result.model, result.inference) if None in v.output_shapes]
    assert unknown == []


def test_op_layers_are_read_as_ops() -> None:
    """Keras 3's x + 3.0 is an op with a constant operand, not an Add layer missing an input."""
    result = check("ops/keras3_ops.keras")
    assert result.model is not None
    add = result.model.root.layer("add")
    assert add.type == "keras.ops.Add" and add.weights == ()
    assert add.call_options[0]["__args__"][1] == 3.0
    tf_result = check("ops/tf_ops.h5")
    assert tf_result.model is not None
    rsub = [layer for layer in tf_result.model.root.layers() if layer.type == "TFOpLambda"]
    assert len(rsub) >= 12


@pytest.mark.parametrize(("name", "notes"), [
    ("ops/keras3_unknown_op.keras", {"roll"}),
    ("ops/tf_unknown_op.h5", {"tf.roll", "tf.sequence_mask"}),
])
def test_unknown_op_is_a_note_on_that_op_only(name: str, notes: set[str]) -> None:
    """An op without a shape function is a note on that op; an LSTM it masks stays known."""
    result = check(name)
    assert above_note(result) == []
    assert {f.node for f in result.findings if f.rule == "unsupported-layer"} == notes
    assert result.model is not None and result.inference is not None
    views = {v.name: v for v in nodes(result.model, result.inference)}
    assert None not in views["lstm"].output_shapes


def test_windows_paths_are_one_finding_with_cause_and_fix() -> None:
    """One unreadable-model finding naming the backslash paths and the fix; weights matched."""
    result = check("keras/windows_paths.keras")
    bad = [f for f in result.findings if f.severity > Severity.NOTE]
    assert [(f.rule, f.node) for f in bad] == [("unreadable-model", None)]
    assert "Windows backslashes" in bad[0].message and "keras-team/keras#18528" in bad[0].message
    assert "save it again with a current Keras" in bad[0].message


def test_merge_modes_map_to_merge_layers() -> None:
    """Keras 1's Merge(mode=...) is read as the Keras 2 merge layer of that mode."""
    assert [legacy_class("Merge", {"mode": m}) for m in ("sum", "mul", "concat", "dot")] == [
        "Add", "Multiply", "Concatenate", "Dot"]
    assert legacy_class("Merge", {"mode": "cos"}) == "Merge"  # no Keras 2 layer: unsupported
    assert modernise("Merge", {"mode": "concat", "concat_axis": 1})["axis"] == 1
    assert legacy_class("TimeDistributedDense", {}) == "Dense"


def test_wrapped_keras1_layers_are_converted() -> None:
    """Keras 1 keys inside a Bidirectional are converted, and an old GRU keeps its 3*units bias."""
    config = modernise("Bidirectional", {"layer": {"class_name": "GRU", "config": {
        "output_dim": 4, "consume_less": "cpu", "inner_activation": "hard_sigmoid"}}})
    inner = config["layer"]["config"]
    assert inner["units"] == 4 and inner["recurrent_activation"] == "hard_sigmoid"
    assert inner["reset_after"] is False
    # A GRU config without `implementation` was not written by Keras 2.0-2.1.2: untouched.
    assert "reset_after" not in modernise("GRU", {"units": 4})


def _tf_op(name: str, function: str, node: Any) -> dict[str, Any]:
    """Return a tf_keras TFOpLambda entry with one inbound node."""
    return {"class_name": "TFOpLambda", "name": name, "inbound_nodes": [node],
            "config": {"name": name, "function": function}}


def _functional(*entries: dict[str, Any]) -> Case:
    """Return a Keras 2 functional case: input x (None, 6, 4), the entries, output the last."""
    inputs = {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
              "config": {"name": "x", "batch_input_shape": [None, 6, 4]}}
    last = entries[-1]["name"]
    return Case(model={"class_name": "Functional", "config": {
        "name": "m", "layers": [inputs, *entries], "input_layers": [["x", 0, 0]],
        "output_layers": [[last, 0, 0]]}})


@pytest.mark.parametrize(("function", "kwargs", "rule"), [
    ("reshape", {"shape": [-1, -1, 4]}, "input-dim-mismatch"),
    ("reshape", {"shape": "oops"}, "unsupported-layer"),
    ("math.reduce_mean", {"axis": 5}, "input-rank-mismatch"),
    ("math.reduce_mean", {"axis": ["a"]}, "unreadable-model"),
    ("compat.v1.transpose", {"perm": [0, 0, 1]}, "input-rank-mismatch"),
    ("expand_dims", {"axis": 9}, "input-rank-mismatch"),
    ("compat.v1.squeeze", {"axis": 1}, "input-dim-mismatch"),
    ("math.add", {"y": [[1.0, 2.0, 3.0]]}, "input-dim-mismatch"),
    ("__operators__.getitem", {"slice_spec": [0, 0, 0, 0]}, "input-rank-mismatch"),
    ("__operators__.getitem", {"slice_spec": [{"start": "a"}]}, "unsupported-layer"),
    ("linalg.matmul", {"b": [[1.0]]}, "input-dim-mismatch"),
    ("einsum", {}, "unsupported-layer"),
])
def test_broken_op_arguments_are_findings(function: str, kwargs: dict[str, Any], rule: str) -> None:
    """Op arguments that contradict the input (or are garbage) give a finding, never a crash."""
    case = _functional(_tf_op("op", function, ["x", 0, 0, kwargs]))
    result = run_case(case)
    assert [f.rule for f in result.findings if f.node == "op"] == [rule]


@pytest.mark.parametrize("subscripts", ["bij,bkj->bik", "...j,...j->...", "bij->bj", "bij,bkj",
                                        "ij,jk->ik"])
def test_einsum_subscripts_agree_with_numpy(subscripts: str) -> None:
    """Equation first, then operands: explicit and implicit outputs, '...', a misfitting term.

    NumPy computes the truth on arrays of shape (2, 6, 4), 2 standing for the batch.
    (tf_keras itself saves tf.einsum without its tensors; here they follow the equation.)
    """
    import numpy as np

    count = 2 if "," in subscripts else 1
    try:
        real = np.einsum(subscripts, *[np.zeros((2, 6, 4))] * count).shape
        want: Any = (tuple(None if d == 2 else d for d in real),)
    except ValueError:
        want = (None,)
    items = [["_CONSTANT_VALUE", -1, subscripts, {}], *[["x", 0, 0, {}]] * count]
    result = run_case(_functional(_tf_op("op", "einsum", items)))
    assert result.inference is not None
    assert result.inference.nodes["op"].outputs() == want


def test_op_with_constant_first_argument_and_tensor_keyword() -> None:
    """tf.math.add(2.0, y=x): the constant is the first operand, the tensor comes by keyword."""
    case = _functional(_tf_op("op", "math.add", ["_CONSTANT_VALUE", -1, 2.0, {"y": ["x", 0, 0]}]))
    result = run_case(case)
    assert result.findings == [] and result.inference is not None
    assert result.inference.nodes["op"].outputs() == ((None, 6, 4),)


@pytest.mark.parametrize("node", [5, [["x", "0", 0, {}]], [[1, 2, 3]], [["x", 0, 0, {"y": ["nope", 0, 0]}]]])
def test_malformed_op_nodes_are_unreadable(node: Any, tmp_path: Path) -> None:
    """A malformed inbound node of an op layer is unreadable-model with its place, not a crash."""
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_functional(_tf_op("op", "math.add", node)).model))
    result = check_path(path, "model.json")
    assert [f.rule for f in result.findings] == ["unreadable-model"]
    message = result.findings[0].message
    assert "config.layers[1].inbound_nodes[0]" in message or "unknown layer 'nope'" in message


def test_layer_dense_on_old_config_keys() -> None:
    """A Keras 1 Dense (output_dim, bias) reads as units and use_bias."""
    config = modernise("Dense", layer("Dense", "d", output_dim=3, bias=False)["config"])
    assert config["units"] == 3 and config["use_bias"] is False


@pytest.mark.parametrize(("config", "rule"), [
    ({}, "unreadable-model"),
    ({"node_def": {"op": "Roll", "input": ["x", "shift", "axis"]}}, "unsupported-layer"),
    ({"node_def": {"op": "Reshape", "input": ["x", "shape"]}}, "unsupported-layer"),
    ({"node_def": {"op": "StridedSlice", "input": ["x", "b", "e", "s"]},
      "constants": {"1": [0], "2": "x", "3": [1]}}, "unsupported-layer"),
    ({"node_def": {"op": "AddV2", "input": ["x", "y"]}, "constants": {"1": [[1.0, 2.0]]}},
     "input-dim-mismatch"),
])
def test_broken_tensorflow_op_layers_are_findings(config: dict[str, Any], rule: str) -> None:
    """A TensorFlowOpLayer without an op, with an unknown op, or with constants that do not fit."""
    entry = {"class_name": "TensorFlowOpLayer", "name": "op", "inbound_nodes": [[["x", 0, 0, {}]]],
             "config": {"name": "op", **config}}
    result = run_case(_functional(entry))
    assert [f.rule for f in result.findings if f.node == "op"] == [rule]


def test_tensor_inside_a_slice_is_an_input() -> None:
    """A tensor inside a slice (tf_keras ``x[:, :n]``) is an edge; that axis's length is unknown.

    tf_keras writes it into a dict of slice_spec: {"stop": ["n", 0, 0]}.
    """
    n = {"class_name": "InputLayer", "name": "n", "inbound_nodes": [],
         "config": {"name": "n", "batch_input_shape": [None]}}
    spec = [{"start": None, "stop": None, "step": None},
            {"start": None, "stop": ["n", 0, 0], "step": None}]
    case = _functional(n, _tf_op("op", "__operators__.getitem", ["x", 0, 0, {"slice_spec": spec}]))
    case.model["config"]["input_layers"] = [["x", 0, 0], ["n", 0, 0]]
    result = run_case(case)
    assert result.model is not None and result.inference is not None
    assert ("n", "op") in result.model.root.graph.edges()
    assert result.findings == []
    assert result.inference.nodes["op"].outputs() == ((None, None, 4),)


def test_windows_paths_of_tf_keras_2_13_are_one_finding(tmp_path: Path) -> None:
    """Windows paths of tf.keras 2.13 (another root group name) are one finding too.

    The fixture's groups are renamed the way that version named them (ralcorta/pfi
    convlstm_model_adversarial.keras, keras_version 2.13.1); its weights are not paired.
    """
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(FIXTURES / "keras" / "windows_paths.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as h5:
        for name in [n for n in h5 if n.startswith("layers\\")]:
            h5.move(name, "_layer_checkpoint_dependencies" + name[len("layers"):])
    members["model.weights.h5"] = buffer.getvalue()
    target = tmp_path / "windows_2_13.keras"
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = check_path(target, target.name)
    bad = [f for f in result.findings if f.severity > Severity.NOTE]
    assert [(f.rule, f.node) for f in bad] == [("unreadable-model", None)]
    assert "_layer_checkpoint_dependencies\\dense/vars/0" in bad[0].message
    assert "did not check them" in bad[0].message
