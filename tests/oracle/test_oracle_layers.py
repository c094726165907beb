"""Oracle: the layer classes beyond the basics, each in a small model, against Keras 3 and tf_keras."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.oracle.test_oracle_keras import BUILDERS as KERAS_BUILDERS
from tests.oracle_support import analyse, keras_rows, mismatches, save

pytestmark = pytest.mark.oracle

Builder = Callable[[Any], Any]
KERAS3: dict[str, Builder] = {}
TF_KERAS: dict[str, Builder] = {}


def keras3(fn: Builder) -> Builder:
    """Register a Keras 3 model builder under its function name."""
    KERAS3[fn.__name__] = fn
    return fn


def tf_keras(fn: Builder) -> Builder:
    """Register a tf_keras model builder under its function name."""
    TF_KERAS[fn.__name__] = fn
    return fn


@keras3
@tf_keras
def einsum_dense(k: Any) -> Any:
    """EinsumDense: plain, left- and right-elided equations, partial output shapes, bias axes."""
    L = k.layers
    a, b = k.Input((6,)), k.Input((5, 4))
    outs = [L.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c")(a),
            L.EinsumDense("abc,cd->abd", output_shape=(5, 7))(b),
            L.EinsumDense("abc,cde->abde", output_shape=(5, 2, 3), bias_axes="de")(b),
            L.EinsumDense("...b,bc->...c", output_shape=2, bias_axes="c")(b),
            L.EinsumDense("ab...,bc->ac...", output_shape=3, bias_axes="c")(b),
            L.EinsumDense("abc,bcd->ad", output_shape=2)(b)]
    return k.Model([a, b], outs)


@keras3
def grouped_query_attention(k: Any) -> Any:
    """GroupedQueryAttention with and without key, bias and gate."""
    L = k.layers
    q, v, key = k.Input((5, 8)), k.Input((7, 8)), k.Input((7, 3))
    outs = [L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2)(q, v),
            L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                                  use_bias=False)(q, v, key)]
    return k.Model([q, v, key], outs)


@keras3
def numeric_preprocessing(k: Any) -> Any:
    """Build Normalization (axes, given mean), Discretization, the encoders and HashedCrossing."""
    L = k.layers
    a, ids, cat = k.Input((4, 3)), k.Input((3,), dtype="int32"), k.Input((1,), dtype="int32")
    outs = [L.Normalization()(a), L.Normalization(axis=(1, 2))(a), L.Normalization(axis=None)(a),
            L.Normalization(mean=2.0, variance=4.0)(a),
            L.Discretization(bin_boundaries=[0.0, 1.0, 2.0])(a),
            L.Discretization(bin_boundaries=[0.5], output_mode="one_hot")(a),
            L.Discretization(bin_boundaries=[0.5, 1.5], output_mode="multi_hot")(a),
            L.CategoryEncoding(5)(ids), L.CategoryEncoding(5, output_mode="one_hot")(cat),
            L.CategoryEncoding(5, output_mode="count")(ids), L.Hashing(7)(ids),
            L.Hashing(7, output_mode="multi_hot")(ids),
            L.HashedCrossing(6)([cat, cat]), L.HashedCrossing(6, output_mode="one_hot")([cat, cat])]
    return k.Model([a, ids, cat], outs)


# Keras 3 reports (None, 1, 4) for it, but a real call returns (batch, 4), as graphcheck says:
# checked by test_text_vectorization_against_real_outputs instead.
TEXT_MULTI_HOT = "text_multi_hot"


@keras3
def lookups(k: Any) -> Any:
    """IntegerLookup and StringLookup with a vocabulary, TextVectorization (int, multi_hot)."""
    L = k.layers
    ids, words, text = k.Input((3,), dtype="int64"), k.Input((3,), dtype="string"), k.Input(
        (1,), dtype="string")
    outs = [L.IntegerLookup(vocabulary=[3, 5, 7])(ids),
            L.IntegerLookup(vocabulary=[3, 5, 7], output_mode="multi_hot")(ids),
            L.IntegerLookup(max_tokens=9, pad_to_max_tokens=True, output_mode="count",
                            vocabulary=[1, 2])(ids),
            L.StringLookup(vocabulary=["a", "b"])(words),
            L.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")(words),
            L.TextVectorization(vocabulary=["x", "y"], output_sequence_length=6)(text),
            L.TextVectorization(vocabulary=["x", "y", "z"], output_mode="multi_hot",
                                name=TEXT_MULTI_HOT)(text)]
    return k.Model([ids, words, text], outs)


@keras3
def audio(k: Any) -> Any:
    """MelSpectrogram and STFTSpectrogram in several modes, paddings and layouts."""
    L = k.layers
    wave, multi = k.Input((1000,)), k.Input((900, 2))
    outs = [L.MelSpectrogram(fft_length=256, sequence_stride=100, num_mel_bins=20)(wave),
            L.STFTSpectrogram(frame_length=64, frame_step=32)(multi),
            L.STFTSpectrogram(frame_length=50, mode="stft", padding="same")(multi),
            L.STFTSpectrogram(frame_length=64, fft_length=128, mode="real", expand_dims=True)(multi),
            L.STFTSpectrogram(frame_length=32, mode="imag", data_format="channels_first")(
                L.Permute((2, 1))(multi))]
    return k.Model([wave, multi], outs)


@keras3
def augmentation(k: Any) -> Any:
    """Every shape-keeping augmentation layer, RandomCrop and a Pipeline."""
    L = k.layers
    image = k.Input((24, 20, 3))
    outs = [L.AugMix()(image), L.AutoContrast()(image),
            L.ContrastLimitedAdaptiveHistogramEqualization(value_range=(0, 255))(image),
            L.CutMix()(image), L.MixUp()(image), L.RandAugment()(image),
            L.RandomColorDegeneration(0.2)(image), L.RandomColorJitter()(image),
            L.RandomElasticTransform()(image), L.RandomErasing()(image),
            L.RandomGaussianBlur()(image), L.RandomGrayscale()(image), L.RandomHue(0.2)(image),
            L.RandomInvert()(image), L.RandomPerspective()(image), L.RandomPosterization(4)(image),
            L.RandomSaturation(0.2)(image), L.RandomSharpness(0.2)(image),
            L.RandomShear(0.2)(image), L.Solarization()(image), L.RandomCrop(10, 8)(image),
            L.Pipeline([L.RandomFlip(), L.RandomCrop(12, 12), L.Resizing(6, 5)])(image),
            L.Pipeline([L.Normalization(), L.Dense(3), L.Dense(2)])(image)]
    return k.Model(image, outs)


@keras3
def adaptive_pooling(k: Any) -> Any:
    """Adaptive average/max pooling in 1D/2D/3D and channels_first."""
    L = k.layers
    a, b, c = k.Input((17, 3)), k.Input((9, 11, 4)), k.Input((6, 6, 5, 2))
    outs = [L.AdaptiveAveragePooling1D(4)(a), L.AdaptiveMaxPooling1D(5)(a),
            L.AdaptiveAveragePooling2D((2, 3))(b),
            L.AdaptiveMaxPooling2D(2, data_format="channels_first")(b),
            L.AdaptiveAveragePooling3D(2)(c), L.AdaptiveMaxPooling3D((1, 2, 3))(c)]
    return k.Model([a, b, c], outs)


@keras3
def embeddings_and_wrappers(k: Any) -> Any:
    """ReversibleEmbedding (tied, untied, reverse call) and SpectralNormalization."""
    L = k.layers
    ids, x, image = k.Input((4,), dtype="int32"), k.Input((4, 6)), k.Input((8, 8, 3))
    tied, untied = L.ReversibleEmbedding(20, 6), L.ReversibleEmbedding(20, 6, tie_weights=False)
    outs = [tied(ids), untied(ids), untied(x, reverse=True),
            L.SpectralNormalization(L.Dense(5))(x),
            L.SpectralNormalization(L.Conv2D(4, 3))(image)]
    return k.Model([ids, x, image], outs)


@keras3
@tf_keras
def rnn_cells(k: Any) -> Any:
    """Cells called on their own (one step), and RNN over StackedRNNCells."""
    L = k.layers
    x, h, c, g = k.Input((5,)), k.Input((4,)), k.Input((4,)), k.Input((3,))
    seq = k.Input((6, 5))
    outs = [*_flat(L.LSTMCell(4)(x, [h, c])), *_flat(L.GRUCell(3)(x, [g])),
            *_flat(L.SimpleRNNCell(3)(x, [g])),
            *_flat(L.StackedRNNCells([L.LSTMCell(4), L.GRUCell(3)])(x, [[h, c], [g]])),
            L.RNN(L.StackedRNNCells([L.SimpleRNNCell(3), L.LSTMCell(2)]))(seq)]
    return k.Model([x, h, c, g, seq], outs)


def _flat(value: Any) -> list[Any]:
    """Flatten a cell's (output, [states]) structure into a list of tensors."""
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _flat(item)]
    return [value]


