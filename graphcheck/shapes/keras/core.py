"""Shape functions for the basic Keras layers: InputLayer, Dense, and shape-preserving layers."""

from __future__ import annotations

from graphcheck.findings import ShapeError
from graphcheck.graph import Shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import positive_int, require_rank


def batch_shape(config: object) -> Shape:
    """Return an InputLayer's full shape from Keras 3 ``batch_shape`` or Keras 2 ``batch_input_shape``."""
    if not isinstance(config, dict):
        raise ShapeError(RuleName.UNREADABLE_MODEL, "InputLayer config is not an object")
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if not isinstance(shape, list) or not all(d is None or isinstance(d, int) for d in shape):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"InputLayer batch_shape is {shape!r}")
    return tuple(shape)


@register("keras", "InputLayer")
def input_layer(call: Call) -> LayerShapes:
    """InputLayer: its declared batch shape, or the shape fed to a nested model's input."""
    if call.inputs:
        return LayerShapes(outputs=(call.single(),))
    return LayerShapes(outputs=(batch_shape(dict(call.config)),))


@register("keras", "Dense")
def dense(call: Call) -> LayerShapes:
    """Dense acts on the last axis only: (..., F) -> (..., units); a 3-D input stays 3-D."""
    shape = call.single()
    if len(shape) < 2:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"Dense expects at least rank 2 (batch, features), found {len(shape)}")
    units = positive_int(call.config, "units")
    features = shape[-1]
    weights = [WeightSpec(name="kernel", path="vars/0", shape=(features, units),
                          formula=f"(features, units) = ({features}, {units})")]
    if call.config.get("use_bias", True):
        weights.append(WeightSpec(name="bias", path="vars/1", shape=(units,),
                                  formula=f"(units,) = ({units},)"))
    return LayerShapes(outputs=((*shape[:-1], units),), weights=tuple(weights))


@register("keras", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
          "GaussianNoise", "GaussianDropout", "AlphaDropout", "Activation", "Masking",
          "ActivityRegularization", "ReLU", "LeakyReLU", "ELU", "Softmax",
          "ThresholdedReLU", "Identity", "UnitNormalization", "Rescaling", "RandomFlip",
          "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation",
          "RandomBrightness")
def identity(call: Call) -> LayerShapes:
    """Layers that keep the shape of their input."""
    return LayerShapes(outputs=(call.single(),))


@register("keras", "PReLU")
def prelu(call: Call) -> LayerShapes:
    """PReLU: a learned slope per input element, shared (size 1) along ``shared_axes``."""
    shape = call.single()
    raw = call.config.get("shared_axes") or []
    shared = {raw} if isinstance(raw, int) else set(raw) if isinstance(raw, list) else set()
    alpha = tuple(1 if axis in shared else dim for axis, dim in enumerate(shape) if axis > 0)
    return LayerShapes(outputs=(shape,), weights=(WeightSpec(
        name="alpha", path="vars/0", shape=alpha,
        formula=f"input shape without batch, 1 on shared_axes {sorted(shared)} = {alpha}"),))


@register("keras", "Embedding")
def embedding(call: Call) -> LayerShapes:
    """Embedding: integer ids (B, ...) -> (B, ..., output_dim); one row per id in input_dim."""
    shape = call.single()
    require_rank(shape, range(1, 8), "Embedding")
    vocab = positive_int(call.config, "input_dim")
    width = positive_int(call.config, "output_dim")
    return LayerShapes(outputs=((*shape, width),), weights=(WeightSpec(
        name="embeddings", path="vars/0", shape=(vocab, width),
        formula=f"(input_dim, output_dim) = ({vocab}, {width})"),))


@register("keras", "ReversibleEmbedding")
def reversible_embedding(call: Call) -> LayerShapes:
    """ReversibleEmbedding: Embedding, or (..., output_dim) -> (..., input_dim) with reverse=True."""
    shape = call.single()
    vocab = positive_int(call.config, "input_dim")
    width = positive_int(call.config, "output_dim")
    weights = [WeightSpec(name="embeddings", path="vars/0", shape=(vocab, width),
                          formula=f"(input_dim, output_dim) = ({vocab}, {width})")]
    if not call.config.get("tie_weights", True):
        weights.append(WeightSpec(name="reverse_embeddings", path="vars/1", shape=(width, vocab),
                                  formula=f"(output_dim, input_dim) = ({width}, {vocab})"))
    out = (*shape[:-1], vocab) if call.options.get("reverse") else (*shape, width)
    return LayerShapes(outputs=(out,), weights=tuple(weights))


@register("keras", "RandomFourierFeatures")
def random_fourier_features(call: Call) -> LayerShapes:
    """RandomFourierFeatures (tf_keras): (B, F) -> (B, output_dim) through a fixed random kernel."""
    shape = call.single()
    require_rank(shape, (2,), "RandomFourierFeatures")
    width = positive_int(call.config, "output_dim")
    # tf_keras lists trainable weights first: the scale, then the fixed kernel and bias.
    return LayerShapes(outputs=((shape[0], width),), weights=(
        WeightSpec(name="kernel_scale", path="vars/0", shape=(1,), formula="(1,)"),
        WeightSpec(name="unscaled_kernel", path="vars/1", shape=(shape[1], width),
                   formula=f"(features, output_dim) = ({shape[1]}, {width})"),
        WeightSpec(name="bias", path="vars/2", shape=(width,), formula=f"(output_dim,) = ({width},)")))
