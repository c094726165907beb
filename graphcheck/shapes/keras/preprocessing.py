"""Shape functions for preprocessing layers: Normalization, encoders, lookups, text and audio."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import conv_length, positive_int, require_rank
from graphcheck.shapes.keras.normalization import axes_of


@register("keras", "Normalization")
def normalization(call: Call) -> LayerShapes:
    """Normalize with the shape kept: mean and variance per kept axis, a count; none if configured."""
    shape = call.single()
    raw = call.config.get("axis", -1)
    axes = [] if raw is None or raw == [] else axes_of(call.config, shape)
    kept = tuple(shape[a] for a in axes)
    if call.config.get("mean") is not None:  # constants from the config, no variables
        return LayerShapes(outputs=(shape,))
    what = f"input size along axis {axes}"
    return LayerShapes(outputs=(shape,), weights=(
        WeightSpec(name="mean", path="vars/0", shape=kept, formula=f"{what} = {format_shape(kept)}"),
        WeightSpec(name="variance", path="vars/1", shape=kept,
                   formula=f"{what} = {format_shape(kept)}"),
        WeightSpec(name="count", path="vars/2", shape=(), formula="a scalar")))


def _depth(call: Call, depth: Dim) -> Shape:
    """Return the output shape of an encoder that turns the last (sample) axis into ``depth``."""
    shape = call.single()
    mode = call.config.get("output_mode", "int")
    if mode == "int":
        return shape
    if not shape:
        return (depth,)
    if mode == "one_hot" and not (len(shape) > 1 and shape[-1] == 1):
        return (*shape, depth)
    return (*shape[:-1], depth)


@register("keras", "Discretization")
def discretization(call: Call) -> LayerShapes:
    """Discretization: bin indices (int), or an encoding over len(bin_boundaries)+1 bins."""
    shape = call.single()
    bounds = call.config.get("bin_boundaries")
    depth = len(bounds) + 1 if isinstance(bounds, list) else call.config.get("num_bins")
    depth = depth if isinstance(depth, int) else None
    mode = call.config.get("output_mode", "int")
    if mode in ("int", "one_hot"):
        return LayerShapes(outputs=(_depth(call, depth),))
    # multi_hot and count drop axis 1 and append the bins (keras' compute_output_shape)
    return LayerShapes(outputs=((shape[0], *shape[2:], depth) if len(shape) >= 2 else (depth,),))


@register("keras", "CategoryEncoding")
def category_encoding(call: Call) -> LayerShapes:
    """CategoryEncoding: the last axis becomes num_tokens (one_hot appends unless it is 1)."""
    shape = call.single()
    tokens = positive_int(call.config, "num_tokens")
    if not shape:
        return LayerShapes(outputs=((tokens,),))
    if call.config.get("output_mode", "multi_hot") == "one_hot" and (
            shape[-1] != 1 or len(shape) == 1):
        return LayerShapes(outputs=((*shape, tokens),))
    return LayerShapes(outputs=((*shape[:-1], tokens),))


@register("keras", "Hashing")
def hashing(call: Call) -> LayerShapes:
    """Hashing: bin ids of the input's shape, or the last axis encoded into num_bins."""
    bins = positive_int(call.config, "num_bins")
    shape = call.single()
    if call.config.get("output_mode", "int") == "int":
        return LayerShapes(outputs=(shape,))
    return LayerShapes(outputs=((*shape[:-1], bins) if shape else (bins,),))


@register("keras", "HashedCrossing")
def hashed_crossing(call: Call) -> LayerShapes:
    """HashedCrossing: two same-shaped features crossed into num_bins buckets."""
    if len(call.inputs) != 2:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"HashedCrossing crosses exactly 2 inputs, got {len(call.inputs)}")
    first, second = call.inputs
    if first and second and first[-1] is not None and second[-1] is not None and (
            first[-1] != second[-1]):
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"HashedCrossing needs identical input shapes, got "
                         f"{format_shape(first)} and {format_shape(second)}")
    bins = positive_int(call.config, "num_bins")
    mode = call.config.get("output_mode", "int")
    if mode == "int":
        return LayerShapes(outputs=(first,))
    if mode == "one_hot" and first and first[-1] != 1:
        return LayerShapes(outputs=((*first, bins),))
    return LayerShapes(outputs=((*first[:-1], bins),))


