"""Oracle: graphcheck's per-layer output shapes and parameter counts equal Keras 3's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.oracle_support import analyse, keras_rows, mismatches, save

pytestmark = pytest.mark.oracle

Builder = Callable[[Any], Any]
BUILDERS: dict[str, Builder] = {}


def model(fn: Builder) -> Builder:
    """Register a model builder under its function name."""
    BUILDERS[fn.__name__] = fn
    return fn


@pytest.fixture(scope="session")
def keras() -> Any:
    """Import Keras 3 (TensorFlow backend) once per session."""
    import keras as keras3

    keras3.utils.set_random_seed(0)
    return keras3


@model
def conv_stack(k: Any) -> Any:
    """Conv1D/2D/3D with padding, strides, dilation, groups, causal, channels_first."""
    L = k.layers
    a, b, c = k.Input((20, 6)), k.Input((12, 10, 4)), k.Input((6, 7, 8, 2))
    x = L.Conv1D(8, 3, strides=2, padding="same")(a)
    x = L.Conv1D(4, 2, padding="causal", dilation_rate=2)(x)
    x = L.Conv1D(4, 3, groups=2, use_bias=False)(x)
    y = L.Conv2D(6, (3, 2), strides=(2, 1))(b)
    y = L.Conv2D(3, 1, data_format="channels_first")(y)
    z = L.Conv3D(4, 2, padding="same", strides=2)(c)
    return k.Model([a, b, c], [x, y, z])


@model
def conv_variants(k: Any) -> Any:
    """Transposed, separable and depthwise convolutions."""
    L = k.layers
    a, b = k.Input((9, 5)), k.Input((8, 7, 3))
    x = L.Conv1DTranspose(4, 3, strides=2)(a)
    x = L.SeparableConv1D(6, 3, depth_multiplier=2, padding="same")(x)
    x = L.DepthwiseConv1D(2, depth_multiplier=3)(x)
    y = L.Conv2DTranspose(5, (3, 2), strides=(2, 3), padding="same")(b)
    y = L.Conv2DTranspose(2, 3, strides=2, output_padding=1)(y)
    y = L.SeparableConv2D(4, 2, use_bias=False)(y)
    y = L.DepthwiseConv2D(3, strides=2)(y)
    z = L.Conv3DTranspose(2, 2, strides=2)(L.Reshape((2, 4, 7, 3))(b))
    return k.Model([a, b], [x, y, z])


@model
def pooling_all(k: Any) -> Any:
    """Local and global pooling in 1D/2D/3D, keepdims and channels_first."""
    L = k.layers
    a, b, c = k.Input((17, 3)), k.Input((9, 11, 4)), k.Input((6, 6, 5, 2))
    outs = [L.MaxPooling1D(3, strides=2)(a), L.AveragePooling1D(2, padding="same")(a),
            L.GlobalMaxPooling1D()(a), L.GlobalAveragePooling1D(keepdims=True)(a),
            L.MaxPooling2D((2, 3))(b), L.AveragePooling2D(3, strides=1, padding="same")(b),
            L.MaxPooling2D(2, data_format="channels_first")(b),
            L.GlobalAveragePooling2D()(b), L.GlobalMaxPooling2D(keepdims=True)(b),
            L.MaxPooling3D(2)(c), L.AveragePooling3D((1, 2, 2), padding="same")(c),
            L.GlobalMaxPooling3D()(c), L.GlobalAveragePooling3D(keepdims=True)(c)]
    return k.Model([a, b, c], outs)


@model
def reshaping_all(k: Any) -> Any:
    """Flatten, Reshape with -1, Permute, RepeatVector, Cropping, ZeroPadding, UpSampling."""
    L = k.layers
    a, b = k.Input((6, 4)), k.Input((8, 10, 3))
    outs = [L.Flatten()(a), L.Reshape((-1, 2))(a), L.Reshape((3, 8))(a),
            L.Permute((2, 1))(a), L.RepeatVector(5)(L.Flatten()(a)),
            L.Cropping1D((1, 2))(a), L.ZeroPadding1D(3)(a), L.UpSampling1D(3)(a),
            L.Cropping2D(((1, 2), (3, 0)))(b), L.ZeroPadding2D((2, 1))(b),
            L.UpSampling2D((2, 3))(b), L.Permute((3, 1, 2))(b), L.Flatten()(b),
            L.Cropping3D(1)(L.Reshape((4, 4, 5, 3))(b)), L.ZeroPadding3D(1)(L.Reshape((4, 4, 5, 3))(b)),
            L.UpSampling3D(2)(L.Reshape((2, 8, 5, 3))(b))]
    return k.Model([a, b], outs)


@model
def normalization_all(k: Any) -> Any:
    """BatchNormalization (axis, center, scale), LayerNormalization (multi-axis), others."""
    L = k.layers
    a = k.Input((5, 6, 4))
    outs = [L.BatchNormalization()(a), L.BatchNormalization(axis=1, center=False)(a),
            L.BatchNormalization(axis=2, scale=False)(a), L.LayerNormalization()(a),
            L.LayerNormalization(axis=[1, 3], center=False)(a),
            L.LayerNormalization(rms_scaling=True)(a), L.GroupNormalization(2)(a),
            L.UnitNormalization()(a), L.RMSNormalization()(a), L.PReLU()(a),
            L.PReLU(shared_axes=[1, 2])(a)]
    return k.Model(a, outs)


@model
def preprocessing_layers(k: Any) -> Any:
    """Image preprocessing and augmentation layers (shape-keeping, Resizing, CenterCrop)."""
    L = k.layers
    return k.Sequential([k.Input((20, 16, 3)), L.Rescaling(1 / 255), L.RandomFlip(),
                         L.RandomRotation(0.1), L.RandomZoom(0.1), L.RandomContrast(0.1),
                         L.RandomTranslation(0.1, 0.1), L.RandomBrightness(0.1),
                         L.Resizing(12, 10), L.CenterCrop(8, 6), L.Conv2D(2, 3)])


@model
def merging_all(k: Any) -> Any:
    """Concatenate on several axes, the element-wise merges with broadcasting, Dot."""
    L = k.layers
    a, b, c = k.Input((4, 6)), k.Input((4, 3)), k.Input((1, 6))
    v, w = k.Input((6,)), k.Input((6,))
    outs = [L.Concatenate()([a, b]), L.Concatenate(axis=1)([a, c]), L.Add()([a, c]),
            L.Subtract()([a, a]), L.Multiply()([a, c, a]), L.Average()([a, c]),
            L.Maximum()([v, w]), L.Minimum()([a, c]), L.Dot(axes=2)([a, a]),
            L.Dot(axes=(1, 1), normalize=True)([a, b]), L.Dot(axes=1)([v, w])]
    return k.Model([a, b, c, v, w], outs)


@model
def attention_all(k: Any) -> Any:
    """Attention, AdditiveAttention and MultiHeadAttention with value_dim and output_shape."""
    L = k.layers
    q, v, key = k.Input((5, 8)), k.Input((7, 8)), k.Input((7, 3))
    outs = [L.Attention(use_scale=True, score_mode="concat")([q, v]), L.Attention()([q, v, v]),
            L.AdditiveAttention()([q, v]), L.AdditiveAttention(use_scale=False)([q, v]),
            L.MultiHeadAttention(2, 4)(q, v),
            L.MultiHeadAttention(3, 2, value_dim=5, output_shape=6, use_bias=False)(q, v, key),
            L.MultiHeadAttention(2, 3, attention_axes=(1, 2))(L.Reshape((5, 2, 4))(q),
                                                              L.Reshape((7, 2, 4))(v))]
    return k.Model([q, v, key], outs)


@model
def embedding_text(k: Any) -> Any:
    """Sequential: Embedding -> Conv1D -> pooling -> Bidirectional -> Dense."""
    L = k.layers
    return k.Sequential([k.Input((12,)), L.Embedding(50, 8), L.Conv1D(6, 3, activation="relu"),
                         L.MaxPooling1D(), L.Dropout(0.1), L.Bidirectional(L.GRU(5)),
                         L.Dense(3, activation="softmax")])


@model
def time_distributed(k: Any) -> Any:
    """TimeDistributed over Dense, Conv2D, Flatten and an Embedding-like stack."""
    L = k.layers
    a = k.Input((4, 9, 9, 2))
    x = L.TimeDistributed(L.Conv2D(3, 3))(a)
    x = L.TimeDistributed(L.MaxPooling2D())(x)
    x = L.TimeDistributed(L.Flatten())(x)
    x = L.TimeDistributed(L.Dense(5))(x)
    x = L.LSTM(6, return_sequences=True)(x)
    return k.Model(a, L.TimeDistributed(L.Dense(2, use_bias=False))(x))


@model
def sequential_image(k: Any) -> Any:
    """Sequential CNN: Conv2D, BatchNormalization, pooling, Flatten, Dense."""
    L = k.layers
    return k.Sequential([k.Input((16, 16, 3)), L.Conv2D(4, 3), L.BatchNormalization(),
                         L.Activation("relu"), L.MaxPooling2D(), L.SpatialDropout2D(0.1),
                         L.Conv2D(8, 3, padding="same"), L.GlobalAveragePooling2D(),
                         L.Dense(10), L.Softmax()])


@model
def multi_io_shared_nested(k: Any) -> Any:
    """Multi-input/multi-output, a shared layer called twice, a nested model."""
    L = k.layers
    inner_in = k.Input((6,))
    inner = k.Model(inner_in, L.Dense(3)(L.Dense(5, activation="relu")(inner_in)), name="inner")
    seq = k.Sequential([k.Input((6,)), L.Dense(4), L.LayerNormalization()], name="seq")
    a, b = k.Input((6,)), k.Input((6,))
    shared = L.Dense(6, name="shared")
    sa, sb = shared(a), shared(b)
    merged = L.Concatenate()([inner(sa), inner(sb), seq(sa)])
    return k.Model([a, b], [L.Dense(1, name="head1")(merged), L.Add()([sa, sb])])


@model
def recurrent_all(k: Any) -> Any:
    """LSTM/GRU/SimpleRNN return_sequences/return_state, initial_state by keyword, RNN stacks."""
    L = k.layers
    a = k.Input((7, 5))
    seq, h, c = L.LSTM(6, return_sequences=True, return_state=True)(a)
    g, gh = L.GRU(6, return_state=True, reset_after=False)(seq)
    s = L.SimpleRNN(4, return_sequences=True, use_bias=False)(seq)
    init = L.LSTM(6, name="init")(a, initial_state=[h, c])
    stacked = L.RNN([L.LSTMCell(5), L.GRUCell(3), L.SimpleRNNCell(2)], return_sequences=True,
                    return_state=True)(s)
    single = L.RNN(L.GRUCell(4), go_backwards=True)(a)
    return k.Model(a, [g, gh, init, *stacked, single])


@model
def bidirectional_all(k: Any) -> Any:
    """Bidirectional in every merge mode, with return_state and a same-size backward_layer."""
    L = k.layers
    a = k.Input((None, 4))
    outs = []
    for mode in ("concat", "sum", "mul", "ave", None):
        outs += list(k.tree.flatten(L.Bidirectional(L.LSTM(3, return_sequences=True),
                                                    merge_mode=mode)(a)))
    outs += L.Bidirectional(L.GRU(5, return_state=True))(a)
    outs += L.Bidirectional(L.SimpleRNN(2, return_state=True), merge_mode=None)(a)
    back = L.LSTM(3, go_backwards=True, return_sequences=True)
    outs.append(L.Bidirectional(L.LSTM(3, return_sequences=True), backward_layer=back)(a))
    return k.Model(a, outs)


@model
def conv_lstm_all(k: Any) -> Any:
    """ConvLSTM1D/2D/3D with return_sequences, return_state and padding."""
    L = k.layers
    a, b, c = k.Input((4, 10, 3)), k.Input((3, 8, 8, 2)), k.Input((2, 5, 5, 5, 1))
    x = L.ConvLSTM1D(4, 3, return_sequences=True)(a)
    y = L.ConvLSTM2D(3, (3, 2), padding="same", return_state=True)(b)
    z = L.ConvLSTM3D(2, 2, strides=2, use_bias=False)(c)
    return k.Model([a, b, c], [x, *y, z])


FORMATS = ("keras", "h5", "json")


# Keras 3 itself cannot write these as legacy .h5 ("cannot pickle 'module' object").
NO_H5 = frozenset({"preprocessing_layers"})


@pytest.mark.parametrize(("name", "fmt"), [(n, f) for n in sorted(BUILDERS) for f in FORMATS
                                           if not (f == "h5" and n in NO_H5)])
def test_layers_match_keras(keras: Any, name: str, fmt: str, tmp_path: Path) -> None:
    """Every layer's output shapes and parameter count equal Keras's; no warnings or errors."""
    net = BUILDERS[name](keras)
    expected = dict(keras_rows(net))
    assert mismatches(expected, analyse(save(net, tmp_path, fmt))) == []


def _real_run(net: Any, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Run the model on zeros and return the real output shapes."""
    import numpy as np

    outputs = net(np.zeros(shape, "float32"))
    return [tuple(t.shape) for t in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("mode", ["concat", None])
def test_asymmetric_backward_layer_against_real_outputs(keras: Any, mode: str | None, fmt: str,
                                                        tmp_path: Path) -> None:
    """Forward 4 + backward 6 units: Keras misreports the concat width, the real run does not."""
    L = keras.layers
    inputs = keras.Input((5, 3))
    back = L.LSTM(6, go_backwards=True, return_sequences=True, return_state=True)
    layer = L.Bidirectional(L.LSTM(4, return_sequences=True, return_state=True),
                            backward_layer=back, merge_mode=mode, name="bi")
    net = keras.Model(inputs, layer(inputs))
    real = _real_run(net, (2, 5, 3))
    row = analyse(save(net, tmp_path, fmt)).rows["bi"]
    assert [(None, *shape[1:]) for shape in real] == row.outputs
    assert row.params == row.spec_params == layer.count_params()


@pytest.mark.parametrize("kind", ["Attention", "MultiHeadAttention"])
def test_attention_scores_against_real_outputs(keras: Any, kind: str, tmp_path: Path) -> None:
    """Scores are (B, Tq, Tv) or (B, heads, Tq, Tv): checked on a real run with Tq != Tv."""
    L = keras.layers
    query, value = keras.Input((5, 4)), keras.Input((7, 4))
    if kind == "Attention":
        outputs = L.Attention(name="att")([query, value], return_attention_scores=True)
    else:
        outputs = L.MultiHeadAttention(2, 3, name="att")(query, value, return_attention_scores=True)
    net = keras.Model([query, value], list(outputs))
    import numpy as np

    real = net([np.zeros((2, 5, 4), "float32"), np.zeros((2, 7, 4), "float32")])
    row = analyse(save(net, tmp_path, "keras")).rows["att"]
    assert [(None, *t.shape[1:]) for t in real] == row.outputs
