"""Layers that wrap foreign code (Lambda, TFSMLayer, JAX/Flax, torch): described, never run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, register

# What each wrapper runs, and the config keys that say which code it is.
WRAPPED = {
    "Lambda": ("a Python function (bytecode or a named function)", ("function", "output_shape")),
    "TFSMLayer": ("a TensorFlow SavedModel loaded from disk", ("filepath", "call_endpoint")),
    "JaxLayer": ("JAX functions", ("call_fn", "init_fn")),
    "FlaxLayer": ("a Flax module", ("module", "method")),
    "TorchModuleWrapper": ("a pickled torch.nn.Module", ("output_shape",)),
}


def _describe(value: object) -> str:
    """Render a config value briefly: a serialized object by its class and module, else repr."""
    if isinstance(value, Mapping):
        inner = value.get("config")
        name = inner if isinstance(inner, str) else value.get("class_name")
        module = value.get("module")
        return f"{name!r}" + (f" from {module!r}" if module else "")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe(layer_type: str, config: Mapping[str, Any]) -> str:
    """Say what a foreign-code layer runs and what its config records about it."""
    what, keys = WRAPPED[layer_type]
    known = [f"{key}={_describe(config[key])}" for key in keys if config.get(key) is not None]
    recorded = f" (the config records {', '.join(known)})" if known else ""
    return (f"{layer_type} runs {what}{recorded}; graphcheck never runs it, so its output "
            "shape is unknown downstream")


@register("keras", *WRAPPED)
def foreign(call: Call) -> LayerShapes:
    """Report the wrapped code as unsupported: its output shape is only known by running it."""
    raise ShapeError(RuleName.UNSUPPORTED_LAYER, describe(call.layer.type, call.config))
