"""Shape functions for image augmentation layers, RandomCrop/Height/Width and Pipeline."""

from __future__ import annotations

from dataclasses import replace

from graphcheck.findings import ShapeError
from graphcheck.graph import Shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import positive_int, require_rank
from graphcheck.shapes.keras.recurrent import inner_layer, prefixed, run_inner
from graphcheck.shapes.keras.wrappers import sublayer_groups

# Keras 3 augmentation layers whose compute_output_shape returns the input shape.
SHAPE_KEEPING = ("AugMix", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization",
                 "CutMix", "Equalization", "MixUp", "RandAugment", "RandomColorDegeneration",
                 "RandomColorJitter", "RandomElasticTransform", "RandomErasing",
                 "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
                 "RandomPerspective", "RandomPosterization", "RandomSaturation",
                 "RandomSharpness", "RandomShear", "Solarization", "MaxNumBoundingBoxes")


@register("keras", *SHAPE_KEEPING)
def augmentation(call: Call) -> LayerShapes:
    """Augmentation layers: images (B, H, W, C) or (H, W, C) keep their shape."""
    shape = call.single()
    require_rank(shape, (3, 4), call.layer.type)
    return LayerShapes(outputs=(shape,))


def _height_width_axes(call: Call) -> tuple[int, int]:
    """Return the (negative) height and width axes of an image by data_format."""
    return (-2, -1) if call.config.get("data_format") == "channels_first" else (-3, -2)


@register("keras", "RandomCrop")
def random_crop(call: Call) -> LayerShapes:
    """RandomCrop: the height and width axes become the configured height and width."""
    shape = list(call.single())
    require_rank(tuple(shape), (3, 4), "RandomCrop")
    h, w = _height_width_axes(call)
    shape[h], shape[w] = positive_int(call.config, "height"), positive_int(call.config, "width")
    return LayerShapes(outputs=(tuple(shape),))


@register("keras", "RandomHeight", "RandomWidth")
def random_height_width(call: Call) -> LayerShapes:
    """RandomHeight/RandomWidth (tf_keras): the resized axis has a random, unknown size."""
    shape = list(call.single())
    require_rank(tuple(shape), (3, 4), call.layer.type)
    h, w = _height_width_axes(call)
    shape[h if call.layer.type == "RandomHeight" else w] = None
    return LayerShapes(outputs=(tuple(shape),))


@register("keras", "Pipeline")
def pipeline(call: Call) -> LayerShapes:
    """Pipeline([layers]): each layer's output feeds the next."""
    entries = call.config.get("layers")
    if not isinstance(entries, list):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"is {entries!r}, not a list of layers",
                         field="config.layers")
    inners = [inner_layer(entry, f"layers[{index}]") for index, entry in enumerate(entries)]
    shape: Shape = call.single()
    weights: list[WeightSpec] = []
    for inner, group in zip(inners, sublayer_groups([i.type for i in inners])):
        step = run_inner(inner, replace(call, inputs=(shape,)))
        weights += prefixed(step.weights, f"layers/{group}", inner.name)
        if step.outputs[0] is None:
            return LayerShapes(outputs=(None,), weights=tuple(weights))
        shape = step.outputs[0]
    return LayerShapes(outputs=(shape,), weights=tuple(weights))