def lookup_depth(config: Mapping[str, Any]) -> Dim:
    """Return a lookup's encoding width: max_tokens when padded, else the frozen vocabulary size."""
    if config.get("pad_to_max_tokens") and isinstance(config.get("max_tokens"), int):
        return int(config["max_tokens"])
    size = config.get("vocabulary_size")
    if isinstance(size, int) and not isinstance(size, bool):
        return size
    vocabulary, oov = config.get("vocabulary"), config.get("num_oov_indices", 1)
    if isinstance(vocabulary, list) and isinstance(oov, int):
        # tf_keras records no vocabulary_size; encodings count OOV slots but never the mask.
        return len(vocabulary) + oov
    return None


@register("keras", "IntegerLookup", "StringLookup")
def lookup(call: Call) -> LayerShapes:
    """IntegerLookup/StringLookup: ids of the input's shape, or an encoding over the vocabulary."""
    return LayerShapes(outputs=(_depth(call, lookup_depth(call.config)),))


@register("keras", "TextVectorization")
def text_vectorization(call: Call) -> LayerShapes:
    """TextVectorization: (B, output_sequence_length) ids, or an encoding over the vocabulary."""
    shape = call.single()
    mode = call.config.get("output_mode", "int")
    if mode == "int":
        length = call.config.get("output_sequence_length")
        return LayerShapes(outputs=((shape[0], length if isinstance(length, int) else None),))
    if call.config.get("split", "whitespace") is None:
        tokens: Shape = (*shape, 1) if len(shape) <= 1 else shape
    else:
        # A (B, 1) batch of strings is squeezed before splitting: a real call gives (B, depth),
        # as tf_keras reports; Keras 3's compute_output_shape says (B, 1, depth).
        sentences = shape[:-1] if len(shape) == 2 and shape[-1] == 1 else shape
        tokens = (*sentences, None)
    depth = lookup_depth(call.config)
    if mode == "one_hot" and not (len(tokens) > 1 and tokens[-1] == 1):
        return LayerShapes(outputs=((*tokens, depth),))
    return LayerShapes(outputs=((*tokens[:-1], depth),))


@register("keras", "MelSpectrogram")
def mel_spectrogram(call: Call) -> LayerShapes:
    """MelSpectrogram: (B, T) audio -> (B, num_mel_bins, frames), frames as keras computes them."""
    shape = call.single()
    require_rank(shape, (1, 2), "MelSpectrogram")
    bins = positive_int({"num_mel_bins": call.config.get("num_mel_bins", 128)}, "num_mel_bins")
    stride = positive_int({"sequence_stride": call.config.get("sequence_stride", 512)},
                          "sequence_stride")
    steps = shape[-1]
    frames = (steps + stride + 1) // stride if isinstance(steps, int) else None
    return LayerShapes(outputs=((*shape[:-1], bins, frames),))


def _fft_length(config: Mapping[str, Any], frame: int) -> int:
    """Return STFTSpectrogram's FFT size: fft_length, else the next power of two of the frame."""
    raw = config.get("fft_length")
    if isinstance(raw, int) and raw > 0:
        return raw
    return 1 << (frame - 1).bit_length()


@register("keras", "STFTSpectrogram")
def stft_spectrogram(call: Call) -> LayerShapes:
    """STFTSpectrogram: a strided frame convolution; channels x frequency bins out."""
    shape = call.single()
    require_rank(shape, (3,), "STFTSpectrogram")
    frame = positive_int(call.config, "frame_length")
    raw = call.config.get("frame_step")
    step = raw if isinstance(raw, int) and raw > 0 else frame // 2
    bins = _fft_length(call.config, frame) // 2 + 1
    mode = call.config.get("mode", "log")
    freq = bins * 2 if mode == "stft" else bins
    first = call.config.get("data_format") == "channels_first"
    batch, steps, channels = (shape[0], shape[2], shape[1]) if first else shape
    padding = str(call.config.get("padding", "valid"))
    frames = conv_length(steps, frame, step, padding)
    if frames == 0:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"STFTSpectrogram frame_length={frame} is longer than "
                         f"the {steps} time steps of {format_shape(shape)} (padding={padding!r})")
    width = freq * channels if isinstance(channels, int) else None
    if call.config.get("expand_dims"):
        out: Shape = (batch, channels, frames, freq) if first else (batch, frames, freq, channels)
    else:
        out = (batch, width, frames) if first else (batch, frames, width)
    kernel = (frame, 1, bins)
    names = [n for n, skip in (("real_kernel", "imag"), ("imag_kernel", "real")) if mode != skip]
    return LayerShapes(outputs=(out,), weights=tuple(
        WeightSpec(name=n, path=f"vars/{i}", shape=kernel,
                   formula=f"(frame_length, 1, fft_length//2 + 1) = {format_shape(kernel)}")
        for i, n in enumerate(names)))
