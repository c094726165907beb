"""Oracle: what the recurrent/deployment rules claim about the frameworks is what they do."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path

pytestmark = pytest.mark.oracle
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
RULES = Path(__file__).resolve().parents[2] / "fixtures" / "rules"


def test_fixed_batch_size_keras_predicts_other_batches() -> None:
    """fixed-batch-size says Keras still predicts on other batch sizes: Keras 3 does."""
    import keras
    import numpy as np

    [hit] = [f for f in check_path(RULES / "fixed_batch_size.keras", "f").findings
             if f.rule == "fixed-batch-size"]
    assert "Keras itself still predicts on other batch sizes" in hit.message
    model = keras.saving.load_model(RULES / "fixed_batch_size.keras", compile=False)
    assert model.inputs[0].shape[0] == 32
    for batch in (1, 5):
        assert model.predict(np.zeros((batch, 10, 3)), verbose=0).shape[0] == batch


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_fixed_batch_size_exports_keep_the_batch(tmp_path: Path) -> None:
    """... and that exports keep it: TFLite from a tf_keras model takes exactly that batch."""
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model: Any = tf_keras.Sequential([tf_keras.layers.LSTM(8, batch_input_shape=(32, 10, 3)),
                                      tf_keras.layers.Dense(1)])
    lite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    (tmp_path / "m.tflite").write_bytes(lite)
    interpreter = tf.lite.Interpreter(model_path=str(tmp_path / "m.tflite"))
    assert list(interpreter.get_input_details()[0]["shape_signature"]) == [32, 10, 3]


def test_gpu_only_layer_keras3_refuses_and_tf_keras_converts() -> None:
    """gpu-only-layer: Keras 3 cannot load a CuDNN file; LSTM/GRU take its weights in tf_keras."""
    import keras
    import tf_keras

    path = RULES.parent / "tf_keras" / "cudnn_sequential.h5"
    assert {f.rule for f in check_path(path, "c").findings} == {"gpu-only-layer"}
    with pytest.raises(Exception, match="CuDNNLSTM"):
        keras.saving.load_model(path, compile=False)
    L = tf_keras.layers
    plain = tf_keras.Sequential([L.LSTM(8, return_sequences=True, input_shape=(10, 5)),
                                 L.GRU(4, reset_after=True, recurrent_activation="sigmoid"),
                                 L.Dense(2)])
    plain.load_weights(path)
    assert tuple(plain.layers[0].cell.bias.shape) == (4 * 8,)
    assert tuple(plain.layers[1].cell.bias.shape) == (2, 3 * 4)
