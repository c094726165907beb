"""keras_hub (formerly keras_nlp) building blocks, keyed by their registered names ("keras_hub>X").

keras_hub registers its layers as ``keras_hub>ClassName``: a legacy .h5 stores that as the class
name, a .keras file stores the bare class name with the module, which the propagation turns back
into the registered name (so keras_hub's RMSNormalization is not read as Keras's own). The blocks
are built from Keras layers (MultiHeadAttention, Dense, LayerNormalization); their weights are
those layers' specs, under the attribute that holds each one (``self_attention_layer/...`` in a
.keras, in ``layer.weights`` order for an .h5).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Layer, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import positive_int, require_rank
from graphcheck.shapes.keras.core import reversible_embedding
from graphcheck.shapes.keras.recurrent import prefixed, run_inner

# keras_nlp registered the same classes under its own package name before the rename.
PACKAGES = ("keras_hub", "keras_nlp")


def hub(*names: str) -> tuple[str, ...]:
    """Return the registered names of keras_hub classes, under both package names."""
    return tuple(f"{package}>{name}" for name in names for package in PACKAGES)


@dataclass(frozen=True, kw_only=True)
class Part:
    """A Keras layer a block builds inside itself: where its weights live and its h5 name."""

    path: str
    name: str


def run_part(call: Call, part: Part, type_: str, config: dict[str, Any],
             inputs: tuple[Shape, ...]) -> LayerShapes:
    """Run a Keras layer's shape function for a sub-layer, its weights moved under ``part``."""
    inner = Layer(name=part.name, type=type_, config=config)
    shapes = run_inner(inner, replace(call, inputs=inputs, options={}))
    return replace(shapes, weights=tuple(prefixed(shapes.weights, part.path, part.name)))


def dense(call: Call, part: Part, shape: Shape, units: int) -> LayerShapes:
    """Run a Dense sub-layer of ``units``."""
    return run_part(call, part, "Dense", {"units": units}, (shape,))


def layer_norm(call: Call, part: Part, shape: Shape) -> LayerShapes:
    """Run a LayerNormalization sub-layer over the last axis."""
    return run_part(call, part, "LayerNormalization", {"axis": -1}, (shape,))


def attention(call: Call, part: Part, query: Shape, value: Shape, heads: int) -> LayerShapes:
    """Run a MultiHeadAttention sub-layer whose key and value size is hidden size // heads."""
    size = head_size(call, query, heads)
    config = {"num_heads": heads, "key_dim": size, "value_dim": size}
    return run_part(call, part, "MultiHeadAttention", config, (query, value))


def hidden_size(call: Call, shape: Shape) -> int:
    """Return the known last axis of a (batch, steps, hidden) input."""
    require_rank(shape, (3,), call.layer.type)
    hidden = shape[-1]
    if not isinstance(hidden, int):
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"{call.layer.type} sizes its weights from the "
                         f"hidden size, but the input {format_shape(shape)} has no known last axis")
    return hidden


def head_size(call: Call, shape: Shape, heads: int) -> int:
    """Return hidden // num_heads, as keras_hub computes each head's size."""
    hidden = hidden_size(call, shape)
    if hidden < heads:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"{call.layer.type} splits the hidden size {hidden} "
                         f"into num_heads={heads} heads: each head would have size 0")
    return hidden // heads


def feedforward(call: Call, shape: Shape, names: tuple[str, str], prefix: str) -> list[WeightSpec]:
    """Return the weights of a block's two Dense layers: hidden -> intermediate_dim -> hidden."""
    width = positive_int(call.config, "intermediate_dim")
    first = dense(call, Part(path=f"{prefix}{names[0]}", name=f"{prefix}{names[0]}"), shape, width)
    wide = first.outputs[0]
    assert wide is not None
    second = dense(call, Part(path=f"{prefix}{names[1]}", name=f"{prefix}{names[1]}"), wide,
                   hidden_size(call, shape))
    return [*first.weights, *second.weights]