@tf_keras
def locally_connected(k: Any) -> Any:
    """LocallyConnected1D/2D in all three implementations, with padding and channels_first."""
    L = k.layers
    a, b = k.Input((10, 3)), k.Input((7, 6, 2))
    outs = [L.LocallyConnected1D(4, 3)(a), L.LocallyConnected1D(2, 2, strides=2, implementation=2)(a),
            L.LocallyConnected1D(3, 3, implementation=3, use_bias=False)(a),
            L.LocallyConnected2D(3, (3, 2))(b),
            L.LocallyConnected2D(2, 2, strides=2, implementation=2, padding="same")(b),
            L.LocallyConnected2D(2, 3, implementation=3)(b),
            L.LocallyConnected2D(2, 2, data_format="channels_first", implementation=2)(b)]
    return k.Model([a, b], outs)


@tf_keras
def tf_keras_preprocessing(k: Any) -> Any:
    """tf_keras's Normalization, encoders, lookups and RandomCrop/Height/Width."""
    L = k.layers
    a, ids, image = k.Input((4, 3)), k.Input((3,), dtype="int64"), k.Input((24, 20, 3))
    outs = [L.Normalization()(a), L.Normalization(axis=(1, 2))(a),
            L.Discretization(bin_boundaries=[0.0, 1.0])(a), L.CategoryEncoding(9)(ids),
            L.Hashing(7)(ids), L.IntegerLookup(vocabulary=[3, 5, 7])(ids),
            L.IntegerLookup(vocabulary=[3, 5], output_mode="multi_hot")(ids),
            L.RandomCrop(10, 8)(image), L.RandomHeight(0.2)(image), L.RandomWidth(0.2)(image)]
    return k.Model([a, ids, image], outs)


