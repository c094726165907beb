"""ONNX fixtures made by torch.onnx, tf2onnx and onnx.helper: findings, shapes, no data read."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphcheck.engine import check_path
from graphcheck.findings import Severity
from graphcheck.results import FileResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "onnx"
EXPECTED: dict[str, dict[str, str]] = json.loads((FIXTURES / "broken" / "expected.json").read_text())
EXPORTED = sorted(FIXTURES.glob("*.onnx"))


def analyse(path: Path) -> FileResult:
    """Analyse one file as the CLI does."""
    return check_path(path, path.name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_case_is_reported_on_its_node(name: str) -> None:
    """Each onnx.helper fault gets its rule on the recurrent node (and ORT agrees it is broken)."""
    want = EXPECTED[name]
    result = analyse(FIXTURES / "broken" / name)
    hits = {(f.rule, f.node) for f in result.findings}
    assert (want["rule"], want["node"]) in hits
    assert not [f for f in result.findings if f.rule == "internal-error"]


@pytest.mark.parametrize("path", [*EXPORTED, FIXTURES / "external" / "lstm.onnx"], ids=lambda p: p.name)
def test_exporter_output_gets_no_error_or_warning(path: Path) -> None:
    """torch.onnx and tf2onnx files are correct: nothing at warning or above."""
    result = analyse(path)
    assert result.model is not None and result.model.framework == "onnx"
    assert [f.message for f in result.findings if f.severity >= Severity.WARNING] == []


def _with_recurrent_outputs(path: Path) -> tuple[Any, list[tuple[str, str, int]]]:
    """Return the model with every recurrent node's outputs exposed, and (node, tensor, index)."""
    import onnx

    model = onnx.load(str(path))
    exposed = []
    for node in model.graph.node:
        if node.op_type in ("LSTM", "GRU", "RNN"):
            for index, tensor in enumerate(node.output):
                if tensor and tensor not in {o.name for o in model.graph.output}:
                    model.graph.output.append(onnx.helper.make_empty_tensor_value_info(tensor))
                if tensor:
                    exposed.append((node.name, tensor, index))
    return model, exposed


@pytest.mark.parametrize("path", [p for p in EXPORTED if p.name.startswith("torch_")] + [
    FIXTURES / "keras_lstm.onnx", FIXTURES / "keras_bilstm.onnx"], ids=lambda p: p.name)
def test_recurrent_shapes_equal_what_onnxruntime_computes(path: Path) -> None:
    """Run the exported model in ORT: each recurrent output's shape is graphcheck's (static dims)."""
    import onnxruntime as ort

    model, exposed = _with_recurrent_outputs(path)
    assert exposed
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros([d if isinstance(d, int) else 2 for d in i.shape], np.float32)
             for i in session.get_inputs()}
    actual = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    result = analyse(path)
    assert result.inference is not None
    for node, tensor, index in exposed:
        ours = result.inference.nodes[node].outputs()[index]
        assert ours is not None and len(ours) == actual[tensor].ndim, (node, tensor)
        for dim, real in zip(ours, actual[tensor].shape):
            assert dim == real or not isinstance(dim, int), (node, tensor, ours)


def test_external_data_is_never_opened(tmp_path: Path) -> None:
    """The weights file is replaced by a directory and any open of it is recorded: none happens."""
    for item in (FIXTURES / "external").iterdir():
        shutil.copy(item, tmp_path / item.name)
    data = tmp_path / "lstm.onnx.data"
    data.unlink()
    # onnx's own reader refuses a directory ("it is not regular file"), so any attempt to load
    # the data becomes an unreadable-model finding; the audit hook also sees Python-level opens.
    data.mkdir()
    opened: list[str] = []
    watching = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if watching[0] and event in ("open", "os.open") and "lstm.onnx.data" in str(args[0]):
            opened.append(str(args[0]))

    sys.addaudithook(hook)
    try:
        result = analyse(tmp_path / "lstm.onnx")
    finally:
        watching[0] = False
    assert opened == []
    assert result.model is not None and result.model.metadata["external_data"] == ["lstm.onnx.data"]
    assert [f for f in result.findings if f.severity >= Severity.WARNING] == []
    same = analyse(FIXTURES / "torch_lstm.onnx")
    assert result.inference is not None and same.inference is not None
    assert {k: v.layer.weights for k, v in result.inference.nodes.items()} == {
        k: v.layer.weights for k, v in same.inference.nodes.items()}