def _norm(call: Call, shape: Shape, name: str) -> tuple[WeightSpec, ...]:
    """Return the weights of the LayerNormalization sub-layer held as ``name``."""
    return layer_norm(call, Part(path=name, name=name), shape).weights


@register("keras", *hub("TransformerEncoder"))
def transformer_encoder(call: Call) -> LayerShapes:
    """TransformerEncoder: self-attention and a feedforward block; (B, T, H) -> (B, T, H)."""
    # (return_attention_scores=True cannot be saved: its compute_output_shape gives one output.)
    shape = call.single()
    heads = positive_int(call.config, "num_heads")
    weights = [*attention(call, Part(path="self_attention_layer", name="self_attention_layer"),
                          shape, shape, heads).weights,
               *_norm(call, shape, "self_attention_layer_norm"),
               *_norm(call, shape, "feedforward_layer_norm"),
               *feedforward(call, shape, ("intermediate_dense", "output_dense"), "feedforward_")]
    return LayerShapes(outputs=(shape,), weights=tuple(weights))


def _encoder_sequence(call: Call) -> Shape | None:
    """Return the encoder sequence a decoder call attends to, positional or by keyword."""
    if len(call.inputs) > 1:
        return call.inputs[1]
    given = call.kwargs.get("encoder_sequence")
    return given[0] if given else None


def _cache(call: Call, name: str) -> tuple[Shape | None, ...]:
    """Return the shape of a cache the call passed (returned updated, same shape), or nothing."""
    given = call.kwargs.get(name)
    return (given[0],) if given else ()


@register("keras", *hub("TransformerDecoder"))
def transformer_decoder(call: Call) -> LayerShapes:
    """TransformerDecoder: self-attention, cross-attention when given an encoder sequence, feedforward."""
    shape = call.single()
    heads = positive_int(call.config, "num_heads")
    weights = [*attention(call, Part(path="self_attention_layer", name="self_attention"),
                          shape, shape, heads).weights,
               *_norm(call, shape, "self_attention_layer_norm")]
    encoder = _encoder_sequence(call)
    caches = _cache(call, "self_attention_cache")
    if encoder is not None:
        weights += attention(call, Part(path="cross_attention_layer", name="cross_attention"),
                             shape, encoder, heads).weights
        weights += _norm(call, shape, "cross_attention_layer_norm")
        caches += _cache(call, "cross_attention_cache") if caches else ()
    weights += feedforward(call, shape, ("intermediate_dense", "output_dense"), "feedforward_")
    weights += _norm(call, shape, "feedforward_layer_norm")
    return LayerShapes(outputs=(shape, *caches), weights=tuple(weights))


@register("keras", *hub("FNetEncoder"))
def f_net_encoder(call: Call) -> LayerShapes:
    """FNetEncoder: Fourier mixing and a feedforward block; (B, T, H) -> (B, T, H)."""
    shape = call.single()
    weights = [*_norm(call, shape, "mixing_layer_norm"), *_norm(call, shape, "output_layer_norm"),
               *feedforward(call, shape, ("intermediate_dense", "output_dense"), "")]
    return LayerShapes(outputs=(shape,), weights=tuple(weights))


@register("keras", *hub("CachedMultiHeadAttention"))
def cached_multi_head_attention(call: Call) -> LayerShapes:
    """CachedMultiHeadAttention: MultiHeadAttention that also returns the cache it was given."""
    shapes = run_inner(replace(call.layer, type="MultiHeadAttention"), call)
    return replace(shapes, outputs=(*shapes.outputs, *_cache(call, "cache")))


def _positions(call: Call, shape: Shape, length: int, axis: int) -> None:
    """Refuse a sequence longer than the learned position table (the slice fails at call time)."""
    steps = shape[axis] if len(shape) >= -axis else None
    if isinstance(steps, int) and steps > length:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"{call.layer.type} learned sequence_length={length} "
                         f"positions, but the input {format_shape(shape)} has {steps}")