@tf_keras
def tf_keras_images_and_text(k: Any) -> Any:
    """tf_keras's image layers, group/unit normalization, HashedCrossing, string lookups, text."""
    L = k.layers
    image, a = k.Input((20, 16, 3)), k.Input((4, 6))
    cat, text = k.Input((1,), dtype="int64"), k.Input((1,), dtype="string")
    images = k.Sequential([L.Rescaling(1 / 255), L.RandomFlip(), L.RandomRotation(0.1),
                           L.RandomZoom(0.1), L.RandomContrast(0.1), L.RandomTranslation(0.1, 0.1),
                           L.RandomBrightness(0.1), L.Resizing(12, 10), L.CenterCrop(8, 6)],
                          name="images")
    outs = [images(image), L.GroupNormalization(2)(a), L.UnitNormalization()(a),
            L.HashedCrossing(5)([cat, cat]), L.StringLookup(vocabulary=["a", "b"])(text),
            L.StringLookup(vocabulary=["a"], output_mode="one_hot")(text),
            L.TextVectorization(vocabulary=["x", "y"], output_sequence_length=4)(text),
            L.TextVectorization(vocabulary=["x", "y"], output_mode="multi_hot")(text)]
    return k.Model([image, a, cat, text], outs)


@keras3
@tf_keras
def application_layers(k: Any) -> Any:
    """Build the layers keras.applications defines: LayerScale, StochasticDepth, CustomScaleLayer."""
    import importlib

    package = "keras.src.applications" if hasattr(k, "ops") else "tf_keras.src.applications"
    convnext = importlib.import_module(f"{package}.convnext")
    inception = importlib.import_module(f"{package}.inception_resnet_v2")
    L = k.layers
    image = k.Input((6, 6, 8))
    x = convnext.LayerScale(1e-6, 8)(image)
    x = convnext.StochasticDepth(0.1)(x)
    return k.Model(image, inception.CustomScaleLayer(0.2)([image, L.Conv2D(8, 1)(x)]))