def test_truncated_and_foreign_files_are_findings_not_tracebacks(tmp_path: Path) -> None:
    """A truncated .onnx is unreadable-model; a zip named .onnx is not claimed by the ONNX loader."""
    cut = tmp_path / "cut.onnx"
    cut.write_bytes((FIXTURES / "torch_lstm.onnx").read_bytes()[:500])
    assert [f.rule for f in analyse(cut).findings] == ["unreadable-model"]
    zipped = tmp_path / "model.onnx"
    zipped.write_bytes(b"PK\x03\x04" + b"\0" * 60)
    findings = analyse(zipped).findings
    assert findings and "zip" in findings[0].message


def test_unnamed_nodes_get_stable_names_and_opsets_are_recorded() -> None:
    """The helper-built node without a name is LSTM_0; the opset import lands in the metadata."""
    result = analyse(FIXTURES / "broken" / "lstm_units_equal_timesteps.onnx")
    assert result.model is not None and result.inference is not None
    assert "LSTM_0" in result.inference.nodes
    assert result.model.metadata["opsets"] == {"ai.onnx": 17}


def test_loop_bodies_are_walked() -> None:
    """tf2onnx's Keras GRU is a Loop: the body's nodes are analysed under the Loop's name."""
    result = analyse(FIXTURES / "keras_gru.onnx")
    assert result.inference is not None
    loops = [name for name, n in result.inference.nodes.items() if n.layer.type == "Loop"]
    assert len(loops) == 1
    inner = [name for name in result.inference.nodes if name.startswith(loops[0] + "/body/")]
    assert any(result.inference.nodes[n].layer.type == "MatMul" for n in inner)


def _hostile(kind: str) -> Any:
    """Build an odd but parseable model of one kind with onnx.helper."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [4, 2, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    w = helper.make_tensor("W", TensorProto.FLOAT, [1, 8, 3], [0.0] * 24)
    r = helper.make_tensor("R", TensorProto.FLOAT, [1, 8, 2], [0.0] * 16)
    attrs: dict[str, Any] = {"hidden_size": 2}
    inputs = ["X", "W", "R"]
    if kind == "undefined-input":
        inputs[0] = "nowhere"
    attrs.update({"bad-direction": {"direction": "sideways"}, "layout-2": {"layout": 2},
                  "negative-hidden": {"hidden_size": -3}}.get(kind, {}))
    nodes = [helper.make_node("LSTM", inputs, ["Y"], name="lstm", **attrs)]
    if kind == "cycle":
        nodes = [helper.make_node("Add", ["X", "Z"], ["Y"], name="a"),
                 helper.make_node("Identity", ["Y"], ["Z"], name="b")]
    if kind == "custom-op":
        nodes = [helper.make_node("Mystery", ["X"], ["Y"], name="m", domain="com.example")]
    graph = helper.make_graph(nodes, kind, [x], [y], [w, r])
    imports = [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    return helper.make_model(graph, opset_imports=imports)


@pytest.mark.parametrize(("kind", "rule"), [
    ("undefined-input", "unreadable-model"), ("bad-direction", "unreadable-model"),
    ("layout-2", "unreadable-model"), ("negative-hidden", "missing-hidden-size"),
    ("cycle", "unreadable-model"), ("custom-op", "unsupported-layer")])
def test_odd_models_give_findings_not_internal_errors(kind: str, rule: str, tmp_path: Path) -> None:
    """Parseable but broken graphs get a finding on the node, never an internal error."""
    import onnx

    path = tmp_path / f"{kind}.onnx"
    onnx.save_model(_hostile(kind), str(path))
    result = analyse(path)
    assert result.model is not None
    assert [f.message for f in result.findings if f.rule == "internal-error"] == []
    assert rule in {f.rule for f in result.findings if f.node}


def test_recurrent_nodes_inside_if_branches_are_checked(tmp_path: Path) -> None:
    """An LSTM inside an If branch gets its weight check under the If's name."""
    import onnx
    from onnx import TensorProto, helper

    broken = onnx.load(str(FIXTURES / "broken" / "lstm_keras_bias.onnx"))
    branch = helper.make_graph(list(broken.graph.node), "then", [], list(broken.graph.output)[:1],
                               list(broken.graph.initializer))
    other = helper.make_graph([helper.make_node("Identity", ["X"], ["Z"])], "else", [],
                              [helper.make_tensor_value_info("Z", TensorProto.FLOAT, None)])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    node = helper.make_node("If", ["cond"], ["out"], name="choose", then_branch=branch, else_branch=other)
    graph = helper.make_graph([node], "g", [cond, *broken.graph.input],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
    path = tmp_path / "if.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    hits = {(f.rule, f.node) for f in analyse(path).findings}
    assert ("weight-shape-mismatch", "choose/then_branch/lstm") in hits
