"""Shared types: the model graph that loaders build and shape inference reads."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx

from graphcheck.findings import Problem

# A dimension is a static size, None (unknown, dynamic or the batch) or a symbol ("T", "batch").
Dim = int | str | None
Shape = tuple[Dim, ...]


@dataclass(frozen=True, kw_only=True)
class StoredWeight:
    """One weight as the file stores it: where, and its shape (never its values)."""

    key: str
    shape: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One layer (Keras) or operator (ONNX) as the file describes it."""

    name: str
    type: str
    config: Mapping[str, Any]
    module: str | None = None
    # None when the file carries no weights at all (architecture-only JSON).
    weights: tuple[StoredWeight, ...] | None = None
    # "path": keys are Keras 3 paths such as "cell/vars/0"; "order": keys follow layer.weights order.
    weights_match: Literal["path", "order"] = "path"
    # Input shape the file itself records (build_config), one entry per input tensor.
    declared_input: tuple[Shape, ...] | None = None
    # Non-tensor arguments of each call (return_attention_scores=True, training=False, ...).
    call_options: tuple[Mapping[str, Any], ...] = ()
    subgraph: ModelGraph | None = None
    # Where the file describes this layer ("config.json: config.layers[3]"), for messages.
    where: str = ""


@dataclass(frozen=True, kw_only=True)
class TensorRef:
    """A tensor: output ``tensor`` of call ``call`` of layer ``layer``."""

    layer: str
    call: int = 0
    tensor: int = 0


@dataclass(frozen=True, kw_only=True)
class ModelGraph:
    """A directed multigraph of layers plus the model's inputs and outputs.

    Nodes are layer names with a ``layer`` attribute. An edge src -> dst carries ``src_call``,
    ``src_tensor``, ``dst_call``, ``slot`` (position among the call's inputs), ``arg`` (the
    argument it feeds: "inputs", "initial_state", ...) and ``declared`` (the shape recorded in
    the file for that tensor, or None).
    """

    graph: nx.MultiDiGraph
    inputs: tuple[TensorRef, ...]
    outputs: tuple[TensorRef, ...]
    name: str = "model"

    def layer(self, name: str) -> Layer:
        """Return the layer stored on node ``name``."""
        layer: Layer = self.graph.nodes[name]["layer"]
        return layer

    def layers(self) -> list[Layer]:
        """Return the layers in insertion order (the file's order)."""
        return [data["layer"] for _, data in self.graph.nodes(data=True)]

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """Yield (qualified name, layer) for every layer, nested models' layers as "outer/inner"."""
        for layer in self.layers():
            yield prefix + layer.name, layer
            if layer.subgraph is not None:
                yield from layer.subgraph.walk(f"{prefix}{layer.name}/")


@dataclass(frozen=True, kw_only=True)
class Model:
    """What a loader returns: the graph plus facts about the file."""

    path: str
    format: str
    root: ModelGraph
    # Which shape functions and explanations apply: the key of shapes.register(framework, ...)
    # (the built-in loaders give "keras" or "onnx"; a plugin loader names its own).
    framework: str = "keras"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    has_weights: bool = True
    # Problems found while loading that do not stop the analysis (embedded pickles, skipped links).
    problems: tuple[Problem, ...] = ()


def new_graph() -> nx.MultiDiGraph:
    """Return an empty graph of the kind ModelGraph wraps."""
    return nx.MultiDiGraph()


def format_shape(shape: Shape | None) -> str:
    """Render a shape the way Keras prints it: ``(None, 10, 64)``."""
    if shape is None:
        return "(unknown)"
    parts = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def snake_case(name: str) -> str:
    """Convert a class name the way Keras names weight groups (``ConvLSTM1D`` -> ``conv_lstm1d``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()
