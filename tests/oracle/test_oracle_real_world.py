"""Oracle: real-world patterns (op layers, older Keras eras, Windows paths) against the frameworks.

The fixtures are made by ``fixtures/make_era_fixtures.py``; each test loads the committed file
with the framework that reads it (tf_keras or Keras 3) and compares every layer's (and op's)
output shapes and parameter count with graphcheck's on the same file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path
from graphcheck.findings import Severity
from tests.oracle_support import Row, _dims, _flat, analyse, keras_rows, mismatches

pytestmark = pytest.mark.oracle

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="session")
def tfk() -> Any:
    """Import tf_keras once per session."""
    import tf_keras

    return tf_keras


@pytest.fixture(scope="session")
def keras() -> Any:
    """Import Keras 3 once per session."""
    import keras as keras3

    return keras3


def operation_rows(model: Any) -> dict[str, Row]:
    """Return Keras 3's view of every operation in a functional model: layers and op layers."""
    rows = {}
    for operation in model.operations:
        node = operation._inbound_nodes[0]
        params = operation.count_params() if hasattr(operation, "count_params") else 0
        rows[operation.name] = Row(outputs=[_dims(t.shape) for t in _flat(node.output_tensors)],
                                   params=int(params))
    return rows


@pytest.mark.parametrize("name", ["tf_ops.h5", "tf_ops.json", "tf_graph_ops.h5"])
def test_tf_op_layers_match_tf_keras(tfk: Any, name: str) -> None:
    """Every op layer of tf.keras agrees with tf_keras, whichever form the file uses.

    TFOpLambda/SlicingOpLambda (TF 2.4+) carry tensors and constants in their call kwargs;
    TF 2.0-2.3's TensorFlowOpLayer carries a NodeDef and its constant inputs.
    """
    path = FIXTURES / "ops" / name
    net = (tfk.models.model_from_json(path.read_text()) if name.endswith(".json")
           else tfk.models.load_model(path, compile=False))
    expected = dict(keras_rows(net))
    kinds = {type(layer).__name__ for layer in net.layers}
    assert kinds & {"TFOpLambda", "TensorFlowOpLayer"} and len(expected) >= 18
    assert mismatches(expected, analyse(path)) == []


def test_keras3_op_layers_match_keras(keras: Any) -> None:
    """Keras 3 op layers (x + 3.0, keras.ops.*, the NotEqual mask into an LSTM) agree with Keras."""
    path = FIXTURES / "ops" / "keras3_ops.keras"
    expected = operation_rows(keras.models.load_model(path))
    assert {"add", "not_equal", "get_item", "matmul", "where"} <= set(expected)
    assert mismatches(expected, analyse(path)) == []


def test_keras3_op_layers_in_architecture_json(keras: Any, tmp_path: Path) -> None:
    """The same op graph as architecture JSON (to_json) agrees too."""
    net = keras.models.load_model(FIXTURES / "ops" / "keras3_ops.keras")
    (tmp_path / "ops.json").write_text(net.to_json())
    assert mismatches(operation_rows(net), analyse(tmp_path / "ops.json")) == []


def test_keras3_op_layers_in_legacy_h5_are_one_finding(keras: Any, tmp_path: Path) -> None:
    """Keras 3 writes op layers into .h5 without their module and cannot load the file back.

    graphcheck says so once (with the fix: save as .keras) and still reads every op right.
    """
    net = keras.models.load_model(FIXTURES / "ops" / "keras3_ops.keras")
    net.save(tmp_path / "ops.h5")
    with pytest.raises((ValueError, TypeError)):
        keras.models.load_model(tmp_path / "ops.h5")
    result = check_path(tmp_path / "ops.h5", "ops.h5")
    errors = [f for f in result.findings if f.severity > Severity.NOTE]
    assert [(f.rule, f.node) for f in errors] == [("unreadable-model", None)]
    assert "without their module" in errors[0].message and "save the model as .keras" in errors[0].message
    analysis = analyse(tmp_path / "ops.h5")
    analysis.bad.clear()
    assert mismatches(operation_rows(net), analysis) == []


def _unsupported(path: Path) -> set[str | None]:
    """Return the nodes graphcheck notes as unsupported, after checking nothing worse is said."""
    result = check_path(path, path.name)
    assert [f for f in result.findings if f.severity > Severity.NOTE] == []
    notes = [f for f in result.findings if f.rule == "unsupported-layer"]
    assert all(f.severity == Severity.NOTE for f in notes)
    return {f.node for f in notes}


def test_unknown_keras3_op_leaves_only_its_own_output_unknown(keras: Any) -> None:
    """keras.ops.roll has no shape function: a note on it, and the layers after it still agree."""
    path = FIXTURES / "ops" / "keras3_unknown_op.keras"
    assert _unsupported(path) == {"roll"}
    expected = operation_rows(keras.models.load_model(path))
    analysis = analyse(path)
    assert analysis.rows["roll"].outputs == [None]
    analysis.bad.clear()  # the note above, checked already
    assert mismatches({k: v for k, v in expected.items() if k != "roll"}, analysis) == []


