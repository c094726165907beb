"""Walking a model's layer graph from rules: past shape-preserving layers, up and down."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphcheck.recurrent_facts import KERAS_GENERIC_RNN, SEQUENCE_CLASSES
from graphcheck.rules import Context

# Layers that keep their input's shape and meaning: a rule looks through them.
PASS_THROUGH = frozenset({
    "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ActivityRegularization",
    "Identity", "LayerNormalization", "BatchNormalization"})


def source_of(ctx: Context, name: str) -> str | None:
    """Return the layer feeding ``name``, looking through shape-preserving layers."""
    inputs = ctx.inference.nodes[name].inputs
    while len(inputs) == 1:
        node = ctx.inference.nodes[inputs[0]]
        if node.layer.type not in PASS_THROUGH:
            return inputs[0]
        inputs = node.inputs
    return None


def followers(ctx: Context, name: str) -> list[str]:
    """Return the layers ``name`` feeds, looking through shape-preserving layers."""
    found: list[str] = []
    frontier = [name]
    while frontier:
        current = frontier.pop()
        for other, node in ctx.inference.nodes.items():
            if current in node.inputs:
                (frontier if node.layer.type in PASS_THROUGH else found).append(other)
    return sorted(set(found))


def ancestors(ctx: Context, name: str) -> set[str]:
    """Return every layer upstream of ``name``."""
    seen: set[str] = set()
    frontier = list(ctx.inference.nodes[name].inputs)
    while frontier:
        current = frontier.pop()
        if current not in seen:
            seen.add(current)
            frontier += ctx.inference.nodes[current].inputs
    return seen


def sequence_config(ctx: Context, name: str) -> Mapping[str, Any] | None:
    """Return the recurrent config of ``name`` if it returns the whole sequence, else None."""
    layer = ctx.inference.nodes[name].layer
    config: Any = layer.config
    if layer.type == "Bidirectional":
        inner = config.get("layer")
        config = inner.get("config") if isinstance(inner, Mapping) else None
    elif layer.type not in SEQUENCE_CLASSES and layer.type != KERAS_GENERIC_RNN:
        return None
    return config if isinstance(config, Mapping) and config.get("return_sequences") else None
