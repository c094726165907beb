"""The recurrent-facts table against the frameworks: gate orders, biases, states, names, layouts.

Each fact is read back from where it is decided: tf_keras builds and runs the cells, tf2onnx
converts them, onnx's operator schemas state the inputs, outputs and gate letters, and
ONNX Runtime runs a node built from Keras's weights permuted by the table.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

import numpy as np
import pytest

from graphcheck.recurrent_facts import (
    GRU,
    KERAS1_WEIGHTS,
    KERAS_WEIGHTS,
    KINDS,
    LSTM,
    ONNX_BIAS_HALVES,
    ONNX_DIRECTIONS,
    ONNX_LAYOUTS,
    ONNX_STATE_INPUTS,
    SIMPLE,
    Kind,
    keras_axes,
    keras_bias_rows,
)

UNITS, FEATURES, STEPS, BATCH = 3, 2, 4, 2


@pytest.fixture(scope="module")
def tfk() -> Any:
    """Import tf_keras, the Keras that tf2onnx converts to native recurrent ops."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras

    return tf_keras


def built(tfk: Any, kind: Kind, **config: Any) -> Any:
    """Return a one-layer model of ``kind`` with seeded, all-distinct weights."""
    inputs = tfk.Input((STEPS, FEATURES), name="x")
    layer = getattr(tfk.layers, kind.keras)(UNITS, name="rnn", **config)
    model = tfk.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    layer.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model


