"""Recurrent layers as older Keras saved them: CuDNNLSTM/CuDNNGRU (tf.keras 1.x/2.x), Keras 2.1 GRU."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import analyse, check_path, load
from graphcheck.explanations.build import build
from graphcheck.explanations.views import nodes, total_params
from graphcheck.findings import Severity
from tests.oracle_support import analyse as oracle_analyse
from tests.oracle_support import keras_rows, mismatches

TF_KERAS = Path(__file__).resolve().parents[2] / "fixtures" / "tf_keras"
# (fixture, expected.json tf_keras wrote when it saved the model)
SAVED = [("cudnn_sequential.h5", "cudnn_sequential.expected.json"),
         ("cudnn_functional.h5", "cudnn_functional.expected.json")]


@pytest.mark.parametrize(("name", "expected"), [
    *SAVED, ("gru_keras212.h5", "gru_keras212.expected.json")])
def test_shapes_and_params_equal_what_tf_keras_reported(name: str, expected: str) -> None:
    """Every layer (Bidirectional, encoder states, initial_state decoder) matches tf_keras."""
    result = check_path(TF_KERAS / name, name)
    assert result.model is not None and result.inference is not None, result.findings
    views = {v.name: v for v in nodes(result.model, result.inference)}
    truth = json.loads((TF_KERAS / expected).read_text())
    for layer in truth["layers"]:
        assert [list(s) for s in views[layer["name"]].output_shapes if s is not None] == \
            layer["output_shapes"], layer["name"]
        assert views[layer["name"]].params == layer["params"], layer["name"]
    assert total_params(list(views.values())) == truth["total_params"]
    assert [f for f in result.findings if f.severity >= Severity.WARNING] == []


def test_bias_layout_is_cudnns_and_the_check_uses_it() -> None:
    """CuDNNLSTM's bias is 8*units, CuDNNGRU's 6*units; editing units is a weight error."""
    model = load(TF_KERAS / "cudnn_sequential.h5")
    result = analyse(model, "ok")
    specs = {(n, s.name): s.shape for n, r in result.inference.nodes.items() for s in r.weights or ()}
    assert specs[("cudnn_lstm", "bias")] == (8 * 8,) and specs[("cudnn_gru", "bias")] == (6 * 4,)
    graph = model.root.graph
    lstm = graph.nodes["cudnn_lstm"]["layer"]
    graph.nodes["cudnn_lstm"]["layer"] = replace(lstm, config={**lstm.config, "units": 6})
    hits = {f.message.split(" is stored")[0] for f in analyse(model, "edited").findings
            if f.rule == "weight-shape-mismatch" and f.node == "cudnn_lstm"}
    assert hits == {"kernel", "recurrent_kernel", "bias"}


def test_explain_says_gpu_only_and_counts_two_biases() -> None:
    """The story names the GPU-only, tf.keras 1.x/2.x nature and the doubled bias arithmetic."""
    result = check_path(TF_KERAS / "cudnn_sequential.h5", "seq")
    assert result.model is not None and result.inference is not None
    views = {v.name: v for v in build(result).nodes}
    lstm = "\n".join(views["cudnn_lstm"].story)
    gru = "\n".join(views["cudnn_gru"].story)
    assert "runs only on a GPU" in lstm and "tf.keras 1.x/2.x" in lstm
    assert "(8*units,) = (8*8,)" in lstm and f"4*8*(5 + 8 + 2) = {views['cudnn_lstm'].params}" in lstm
    assert "(6*units,) = (6*4,)" in gru and f"3*4*(8 + 4 + 2) = {views['cudnn_gru'].params}" in gru


def test_lstm_holding_a_cudnn_bias_is_named() -> None:
    """A CuDNNLSTM config renamed to LSTM keeps the 8*units bias: the finding names the layout."""
    result = check_path(TF_KERAS / "cudnn_config_edited_to_lstm.h5", "edited")
    [hit] = [f for f in result.findings if f.rule == "weight-shape-mismatch"]
    assert hit.node == "cudnn_lstm" and "CuDNNLSTM bias layout" in hit.message


@pytest.fixture(scope="module")
def tfk() -> Any:
    """Import tf_keras (the framework that reads these files)."""
    import tf_keras

    return tf_keras


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "expected"), SAVED)
def test_oracle_tf_keras_loads_and_agrees(tfk: Any, name: str, expected: str) -> None:
    """tf_keras loads each fixture; its per-layer shapes and parameters equal graphcheck's."""
    del expected
    from tf_keras.src.layers import CuDNNGRU, CuDNNLSTM

    # tf_keras 2.21 ships the classes but exports them only to tf.compat.v1: name them.
    classes = {"CuDNNLSTM": CuDNNLSTM, "CuDNNGRU": CuDNNGRU}
    net = tfk.models.load_model(TF_KERAS / name, compile=False, custom_objects=classes)
    assert mismatches(dict(keras_rows(net)), oracle_analyse(TF_KERAS / name)) == []


@pytest.mark.oracle
def test_oracle_tf_keras_converts_the_edited_bias(tfk: Any) -> None:
    """tf_keras loads the LSTM-with-CuDNN-bias file, converting the bias to 4*units, as the hint says."""
    net = tfk.models.load_model(TF_KERAS / "cudnn_config_edited_to_lstm.h5", compile=False)
    layer = net.get_layer("cudnn_lstm")
    assert type(layer).__name__ == "LSTM" and tuple(layer.cell.bias.shape) == (4 * layer.units,)


def test_a_keras_212_gru_without_reset_after_reads_its_stored_layout() -> None:
    """No reset_after key and (3*units,) biases: read as reset_after=False, explained so."""
    result = check_path(TF_KERAS / "gru_keras212.h5", "old")
    assert result.model is not None and result.inference is not None
    views = {v.name: v for v in build(result).nodes}
    text = "\n".join(views["gru"].story)
    assert "(3*units,) = (3*5,)" in text and f"3*5*(4 + 5 + 1) = {views['gru'].params}" in text
    assert {f.node for f in result.findings if f.rule == "cudnn-ineligible"} == {"gru", "bi"}


@pytest.mark.oracle
def test_oracle_tf_keras_reads_a_missing_reset_after_as_true(tfk: Any) -> None:
    """Why the expected numbers come from the model before the edit: tf_keras refuses the file."""
    with pytest.raises(ValueError, match="reset_after"):
        tfk.models.load_model(TF_KERAS / "gru_keras212.h5", compile=False)
