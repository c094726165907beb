"""Layer configs as Keras 1.x and early Keras 2 wrote them, read with today's key names.

Keras 2.0 accepted Keras 1 arguments through ``keras/legacy/interfaces.py`` (the
``generate_legacy_interface`` conversions: ``output_dim`` -> ``units``, ``nb_filter`` ->
``filters``, ``border_mode`` -> ``padding``, ...) and Keras 1 class names as aliases
(``Convolution2D`` = ``Conv2D``); this module applies the same conversions to a saved config so
the shape functions see one vocabulary. Nothing here runs code from the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from graphcheck.graph import StoredWeight
from graphcheck.recurrent_facts import GRU, KERAS1_GATE_LETTERS, KERAS1_WEIGHTS, KERAS_LAYERS

if TYPE_CHECKING:
    from graphcheck.loaders.keras_config import WeightSource

# Keras 1 class names that Keras 2.0 kept as aliases of the renamed classes.
CLASS_ALIASES = {
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "AtrousConvolution1D": "Conv1D", "AtrousConvolution2D": "Conv2D",
    "SeparableConvolution2D": "SeparableConv2D", "Deconvolution2D": "Conv2DTranspose",
    # Keras 1's TimeDistributedDense is Dense applied per step: Dense on (B, T, F) is the same
    # shape and the same two weights.
    "TimeDistributedDense": "Dense",
}
# Keras 1 (and 2.0's legacy) Merge layer: its mode names the merge layer Keras 2 replaced it with.
MERGE_MODES = {"sum": "Add", "mul": "Multiply", "ave": "Average", "max": "Maximum",
               "concat": "Concatenate", "dot": "Dot"}
_RECURRENT = (("output_dim", "units"), ("init", "kernel_initializer"),
              ("inner_init", "recurrent_initializer"), ("inner_activation", "recurrent_activation"),
              ("W_regularizer", "kernel_regularizer"), ("b_regularizer", "bias_regularizer"),
              ("U_regularizer", "recurrent_regularizer"), ("dropout_W", "dropout"),
              ("dropout_U", "recurrent_dropout"), ("consume_less", "implementation"))
_DENSE = (("output_dim", "units"), ("init", "kernel_initializer"),
          ("W_regularizer", "kernel_regularizer"), ("b_regularizer", "bias_regularizer"),
          ("W_constraint", "kernel_constraint"), ("b_constraint", "bias_constraint"),
          ("bias", "use_bias"))
_CONV = (("nb_filter", "filters"), ("filter_length", "kernel_size"),
         ("subsample_length", "strides"), ("subsample", "strides"), ("border_mode", "padding"),
         ("dim_ordering", "data_format"), ("init", "kernel_initializer"),
         ("W_regularizer", "kernel_regularizer"), ("b_regularizer", "bias_regularizer"),
         ("bias", "use_bias"), ("atrous_rate", "dilation_rate"))
_POOL = (("pool_length", "pool_size"), ("stride", "strides"), ("border_mode", "padding"),
         ("dim_ordering", "data_format"))
RENAMES: dict[str, tuple[tuple[str, str], ...]] = {
    **dict.fromkeys(KERAS_LAYERS, _RECURRENT), "Dense": _DENSE,
    "Embedding": (("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"),
                  ("W_constraint", "embeddings_constraint")),
    "Dropout": (("p", "rate"),), "SpatialDropout1D": (("p", "rate"),),
    "SpatialDropout2D": (("p", "rate"),), "GaussianDropout": (("p", "rate"),),
    "GaussianNoise": (("sigma", "stddev"),),
    **{name: _CONV for name in ("Conv1D", "Conv2D", "Conv3D", "SeparableConv2D", "Conv2DTranspose")},
    **{f"{kind}Pooling{rank}D": _POOL for kind in ("Max", "Average") for rank in (1, 2, 3)},
}
# Keras 1 wrote dim_ordering "tf"/"th"; Keras 2 reads them as data_format values.
DATA_FORMATS = {"tf": "channels_last", "th": "channels_first"}


def legacy_class(class_name: str, config: Mapping[str, Any]) -> str:
    """Return the Keras 2 name of a Keras 1 layer class (other names unchanged)."""
    if class_name == "Merge" and isinstance(config.get("mode"), str):
        return MERGE_MODES.get(config["mode"], class_name)
    return CLASS_ALIASES.get(class_name, class_name)


def modernise(class_name: str, config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``config`` with Keras 1 keys renamed as Keras 2.0 converted them; others unchanged.

    Wrapped layers (Bidirectional's and TimeDistributed's ``layer``) are converted too.
    """
    out = dict(config)
    for key in ("layer", "backward_layer"):
        inner = out.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("config"), Mapping):
            name = str(inner.get("class_name"))
            out[key] = {**inner, "class_name": legacy_class(name, inner["config"]),
                        "config": modernise(name, inner["config"])}
    if class_name == "Merge":
        out.setdefault("axis", out.get("concat_axis", -1))
        out.setdefault("axes", out.get("dot_axes", -1))
    renames = RENAMES.get(legacy_class(class_name, config), ())
    for old, new in renames:
        if old in out and new not in out:
            out[new] = out.pop(old)
    if out.get("data_format") in DATA_FORMATS:
        out["data_format"] = DATA_FORMATS[out["data_format"]]
    if "nb_row" in out and "kernel_size" not in out:  # Convolution2D(nb_filter, nb_row, nb_col)
        out["kernel_size"] = [out.pop("nb_row"), out.pop("nb_col", None)]
    if class_name == GRU.keras and "implementation" in out and "reset_after" not in out:
        # GRU got reset_after in Keras 2.1.3 (default False there); a config written before
        # that has `implementation` but no such key, and its bias is (3*units,).
        out["reset_after"] = False
    return out