def to_onnx_blocks(array: np.ndarray, kind: Kind, order: tuple[int, ...]) -> np.ndarray:
    """Transpose a Keras kernel (rows, k*units) and reorder its k gate blocks: ONNX's W or R."""
    blocks = np.split(array.T, kind.gates, axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def matching_orders(keras: np.ndarray, onnx: np.ndarray, kind: Kind) -> list[tuple[int, ...]]:
    """Return every permutation of the Keras blocks that gives the ONNX tensor exactly."""
    return [order for order in itertools.permutations(range(kind.gates))
            if np.array_equal(to_onnx_blocks(keras, kind, order), onnx)]


@pytest.mark.oracle
@pytest.mark.parametrize("kind", [LSTM, GRU], ids=lambda k: k.keras)
def test_tf2onnx_reorders_keras_gate_blocks_as_the_table_says(tfk: Any, kind: Kind) -> None:
    """tf2onnx's W, R and B are Keras's blocks in Kind.onnx_order(), and in no other order.

    (tf2onnx writes Keras SimpleRNN as a Loop, not an RNN node; its one block is checked by
    running ONNX Runtime below.)
    """
    import tensorflow as tf
    import tf2onnx
    from onnx import numpy_helper

    model = built(tfk, kind)
    spec = (tf.TensorSpec((None, STEPS, FEATURES), tf.float32, name="x"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    [node] = [n for n in proto.graph.node if n.op_type == kind.onnx]
    stored = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    w, r, b = (stored[node.input[i]] for i in (1, 2, 3))
    kernel, recurrent, bias = model.get_layer("rnn").get_weights()
    assert matching_orders(kernel, w[0], kind) == [kind.onnx_order()]
    assert matching_orders(recurrent, r[0], kind) == [kind.onnx_order()]
    rows = bias.reshape(keras_bias_rows(kind, reset_after=True, cudnn=False), -1)
    halves = np.split(b[0], len(ONNX_BIAS_HALVES))
    assert np.array_equal(halves[0], to_onnx_blocks(rows[0][None, :], kind, kind.onnx_order())[:, 0])
    if len(rows) == 2:  # GRU reset_after=True: the recurrent biases are ONNX's Rb
        assert np.array_equal(halves[1], to_onnx_blocks(rows[1][None, :], kind,
                                                        kind.onnx_order())[:, 0])
    else:  # an LSTM has one bias per gate: tf2onnx writes it as Wb and zeros as Rb
        assert not halves[1].any()


def onnx_state(kind: Kind, model: Any, order: tuple[int, ...]) -> np.ndarray:
    """Run one ONNX node of ``kind`` holding the Keras weights in ``order``; return Y_h."""
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    kernel, recurrent, bias = model.get_layer("rnn").get_weights()
    rows = bias.reshape(-1, kind.gates * UNITS)
    halves = [to_onnx_blocks(row[None, :], kind, order)[:, 0] for row in rows]
    b = np.concatenate([*halves, np.zeros_like(halves[0])][:len(ONNX_BIAS_HALVES)])
    weights = {"W": to_onnx_blocks(kernel, kind, order)[None], "B": b[None],
               "R": to_onnx_blocks(recurrent, kind, order)[None]}
    extra = {"linear_before_reset": 1} if kind is GRU else {}  # Keras's reset_after=True
    node = helper.make_node(kind.onnx, list(kind.onnx_inputs[:4]), list(kind.onnx_outputs),
                            hidden_size=UNITS, **extra)
    graph = helper.make_graph(
        [node], "oracle",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [STEPS, BATCH, FEATURES])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in kind.onnx_outputs],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    x = np.linspace(-1, 1, STEPS * BATCH * FEATURES, dtype=np.float32)
    time_major = x.reshape(STEPS, BATCH, FEATURES)
    result: np.ndarray = session.run(["Y_h"], {"X": time_major})[0]
    return result[0]


@pytest.mark.oracle
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.keras)
def test_onnx_runtime_computes_keras_output_from_the_tables_order(tfk: Any, kind: Kind) -> None:
    """An ONNX node given Keras's weights in Kind.onnx_order() outputs what Keras outputs.

    Every other block order gives other numbers, so the agreement is the order's, not luck.
    """
    model = built(tfk, kind)
    x = np.linspace(-1, 1, STEPS * BATCH * FEATURES, dtype=np.float32)
    keras_out = model.predict(x.reshape(STEPS, BATCH, FEATURES).transpose(1, 0, 2), verbose=0)
    close = [order for order in itertools.permutations(range(kind.gates))
             if np.allclose(onnx_state(kind, model, order), keras_out, atol=1e-5)]
    assert close == [kind.onnx_order()]


@pytest.mark.oracle
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.keras)
def test_keras_weight_names_states_and_time_major_are_the_tables(tfk: Any, kind: Kind) -> None:
    """tf_keras names the cell's weights, returns len(states) states, and reads time_major so."""
    inputs = tfk.Input((STEPS, FEATURES))
    layer = getattr(tfk.layers, kind.keras)(UNITS, return_state=True)
    outputs = layer(inputs)
    assert [w.name.rpartition("/")[2].partition(":")[0] for w in layer.weights] == list(KERAS_WEIGHTS)
    assert len(outputs) - 1 == len(kind.states)
    major = getattr(tfk.layers, kind.keras)(UNITS, time_major=True, return_sequences=True)
    sequence = major(np.zeros((STEPS, BATCH, FEATURES), dtype=np.float32))
    batch, steps = keras_axes(time_major=True)
    assert (sequence.shape[batch], sequence.shape[steps]) == (BATCH, STEPS)


@pytest.mark.oracle
@pytest.mark.parametrize(("cls", "kind", "cudnn", "reset_after"), [
    ("LSTM", LSTM, False, True), ("GRU", GRU, False, True), ("GRU", GRU, False, False),
    ("SimpleRNN", SIMPLE, False, True), ("CuDNNLSTM", LSTM, True, True),
    ("CuDNNGRU", GRU, True, True)])
def test_bias_rows_are_what_tf_keras_builds(tfk: Any, cls: str, kind: Kind, cudnn: bool,
                                            reset_after: bool) -> None:
    """The bias holds keras_bias_rows() vectors of k*units: 2 for cuDNN and GRU reset_after."""
    from tf_keras.src.layers import CuDNNGRU, CuDNNLSTM

    classes = {"CuDNNLSTM": CuDNNLSTM, "CuDNNGRU": CuDNNGRU}
    config = {"reset_after": reset_after} if cls == "GRU" else {}
    layer = classes[cls](UNITS) if cudnn else getattr(tfk.layers, cls)(UNITS, **config)
    layer.build((None, STEPS, FEATURES))
    bias = next(w for w in layer.weights if w.name.rpartition("/")[2].startswith("bias"))
    rows = keras_bias_rows(kind, reset_after=reset_after, cudnn=cudnn)
    assert int(np.prod(bias.shape)) == rows * kind.gates * UNITS