def test_unknown_tf_op_and_mask_from_it(tfk: Any) -> None:
    """tf.sequence_mask (unknown) feeds an LSTM's mask: the LSTM's output is still known."""
    path = FIXTURES / "ops" / "tf_unknown_op.h5"
    assert _unsupported(path) == {"tf.sequence_mask", "tf.roll"}
    expected = dict(keras_rows(tfk.models.load_model(path, compile=False)))
    analysis = analyse(path)
    analysis.bad.clear()
    # A legacy .h5 records no shapes, so past tf.roll only the parameter counts are known.
    assert analysis.rows["gru"].outputs == [None]
    known = {k: v for k, v in expected.items() if k in ("x", "lengths", "lstm")}
    assert mismatches(known, analysis) == []
    assert [analysis.rows[k].params for k in ("gru", "head")] == [expected["gru"].params,
                                                                   expected["head"].params]


@pytest.mark.parametrize("name", ["keras21_sequential.h5", "keras21_sequential_h5.keras",
                                  "keras21_sequential.json"])
def test_keras21_sequential_list_config(tfk: Any, name: str) -> None:
    """Keras 2.0-2.2.2 Sequential: config is the layer list, batch_input_shape on the first layer."""
    path = FIXTURES / "era" / name
    config = json.loads(path.read_text()) if name.endswith(".json") else None
    assert config is None or isinstance(config["config"], list)
    if name.endswith(".keras"):  # HDF5 bytes under a .keras name: tf_keras reads the .h5 twin
        assert path.read_bytes() == (FIXTURES / "era" / "keras21_sequential.h5").read_bytes()
        path_for_keras = FIXTURES / "era" / "keras21_sequential.h5"
    else:
        path_for_keras = path
    net = (tfk.models.model_from_json(path.read_text()) if name.endswith(".json")
           else tfk.models.load_model(path_for_keras, compile=False))
    assert mismatches(dict(keras_rows(net)), analyse(path)) == []


@pytest.mark.parametrize("name", ["keras1_sequential.json", "keras1_sequential.h5"])
def test_keras1_sequential_reads_like_its_keras2_form(tfk: Any, name: str) -> None:
    """Keras 1 keys (output_dim, nb_filter, border_mode, consume_less, p), per-gate weights.

    No framework installed here reads Keras 1 files; the oracle is tf_keras on the Keras 2.1
    form of the same architecture and weights, which is what Keras 2.0 converted Keras 1 files
    into when it loaded them.
    """
    keras1 = FIXTURES / "era" / name
    net = tfk.models.load_model(FIXTURES / "era" / "keras21_sequential.h5", compile=False)
    assert mismatches(dict(keras_rows(net)), analyse(keras1)) == []


def test_keras1_fixture_is_in_keras1_form() -> None:
    """The Keras 1 fixtures use Keras 1 names: the test above is not comparing Keras 2 to itself."""
    import h5py

    text = (FIXTURES / "era" / "keras1_sequential.json").read_text()
    assert "output_dim" in text and "nb_filter" in text and '"Convolution1D"' in text
    with h5py.File(FIXTURES / "era" / "keras1_sequential.h5") as h5:
        assert h5.attrs["keras_version"] == "1.2.2"
        assert len(h5["model_weights/lstm_1"].attrs["weight_names"]) == 12
        assert h5["model_weights/conv1d_1/conv1d_1_W"].shape == (3, 1, 8, 6)


def test_windows_weight_paths_are_one_finding(keras: Any) -> None:
    """Backslash weight groups: Keras refuses the file; graphcheck says why once, checks the rest."""
    path = FIXTURES / "keras" / "windows_paths.keras"
    with pytest.raises(ValueError, match="received 0 variables"):
        keras.models.load_model(path)
    result = check_path(path, path.name)
    errors = [f for f in result.findings if f.severity >= Severity.WARNING]
    assert [(f.rule, f.node) for f in errors] == [("unreadable-model", None)]
    assert "layers\\dense/vars/0" in errors[0].message and "save it again" in errors[0].message
    import zipfile

    with zipfile.ZipFile(path) as archive:
        net = keras.models.model_from_json(archive.read("config.json").decode())
    analysis = analyse(path)
    analysis.bad.clear()
    assert mismatches(dict(keras_rows(net)), analysis) == []


def test_mobilenet_v3_constants_are_operands(keras: Any, tmp_path: Path) -> None:
    """MobileNetV3Small's hard_swish (x + 3.0, x * (1/6)): every layer and op agrees at size 75.

    keras.applications records those as op layers with one tensor and a constant operand.
    """
    net = keras.applications.MobileNetV3Small(weights=None, input_shape=(75, 75, 3))
    net.save(tmp_path / "mobilenet.keras")
    expected = operation_rows(net)
    assert sum(1 for name in expected if name.startswith("add")) > 5
    assert mismatches(expected, analyse(tmp_path / "mobilenet.keras")) == []


def test_keras21_functional_seq2seq(tfk: Any) -> None:
    """Keras 2.1.2 "Model" with initial_state folded into the decoder's inbound node.

    Its GRU predates reset_after (bias 3*units). tf_keras refuses that GRU, so the oracle is
    tf_keras on the same config with the reset_after=False those versions meant.
    """
    import h5py

    path = FIXTURES / "era" / "keras21_functional.h5"
    with h5py.File(path) as h5:
        config = json.loads(h5.attrs["model_config"])
    assert config["class_name"] == "Model"
    gru = config["config"]["layers"][4]["config"]["layer"]
    assert gru["class_name"] == "GRU" and "reset_after" not in gru["config"]
    gru["config"]["reset_after"] = False
    net = tfk.models.model_from_json(json.dumps(config))
    assert mismatches(dict(keras_rows(net)), analyse(path)) == []
