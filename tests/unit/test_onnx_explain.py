"""``graphcheck explain`` on ONNX files: the recurrent blocks, and the JSON contract's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphcheck.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "onnx"


def explain(*args: str) -> str:
    """Run ``graphcheck explain`` and return its output."""
    result = CliRunner().invoke(main, ["explain", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_lstm_block_speaks_onnx_and_names_the_keras_equivalent() -> None:
    """hidden_size, gate order, each weight's formula, outputs, and the Keras layer."""
    import onnx

    text = explain(str(FIXTURES / "torch_lstm.onnx"))
    model = onnx.load(str(FIXTURES / "torch_lstm.onnx"))
    hidden = next(a.i for n in model.graph.node if n.op_type == "LSTM" for a in n.attribute
                  if a.name == "hidden_size")
    assert f"hidden_size = {hidden}: the size of the hidden state" in text
    assert "ONNX order i, o, f, c" in text
    assert "[num_directions, 4*hidden_size, input_size]" in text
    assert f"Keras equivalent: LSTM({hidden}, return_sequences=True, return_state=True)" in text
    assert "Y_c (" in text


def test_bidirectional_gru_is_a_keras_bidirectional() -> None:
    """A direction="bidirectional" GRU explains as Bidirectional(GRU(...))."""
    text = explain(str(FIXTURES / "torch_gru_bi.onnx"))
    assert "num_directions = 2" in text and "Bidirectional(GRU(" in text


def test_tf2onnx_loops_are_recognised_as_keras_cells() -> None:
    """Keras GRU and SimpleRNN become Loops; explain says which Keras layer each one is."""
    assert "Loop holding a Keras GRU cell" in explain(str(FIXTURES / "keras_gru.onnx"))
    assert "Keras equivalent: SimpleRNN(" in explain(str(FIXTURES / "keras_simple_rnn.onnx"))


def test_json_contract_outputs_and_params_come_from_the_model() -> None:
    """The outputs list the graph outputs with ORT's shapes; a node's params are its initializers' sizes."""
    import onnx
    import onnxruntime as ort

    path = FIXTURES / "torch_lstm.onnx"
    document = json.loads(explain("--format", "json", str(path)))
    assert isinstance(document, list) and len(document) == 1
    entry = document[0]
    assert entry["format"] == "onnx" and entry["path"] == str(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros(i.shape, np.float32) for i in session.get_inputs()}
    real = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    assert {o["name"]: o["shape"] for o in entry["outputs"]} == {k: list(v.shape) for k, v in real.items()}
    model = onnx.load(str(path))
    sizes = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer}
    lstm = next(n for n in model.graph.node if n.op_type == "LSTM")
    node = next(n for n in entry["nodes"] if n["name"] == lstm.name)
    assert node["params"] == sum(sizes[i] for i in lstm.input if i in sizes)
    assert set(node) >= {"name", "type", "inputs", "output_shapes", "params", "weights"}
    assert len(node["output_shapes"]) == len(lstm.output)


RECURRENT = ("LSTM", "GRU", "RNN")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.onnx")), ids=lambda p: p.name)
def test_each_direction_of_a_recurrent_node_is_a_cell(path: Path) -> None:
    """Cells per direction, W/R/B without num_directions as the file stores them, ONNX gate order."""
    import onnx

    from graphcheck.engine import check_path
    from graphcheck.explanations.build import build
    from graphcheck.recurrent_facts import ONNX_OPS

    model = onnx.load(str(path), load_external_data=False)
    stored = {t.name: tuple(t.dims) for t in model.graph.initializer}
    report = {n.name: n for n in build(check_path(path, path.name)).nodes}
    for node in (n for n in model.graph.node if n.op_type in RECURRENT):
        direction = next((a.s.decode() for a in node.attribute if a.name == "direction"), "forward")
        cells = report[node.name].cells
        assert [c.label for c in cells] == (["forward", "backward"] if direction == "bidirectional"
                                            else [None])
        assert [c.reverse for c in cells] == ([False, True] if direction == "bidirectional"
                                              else [direction == "reverse"])
        kind = ONNX_OPS[node.op_type]
        for cell in cells:
            assert cell.layer_class == node.op_type and cell.kind == kind.keras
            assert cell.gates == tuple(g.name for g in kind.onnx_gates)
            if node.input[1] in stored:
                assert cell.kernel == stored[node.input[1]][1:]
            if node.input[2] in stored:
                assert cell.recurrent_kernel == stored[node.input[2]][1:]
        assert sum(c.params or 0 for c in cells) == report[node.name].params
