"""Oracle: keras_hub's building blocks, each in a small model, against keras_hub itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path
from graphcheck.findings import Severity
from tests.oracle.test_shapes_oracle_invalid import Edit, refused_edit_findings, setter
from tests.oracle_support import analyse, keras_rows, mismatches, save

pytestmark = pytest.mark.oracle

Builder = Callable[[Any, Any], Any]
BUILDERS: dict[str, Builder] = {}


def builder(fn: Builder) -> Builder:
    """Register a model builder (keras, keras_hub) -> Model under its function name."""
    BUILDERS[fn.__name__] = fn
    return fn


@pytest.fixture(scope="module")
def frameworks() -> tuple[Any, Any]:
    """Import Keras 3 and keras_hub (pinned in the test extra)."""
    import keras
    import keras_hub

    return keras, keras_hub


@builder
def encoders(k: Any, hub: Any) -> Any:
    """TransformerEncoder (post- and pre-norm, a padding mask, heads not dividing H) and FNetEncoder."""
    L = hub.layers
    x, mask = k.Input((6, 8)), k.Input((6,), dtype="bool")
    outs = [L.TransformerEncoder(intermediate_dim=16, num_heads=2)(x),
            L.TransformerEncoder(intermediate_dim=5, num_heads=3, normalize_first=True)(
                x, padding_mask=mask),
            L.TransformerEncoder(intermediate_dim=4, num_heads=3, activation="gelu")(x),
            L.FNetEncoder(intermediate_dim=12)(x)]
    return k.Model([x, mask], outs)


@builder
def decoders(k: Any, hub: Any) -> Any:
    """TransformerDecoder alone, with an encoder sequence (positional and by keyword) of another width."""
    L = hub.layers
    dec, enc = k.Input((6, 8)), k.Input((5, 12))
    outs = [L.TransformerDecoder(intermediate_dim=16, num_heads=2)(dec),
            L.TransformerDecoder(intermediate_dim=16, num_heads=2)(dec, enc),
            L.TransformerDecoder(intermediate_dim=7, num_heads=4, normalize_first=True)(
                dec, encoder_sequence=enc)]
    return k.Model([dec, enc], outs)


@builder
def embeddings(k: Any, hub: Any) -> Any:
    """Token/position tables (tied and untied, shorter input than the table) and fixed encodings."""
    L = hub.layers
    ids, x, heads = k.Input((6,), dtype="int32"), k.Input((6, 8)), k.Input((6, 2, 4))
    outs = [L.TokenAndPositionEmbedding(vocabulary_size=11, sequence_length=6, embedding_dim=8)(ids),
            L.TokenAndPositionEmbedding(vocabulary_size=11, sequence_length=9, embedding_dim=4,
                                        tie_weights=False)(ids),
            L.PositionEmbedding(sequence_length=10)(x), L.PositionEmbedding(sequence_length=6)(heads),
            L.ReversibleEmbedding(11, 8)(ids), L.ReversibleEmbedding(11, 8, tie_weights=False)(ids),
            L.SinePositionEncoding()(x), L.RotaryEmbedding()(x),
            L.RotaryEmbedding(sequence_axis=1, feature_axis=-1)(heads),
            L.RotaryEmbedding(sequence_axis=2, feature_axis=1)(k.layers.Permute((3, 1, 2))(heads))]
    return k.Model([ids, x, heads], outs)


@builder
def heads_and_attention(k: Any, hub: Any) -> Any:
    """MaskedLMHead, CachedMultiHeadAttention (self and cross), AlibiBias, RMSNormalization."""
    L = hub.layers
    x, enc = k.Input((6, 8)), k.Input((5, 3))
    positions, scores = k.Input((3,), dtype="int32"), k.Input((2, 6, 6))
    outs = [L.MaskedLMHead(vocabulary_size=13)(x, mask_positions=positions),
            L.MaskedLMHead(vocabulary_size=7, activation="softmax")(x, mask_positions=positions),
            L.CachedMultiHeadAttention(num_heads=2, key_dim=3)(x, x),
            L.CachedMultiHeadAttention(num_heads=2, key_dim=4, value_dim=5, output_shape=6)(x, enc),
            L.AlibiBias()(scores), L.RMSNormalization(input_dim=8)(x)]
    return k.Model([x, enc, positions, scores], outs)


@builder
def image_converters(k: Any, hub: Any) -> Any:
    """Every image converter graphcheck knows, resizing to a non-square size, and one that keeps it."""
    from graphcheck.shapes.keras.keras_hub import IMAGE_CONVERTERS

    image = k.Input((16, 12, 3))
    outs = [getattr(hub.layers, name)(image_size=(8, 6))(image) for name in IMAGE_CONVERTERS]
    return k.Model(image, [*outs, hub.layers.ImageConverter(image_size=None, scale=0.5)(image)])


@pytest.mark.parametrize(("name", "fmt"), [(n, f) for n in sorted(BUILDERS) for f in ("keras", "h5")])
def test_keras_hub_layers_match(frameworks: tuple[Any, Any], name: str, fmt: str,
                                tmp_path: Path) -> None:
    """Each layer's output shapes and parameters equal keras_hub's, with no finding."""
    net = BUILDERS[name](*frameworks)
    assert mismatches(dict(keras_rows(net)), analyse(save(net, tmp_path, fmt))) == []


def edit_base(k: Any, hub: Any) -> Any:
    """Build a valid model with the keras_hub blocks the edits below break."""
    L = hub.layers
    x, ids = k.Input((6, 8), name="x"), k.Input((6,), name="ids", dtype="int32")
    outs = [L.TransformerEncoder(intermediate_dim=4, num_heads=2, name="encoder")(x),
            L.RotaryEmbedding(name="rotary")(x),
            L.TokenAndPositionEmbedding(11, 6, 4, name="tokens")(ids)]
    return k.Model([x, ids], outs)


EDITS: dict[str, tuple[str, Edit]] = {
    "heads-over-hidden": ("encoder", setter("encoder", "num_heads", 9)),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_keras_hub_refuses_and_graphcheck_explains(frameworks: tuple[Any, Any], case: str,
                                                   tmp_path: Path) -> None:
    """keras_hub cannot rebuild the edited config; graphcheck reports an error on the block."""
    keras, hub = frameworks
    node, edit = EDITS[case]
    found = refused_edit_findings(keras, edit_base(keras, hub), edit, tmp_path)
    assert (node, "input-dim-mismatch") in found, found


def _short_table(k: Any, hub: Any) -> Any:
    """Build 6 token ids into a position table of 4."""
    ids = k.Input((6,), dtype="int32")
    return k.Model(ids, hub.layers.TokenAndPositionEmbedding(11, 4, 8, name="bad")(ids))


def _odd_rotary(k: Any, hub: Any) -> Any:
    """Build a rotary embedding over 7 features."""
    x = k.Input((6, 7))
    return k.Model(x, hub.layers.RotaryEmbedding(name="bad")(x))


# keras_hub builds these (their compute_output_shape just passes the shape on), but every call fails.
FAIL_WHEN_CALLED = {"position-table-shorter-than-input": _short_table, "rotary-odd-features": _odd_rotary}


@pytest.mark.parametrize("case", sorted(FAIL_WHEN_CALLED))
def test_keras_hub_fails_when_called_and_graphcheck_says_so(frameworks: tuple[Any, Any], case: str,
                                                            tmp_path: Path) -> None:
    """keras_hub saves the model but cannot run it on any input; graphcheck reports the block."""
    import numpy as np

    keras, hub = frameworks
    net = FAIL_WHEN_CALLED[case](keras, hub)
    with pytest.raises(Exception):  # noqa: B017 - the backend's error, whichever it is
        net(np.zeros((1, *net.input.shape[1:]), net.input.dtype))
    path = save(net, tmp_path, "keras")
    found = {(f.node, f.rule) for f in check_path(path, str(path)).findings}
    assert ("bad", "input-dim-mismatch") in found, found


def test_unedited_base_is_clean(frameworks: tuple[Any, Any], tmp_path: Path) -> None:
    """The base model itself gets no warning or error, so each edit is what breaks it."""
    path = save(edit_base(*frameworks), tmp_path, "json")
    assert [f for f in check_path(path, str(path)).findings if f.severity >= Severity.WARNING] == []