@keras3
@tf_keras
def activations_and_noise(k: Any) -> Any:
    """Activation layers, dropouts, noise, Masking, Identity and ActivityRegularization."""
    L = k.layers
    a, image, volume = k.Input((6, 4)), k.Input((5, 5, 3)), k.Input((3, 4, 4, 2))
    outs = [L.ReLU(max_value=6.0)(a), L.LeakyReLU()(a), L.ELU()(a), L.Softmax(axis=1)(a),
            L.Activation("tanh")(a), L.Identity()(a), L.Masking()(a), L.Dropout(0.2)(a),
            L.SpatialDropout1D(0.2)(a), L.SpatialDropout2D(0.2)(image),
            L.SpatialDropout3D(0.2)(volume), L.GaussianNoise(0.1)(a), L.GaussianDropout(0.1)(a),
            L.AlphaDropout(0.1)(a), L.ActivityRegularization(l1=0.01)(a)]
    if hasattr(L, "ThresholdedReLU"):  # tf_keras only
        outs.append(L.ThresholdedReLU()(a))
    if hasattr(L, "experimental"):  # tf_keras only
        outs += [L.experimental.SyncBatchNormalization()(image),
                 L.experimental.RandomFourierFeatures(7)(L.Flatten()(a))]
    return k.Model([a, image, volume], outs)


# Keras 3 builders whose layers tf_keras has too: built with tf_keras as well.
SHARED_WITH_TF_KERAS = ("attention_all", "conv_lstm_all", "conv_stack",
                        "conv_variants", "merging_all", "pooling_all", "reshaping_all",
                        "sequential_image", "time_distributed", "embedding_text")
TF_KERAS.update({f"shared_{name}": KERAS_BUILDERS[name] for name in SHARED_WITH_TF_KERAS})


@pytest.fixture(scope="session")
def keras() -> Any:
    """Import Keras 3 once per session."""
    import keras as keras3

    keras3.utils.set_random_seed(0)
    return keras3


@pytest.fixture(scope="session")
def tfk() -> Any:
    """Import tf_keras once per session."""
    import tf_keras as tfk

    tfk.utils.set_random_seed(0)
    return tfk


# Keras 3 cannot write these as legacy .h5 (string tensors, layers holding modules).
KERAS3_NO_H5 = frozenset({"lookups", "augmentation", "numeric_preprocessing"})


@pytest.mark.parametrize(("name", "fmt"), [(n, f) for n in sorted(KERAS3) for f in ("keras", "h5", "json")
                                           if not (f == "h5" and n in KERAS3_NO_H5)])
def test_keras3_layers_match(keras: Any, name: str, fmt: str, tmp_path: Path) -> None:
    """Each layer's output shapes and parameters equal Keras 3's."""
    net = KERAS3[name](keras)
    skip = frozenset({TEXT_MULTI_HOT})
    assert mismatches(dict(keras_rows(net)), analyse(save(net, tmp_path, fmt)), skip) == []


def test_text_vectorization_against_real_outputs(keras: Any, tmp_path: Path) -> None:
    """A multi_hot TextVectorization on (batch, 1) strings: graphcheck's shape is the real one."""
    import numpy as np

    net = lookups(keras)
    text = np.array([["x y"], ["z"]])
    real = net([np.zeros((2, 3), "int64"), np.array([["a"] * 3] * 2), text])[-1]
    row = analyse(save(net, tmp_path, "keras")).rows[TEXT_MULTI_HOT]
    assert row.outputs == [(None, *real.shape[1:])]


@pytest.mark.parametrize(("name", "fmt"), [(n, f) for n in sorted(TF_KERAS) for f in ("h5", "keras")])
def test_tf_keras_layers_match(tfk: Any, name: str, fmt: str, tmp_path: Path) -> None:
    """Each layer's output shapes and parameters equal tf_keras's."""
    net = TF_KERAS[name](tfk)
    assert mismatches(dict(keras_rows(net)), analyse(save(net, tmp_path, fmt))) == []
