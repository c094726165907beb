"""Layer configs as Keras 1.x and early Keras 2 wrote them, read with today's key names.

Keras 2.0 accepted Keras 1 arguments through ``keras/legacy/interfaces.py`` (the
``generate_legacy_interface`` conversions: ``output_dim`` -> ``units``, ``nb_filter`` ->
``filters``, ``border_mode`` -> ``padding``, ...) and Keras 1 class names as aliases
(``Convolution2D`` = ``Conv2D``); this module applies the same conversions to a saved config so
the shape functions see one vocabulary. Nothing here runs code from the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Keras 1 class names that Keras 2.0 kept as aliases of the renamed classes.
CLASS_ALIASES = {
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "AtrousConvolution1D": "Conv1D", "AtrousConvolution2D": "Conv2D",
    "SeparableConvolution2D": "SeparableConv2D", "Deconvolution2D": "Conv2DTranspose",
}
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
    "LSTM": _RECURRENT, "GRU": _RECURRENT, "SimpleRNN": _RECURRENT, "Dense": _DENSE,
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


def legacy_class(class_name: str) -> str:
    """Return the Keras 2 name of a Keras 1 layer class (other names unchanged)."""
    return CLASS_ALIASES.get(class_name, class_name)


def modernise(class_name: str, config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``config`` with Keras 1 keys renamed as Keras 2.0 converted them; others unchanged."""
    renames = RENAMES.get(legacy_class(class_name), ())
    if not any(old in config for old, _ in renames) and class_name != "GRU":
        return config
    out = dict(config)
    for old, new in renames:
        if old in out and new not in out:
            out[new] = out.pop(old)
    if out.get("data_format") in DATA_FORMATS:
        out["data_format"] = DATA_FORMATS[out["data_format"]]
    if "nb_row" in out and "kernel_size" not in out:  # Convolution2D(nb_filter, nb_row, nb_col)
        out["kernel_size"] = [out.pop("nb_row"), out.pop("nb_col", None)]
    if class_name == "GRU" and "implementation" in out and "reset_after" not in out:
        # GRU got reset_after in Keras 2.1.3 (default False there); a config written before
        # that has `implementation` but no such key, and its bias is (3*units,).
        out["reset_after"] = False
    return out
