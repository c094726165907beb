"""Oracle: models written by tf_keras (Keras 2) as .h5, .keras and SavedModel match tf_keras's shapes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.oracle_support import analyse, keras_rows, mismatches

pytestmark = pytest.mark.oracle

Builder = Callable[[Any], Any]


@pytest.fixture(scope="session")
def tfk() -> Any:
    """Import tf_keras once per session."""
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    return tf_keras


def recurrent_mix(k: Any) -> Any:
    """Functional: time_major LSTM, Bidirectional with only `layer`, initial_state, RNN stack."""
    L = k.layers
    a = k.Input((6, 5))
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(a)
    tm = L.LSTM(3, time_major=True, return_sequences=True, name="tm")(L.Permute((2, 1))(a))
    init = L.LSTM(4, name="init")(seq, initial_state=[h, c])
    bi = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum")(seq)
    bi2 = L.Bidirectional(L.LSTM(2, return_state=True))(bi)
    stack = L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)])(bi)
    td = L.TimeDistributed(L.Dense(2))(bi)
    conv = L.ConvLSTM1D(2, 2, return_sequences=True)(L.Reshape((6, 5, 1))(a))
    return k.Model(a, [tm, init, *bi2, stack, td, conv])


def layers_mix(k: Any) -> Any:
    """Functional: conv, pooling, normalization, merges, attention and a shared layer."""
    L = k.layers
    a, b = k.Input((10, 4)), k.Input((10, 4))
    shared = L.Conv1D(6, 3, padding="same", name="shared")
    x, y = shared(a), shared(b)
    z = L.BatchNormalization(center=False)(L.Concatenate()([x, y]))
    att = L.Attention(use_scale=True)([z, z])
    pooled = L.GlobalAveragePooling1D()(L.MaxPooling1D()(L.Add()([x, y])))
    ids = k.Input((5,), name="ids")
    emb = L.Embedding(20, 3)(ids)
    return k.Model([a, b, ids], [L.Flatten()(att), L.Dot(axes=1)([pooled, pooled]),
                                 L.PReLU()(emb), L.LayerNormalization()(L.Dense(6)(y))])


def conv_mix(k: Any) -> Any:
    """Sequential-free image stack: conv variants, crop/pad/upsample, TimeDistributed, ConvLSTM2D."""
    L = k.layers
    a, clip = k.Input((12, 10, 3)), k.Input((3, 8, 8, 2))
    x = L.SeparableConv2D(4, 3, depth_multiplier=2)(L.ZeroPadding2D(1)(a))
    x = L.DepthwiseConv2D(2, strides=2)(L.Cropping2D(((1, 0), (0, 1)))(x))
    x = L.Conv2DTranspose(3, 3, strides=2, padding="same")(L.UpSampling2D()(x))
    x = L.GlobalMaxPooling2D()(L.AveragePooling2D()(L.BatchNormalization(axis=1)(x)))
    y = L.TimeDistributed(L.Conv2D(2, 3))(clip)
    y = L.ConvLSTM2D(3, 2, padding="same", return_sequences=True)(y)
    z = L.Conv1D(4, 3, padding="causal", dilation_rate=2)(L.Reshape((30, 12))(a))
    return k.Model([a, clip], [x, L.Flatten()(y), L.UpSampling1D(2)(L.Cropping1D(1)(z))])


def nested_and_keywords(k: Any) -> Any:
    """Build a nested model called on a shared layer's 2nd output, and MultiHeadAttention's value."""
    L = k.layers
    a, b = k.Input((10, 4)), k.Input((10, 4))
    shared = L.Dense(6, name="shared")
    x, y = shared(a), shared(b)
    inner_in = k.Input((10, 6))
    inner = k.Model(inner_in, L.Dense(6)(inner_in), name="inner")
    return k.Model([a, b], [inner(y), L.MultiHeadAttention(2, 3, value_dim=4)(x, y)])


def sequential_mix(k: Any) -> Any:
    """Sequential with batch_input_shape from input_shape, conv, pooling and a GRU."""
    L = k.layers
    return k.Sequential([L.Conv2D(4, 3, input_shape=(12, 12, 1)), L.MaxPooling2D(),
                         L.Reshape((5, 20)), L.GRU(6, reset_after=False),
                         L.RepeatVector(3), L.SimpleRNN(2), L.Dense(1)])


BUILDERS: dict[str, Builder] = {f.__name__: f for f in (
    recurrent_mix, layers_mix, sequential_mix, conv_mix, nested_and_keywords)}
FORMATS = ("h5", "keras")
def cases() -> list[Any]:
    """Return (builder, format) parameters."""
    return [pytest.param(name, fmt, id=f"{name}-{fmt}") for name in sorted(BUILDERS) for fmt in FORMATS]


def save(net: Any, folder: Path, fmt: str) -> Path:
    """Save a tf_keras model in the given format (``tf`` is a SavedModel directory)."""
    if fmt == "tf":
        path = folder / "saved"
        net.save(path, save_format="tf")
        return path
    path = folder / f"model.{fmt}"
    net.save(path)
    return path


@pytest.mark.parametrize(("name", "fmt"), cases())
def test_tf_keras_layers_match(tfk: Any, name: str, fmt: str, tmp_path: Path) -> None:
    """Each tf_keras layer's output shapes and parameters equal graphcheck's."""
    net = BUILDERS[name](tfk)
    assert mismatches(dict(keras_rows(net)), analyse(save(net, tmp_path, fmt))) == []


def test_tf_keras_savedmodel(tfk: Any, tmp_path: Path) -> None:
    """A SavedModel directory is analysed through its keras_metadata.pb, shapes included."""
    net = recurrent_mix(tfk)
    assert mismatches(dict(keras_rows(net)), analyse(save(net, tmp_path, "tf"))) == []