def _position_table(length: int, width: Dim, path: str, name: str) -> WeightSpec:
    """Return the spec of a learned (sequence_length, width) position table."""
    return WeightSpec(name=name, path=path, shape=(length, width),
                      formula=f"(sequence_length, features) = ({length}, {width})")


@register("keras", *hub("PositionEmbedding"))
def position_embedding(call: Call) -> LayerShapes:
    """PositionEmbedding: a learned (sequence_length, features) table added to (..., T, features)."""
    shape = call.single()
    require_rank(shape, range(2, 8), call.layer.type)
    length = positive_int(call.config, "sequence_length")
    _positions(call, shape, length, -2)
    return LayerShapes(outputs=(shape,),
                       weights=(_position_table(length, shape[-1], "vars/0", "embeddings"),))


@register("keras", *hub("TokenAndPositionEmbedding"))
def token_and_position_embedding(call: Call) -> LayerShapes:
    """TokenAndPositionEmbedding: (B, T) ids -> (B, T, embedding_dim), token plus position tables."""
    shape = call.single()
    require_rank(shape, range(1, 8), call.layer.type)
    vocab = positive_int(call.config, "vocabulary_size")
    width = positive_int(call.config, "embedding_dim")
    length = positive_int(call.config, "sequence_length")
    _positions(call, shape, length, -1)
    token = run_part(call, Part(path="token_embedding", name="token_embedding"), "ReversibleEmbedding",
                     {"input_dim": vocab, "output_dim": width,
                      "tie_weights": call.config.get("tie_weights", True)}, (shape,))
    weights = (*token.weights, _position_table(length, width, "position_embedding/vars/0",
                                               "position_embedding/embeddings"))
    return LayerShapes(outputs=((*shape, width),), weights=weights)


@register("keras", *hub("RotaryEmbedding"))
def rotary_embedding(call: Call) -> LayerShapes:
    """RotaryEmbedding: rotates feature pairs by position; the shape is kept, features must be even."""
    shape = call.single()
    axes = {}
    for key, default in (("sequence_axis", 1), ("feature_axis", -1)):
        axis = call.config.get(key, default)
        if isinstance(axis, bool) or not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
            raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                             f"{key}={axis!r} is out of range for input {format_shape(shape)}")
        axes[key] = axis
    features = shape[axes["feature_axis"]]
    if isinstance(features, int) and features % 2:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"RotaryEmbedding rotates pairs of features: the "
                         f"feature axis of {format_shape(shape)} has odd size {features}")
    return LayerShapes(outputs=(shape,))


@register("keras", *hub("SinePositionEncoding"))
def sine_position_encoding(call: Call) -> LayerShapes:
    """SinePositionEncoding: fixed encodings shaped like its (..., T, features) input."""
    shape = call.single()
    require_rank(shape, range(2, 8), call.layer.type)
    return LayerShapes(outputs=(shape,))


@register("keras", *hub("AlibiBias"))
def alibi_bias(call: Call) -> LayerShapes:
    """AlibiBias: adds a per-head linear bias to (batch, heads, query, key) attention scores."""
    shape = call.single()
    require_rank(shape, (4,), call.layer.type)
    return LayerShapes(outputs=(shape,))


@register("keras", *hub("RMSNormalization"))
def rms_normalization(call: Call) -> LayerShapes:
    """keras_hub's RMSNormalization: a (input_dim,) scale over the last axis."""
    shape = call.single()
    width = positive_int(call.config, "input_dim")
    if shape and isinstance(shape[-1], int) and shape[-1] != width:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"RMSNormalization scales {format_shape(shape)} by "
                         f"a scale of shape ({width},): the last axis must be {width}")
    return LayerShapes(outputs=(shape,), weights=(WeightSpec(
        name="scale", path="vars/0", shape=(width,), formula=f"(input_dim,) = ({width},)"),))