@pytest.mark.oracle
@pytest.mark.parametrize("kind", [LSTM, GRU], ids=lambda k: k.keras)
def test_keras1_per_gate_weights_join_in_the_tables_order(tfk: Any, kind: Kind) -> None:
    """tf_keras joins Keras 1's per-gate arrays, listed in keras1_gates order, into keras_gates order.

    A Keras 1 file stores W_<gate>, U_<gate>, b_<gate> per gate (its GRU had one bias per gate,
    as reset_after=False does); each array here is filled with its gate's position in the file.
    """
    from tf_keras.src.saving.legacy import hdf5_format

    config = {"reset_after": False} if kind is GRU else {}
    layer = getattr(tfk.layers, kind.keras)(UNITS, **config)
    layer.build((None, STEPS, FEATURES))
    arrays = [np.full(shape, index, np.float32) for index in range(len(kind.keras1_gates))
              for shape in ((FEATURES, UNITS), (UNITS, UNITS), (UNITS,))]
    joined = hdf5_format.preprocess_weights_for_loading(layer, arrays, original_keras_version="1")
    blocks = [int(block[0]) for block in np.split(joined[2], kind.gates)]
    assert blocks == [kind.keras1_gates.index(g) for g in kind.keras_gates]
    assert len(arrays) == len(kind.keras1_gates) * len(KERAS1_WEIGHTS)


def schema(kind: Kind) -> Any:
    """Return onnx's schema of the kind's operator (its latest version)."""
    from onnx import defs

    return defs.get_schema(kind.onnx)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.onnx)
def test_onnx_inputs_and_outputs_are_the_operator_schemas(kind: Kind) -> None:
    """The roles by position, and the state inputs, are those onnx's schema declares."""
    spec = schema(kind)
    assert tuple(i.name for i in spec.inputs) == kind.onnx_inputs
    assert tuple(o.name for o in spec.outputs) == kind.onnx_outputs
    assert [s for s in ONNX_STATE_INPUTS if s in kind.onnx_inputs] == [
        i.name for i in spec.inputs if i.name.startswith("initial_")]


@pytest.mark.parametrize("kind", [LSTM, GRU], ids=lambda k: k.onnx)
def test_onnx_gate_letters_and_bias_halves_are_the_specs(kind: Kind) -> None:
    """The schema writes W[iofc], P[iof], [Wb[iofc], Rb[iofc]]; GRU W[zrh]."""
    text = " ".join(i.description for i in schema(kind).inputs)
    letters = "".join(g.letter for g in kind.onnx_gates)
    assert f"W[{letters}]" in text and f"R[{letters}]" in text
    halves = re.search(rf"`\[(\w+)\[{letters}\], (\w+)\[{letters}\]\]`", text)
    assert halves is not None and halves.groups() == ONNX_BIAS_HALVES
    if kind.onnx_peepholes:
        assert f"P[{''.join(g.letter for g in kind.onnx_peepholes)}]" in text


def test_onnx_directions_and_layouts_are_the_specs() -> None:
    """The direction values, and layout 0 = [seq_length, batch_size, ...], 1 = [batch_size, ...]."""
    attributes = schema(LSTM).attributes
    allowed = attributes["direction"].description.split("Must be one of")[1]
    assert re.findall(r"forward|reverse|bidirectional", allowed) == list(ONNX_DIRECTIONS)
    layout = attributes["layout"].description
    for value, name in ONNX_LAYOUTS.items():
        first = re.search(rf"If {value}, .*?X\.shape = \[(\w+),", layout)
        assert first is not None
        assert first.group(1) == {"time-major": "seq_length", "batch-major": "batch_size"}[name]