# A Keras 1 recurrent weight: "<layer>_W_i", "<layer>_U_f:0", "forward_lstm_1_b_o" (one per gate).
_GATE_WEIGHT = re.compile(rf"^(?P<owner>.*)_(?P<kind>[{''.join(KERAS1_WEIGHTS)}])"
                          rf"_(?P<gate>[{''.join(KERAS1_GATE_LETTERS)}])(?::\d+)?$")


def fold_gates(weights: tuple[StoredWeight, ...]) -> tuple[StoredWeight, ...]:
    """Join Keras 1's per-gate recurrent weights into Keras 2's kernel, recurrent_kernel, bias.

    Keras 1 LSTM (consume_less "cpu"/"mem") stored W_i, U_i, b_i, W_c, ... : 12 arrays, GRU 9.
    Keras 2 loads them by concatenating each kind along the last axis
    (``preprocess_weights_for_loading`` for original_keras_version "1"); the shapes are those.
    """
    out: list[StoredWeight] = []
    groups: dict[tuple[str, str], list[StoredWeight]] = {}
    for weight in weights:
        match = _GATE_WEIGHT.match(weight.key)
        if match is None:
            out.append(weight)
            continue
        key = (match["owner"], match["kind"])
        if key not in groups:
            groups[key] = []
            out.append(StoredWeight(key=f"{match['owner']}_{match['kind']}", shape=()))
        groups[key].append(weight)
    return tuple(_joined(w, groups) for w in out)


def _joined(weight: StoredWeight, groups: dict[tuple[str, str], list[StoredWeight]]) -> StoredWeight:
    """Return a placeholder's concatenated shape (last axes summed), other weights unchanged."""
    owner, _, kind = weight.key.rpartition("_")
    parts = groups.get((owner, kind))
    if not parts:
        return weight
    first = parts[0].shape
    if any(p.shape[:-1] != first[:-1] or not p.shape for p in parts):
        return parts[0]  # not per-gate slices of one matrix: leave for the weight rules to judge
    return StoredWeight(key=weight.key, shape=(*first[:-1], sum(p.shape[-1] for p in parts)))


class Keras1Weights:
    """The weight source of a Keras 1 file: per-gate recurrent weights joined as Keras 2 does."""

    def __init__(self, inner: WeightSource) -> None:
        """Wrap the legacy .h5 weight source."""
        self.inner = inner
        self.match: Literal["path", "order"] = inner.match

    def container(self, name: str, class_name: str) -> WeightSource:
        """Return the wrapped source of a nested model."""
        return Keras1Weights(self.inner.container(name, class_name))

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the layer's weights with per-gate arrays joined and 1-D kernels made 3-D."""
        found = self.inner.weights(name, class_name)
        if found is None:
            return None
        found = fold_gates(found)
        if legacy_class(class_name, {}) == "Conv1D":
            found = tuple(_conv1d_kernel(w) for w in found)
        return found


def _conv1d_kernel(weight: StoredWeight) -> StoredWeight:
    """Keras 1 stored a Convolution1D kernel as a 2-D one; Keras 2 drops the unit axis on load.

    TensorFlow ordering (filter_length, 1, input_dim, nb_filter), Theano ordering
    (nb_filter, input_dim, filter_length, 1): both become (filter_length, input_dim, nb_filter).
    """
    shape = weight.shape
    if len(shape) == 4 and shape[1] == 1:
        return StoredWeight(key=weight.key, shape=(shape[0], shape[2], shape[3]))
    if len(shape) == 4 and shape[3] == 1:
        return StoredWeight(key=weight.key, shape=(shape[2], shape[1], shape[0]))
    return weight