register("keras", *hub("ReversibleEmbedding"))(reversible_embedding)


def _mask_positions(call: Call) -> Shape:
    """Return the (batch, masked) positions a MaskedLMHead gathers, positional or by keyword."""
    given = call.inputs[1:2] or call.kwargs.get("mask_positions") or ()
    if not given or given[0] is None:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, "MaskedLMHead needs mask_positions, the "
                         "(batch, masked) indices of the tokens to predict")
    return given[0]


@register("keras", *hub("MaskedLMHead"))
def masked_lm_head(call: Call) -> LayerShapes:
    """MaskedLMHead: gathers (B, P) positions of (B, T, F), Dense + LayerNorm, then vocabulary logits."""
    shape, positions = call.single(), _mask_positions(call)
    features = hidden_size(call, shape)
    embedding = call.config.get("token_embedding")
    if embedding is not None:
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, "MaskedLMHead shares a token_embedding: its weights "
                         "belong to the embedding layer, which the saved config copies")
    vocab = positive_int(call.config, "vocabulary_size")
    own = (WeightSpec(name="output_kernel", path="vars/0", shape=(features, vocab),
                      formula=f"(features, vocabulary_size) = ({features}, {vocab})"),
           WeightSpec(name="output_bias", path="vars/1", shape=(vocab,),
                      formula=f"(vocabulary_size,) = ({vocab},)"))
    inner = dense(call, Part(path="intermediate_dense", name="intermediate_dense"), shape, features)
    weights = (*own, *inner.weights, *_norm(call, shape, "intermediate_layer_norm"))
    return LayerShapes(outputs=((*positions, vocab),), weights=weights)


# keras_hub's ImageConverter and the model-specific subclasses that only change its defaults:
# each resizes images to image_size, then scales and offsets them (which keeps the shape).
IMAGE_CONVERTERS = (
    "ImageConverter", "BASNetImageConverter", "BLIP2ImageConverter", "CLIPImageConverter",
    "CSPNetImageConverter", "DFineImageConverter", "DINOV2ImageConverter", "DINOV3ImageConverter",
    "DeepLabV3ImageConverter", "DeiTImageConverter", "DenseNetImageConverter",
    "DepthAnythingImageConverter", "EfficientNetImageConverter", "Gemma3ImageConverter",
    "Gemma3nImageConverter", "HGNetV2ImageConverter", "MetaCLIP2ImageConverter",
    "MiTImageConverter", "MobileNetImageConverter", "MobileNetV5ImageConverter",
    "PARSeqImageConverter", "PaliGemmaImageConverter", "ResNetImageConverter",
    "RetinaNetImageConverter", "SAM3ImageConverter", "SAMImageConverter",
    "SegFormerImageConverter", "SigLIPImageConverter", "SwinTransformerImageConverter",
    "T5Gemma2ImageConverter", "VGGImageConverter", "ViTImageConverter",
    "VideoPrismImageConverter", "XceptionImageConverter")


@register("keras", *hub(*IMAGE_CONVERTERS))
def image_converter(call: Call) -> LayerShapes:
    """ImageConverter: (B, H, W, C) images resized to image_size, or kept when it is None."""
    shape = call.single()
    require_rank(shape, (4,), call.layer.type)
    size = call.config.get("image_size")
    if size is None:
        return LayerShapes(outputs=(shape,))
    if not isinstance(size, list) or len(size) != 2:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"is {size!r}, not [height, width]",
                         field="config.image_size")
    height = positive_int({"image_size[0]": size[0]}, "image_size[0]")
    width = positive_int({"image_size[1]": size[1]}, "image_size[1]")
    # The config does not record data_format: Keras's default (channels last) is what loads it.
    return LayerShapes(outputs=((shape[0], height, width, shape[3]),))
