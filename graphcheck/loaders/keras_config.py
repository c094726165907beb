"""Turn a Keras model config (Keras 3 or Keras 2 form) into a ModelGraph, without Keras."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import networkx as nx

from graphcheck.findings import LoadError
from graphcheck.graph import Layer, ModelGraph, Shape, StoredWeight, TensorRef, new_graph
from graphcheck.limits import current as current_limits
from graphcheck.loaders.keras_legacy import legacy_class, modernise
from graphcheck.loaders.keras_nodes import (
    call_options,
    inbound,
    is_keras3_op,
    node_tensors,
    obj,
    refs,
    seq,
    shape_of,
)
from graphcheck.op_layers import KERAS3_OP_PREFIX

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})


class WeightSource(Protocol):
    """Finds the stored weights of a layer; each file format has its own."""

    match: Literal["path", "order"]

    def container(self, name: str, class_name: str) -> WeightSource:
        """Return the source for the layers of a nested model."""

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the stored weights of the next layer (None when the file has none)."""


class NoWeights:
    """The weight source of an architecture-only file."""

    match: Literal["path", "order"] = "path"

    def container(self, name: str, class_name: str) -> WeightSource:
        """Return itself: nested models have no weights either."""
        return self

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return None: nothing is stored."""
        return None


@dataclass(kw_only=True)
class _Builder:
    """Accumulates one ModelGraph's nodes and edges."""

    source: WeightSource
    where: str
    graph: Any = field(default_factory=new_graph)

    def add(self, layer: Layer) -> None:
        """Add a layer node; a repeated name is a broken file."""
        if layer.name in self.graph:
            raise LoadError(f"{layer.where or self.where}: two layers are named {layer.name!r}")
        self.graph.add_node(layer.name, layer=layer)

    def finish(self, inputs: tuple[TensorRef, ...], outputs: tuple[TensorRef, ...],
               name: str) -> ModelGraph:
        """Return the graph once its inputs, outputs and edges are known to make sense."""
        for ref in (*inputs, *outputs):
            if ref.layer not in self.graph:
                raise LoadError(f"{_dot(self.where)}config names unknown layer {ref.layer!r} "
                                "as a model input or output")
        if not nx.is_directed_acyclic_graph(self.graph):
            cycle = [src for src, _, _ in nx.find_cycle(self.graph)]
            raise LoadError(f"{_dot(self.where)}config: the layers' inbound_nodes form a cycle: "
                            f"{' -> '.join([*cycle, cycle[0]])}")
        return ModelGraph(graph=self.graph, inputs=inputs, outputs=outputs, name=name)

    def connect(self, src: TensorRef, dst: str, *, call: int, slot: int, arg: str,
                declared: Shape | None) -> None:
        """Add an edge for one tensor flowing into one call of ``dst``."""
        if src.layer not in self.graph:
            raise LoadError(f"{self.where}: layer {dst!r} takes input from unknown layer "
                            f"{src.layer!r}")
        self.graph.add_edge(src.layer, dst, src_call=src.call, src_tensor=src.tensor,
                            dst_call=call, slot=slot, arg=arg, declared=declared)


def _dot(where: str) -> str:
    """Return ``where`` ready for a key: "config.json: " first, then dotted paths."""
    return f"{where}." if ": " in where else f"{where}: "


def untuple(value: Any) -> Any:
    """Replace tf_keras's ``{"class_name": "__tuple__", "items": [...]}`` with plain lists."""
    if isinstance(value, list):
        return [untuple(v) for v in value]
    if isinstance(value, Mapping):
        if value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
            return untuple(value["items"])
        return {k: untuple(v) for k, v in value.items()}
    return value


def build_model(entry: Mapping[str, Any], source: WeightSource, where: str) -> ModelGraph:
    """Build the graph of a Sequential or Functional model config entry."""
    class_name = entry.get("class_name")
    config = model_config(entry, where)
    layers = seq(config.get("layers"), f"{_dot(where)}config.layers")
    if len(layers) > current_limits().max_nodes:
        raise LoadError(f"{_dot(where)}config.layers has {len(layers)} layers, over the limit of "
                        f"{current_limits().max_nodes} (max_nodes)")
    name = str(config.get("name", class_name))
    if class_name == "Sequential" or "input_layers" not in config:
        return _sequential(entry, config, layers, source, where, name)
    return _functional(config, layers, source, where, name)


def model_config(entry: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """Return a model entry's config; Keras 1.x to 2.2.2 wrote a Sequential's as the bare layer list."""
    raw = entry.get("config")
    if isinstance(raw, list) and entry.get("class_name") == "Sequential":
        return {"layers": raw}
    return obj(raw, f"{_dot(where)}config")


def make_layer(entry: Mapping[str, Any], source: WeightSource, where: str,
               name: str | None = None) -> Layer:
    """Build one Layer, recursing into nested models and attaching stored weights."""
    class_name = entry.get("class_name")
    if not isinstance(class_name, str):
        raise LoadError(f"{_dot(where)}class_name is {class_name!r}")
    if class_name in MODEL_CLASSES:
        config = model_config(entry, where)
    else:
        config = modernise(class_name, obj(entry.get("config"), f"{_dot(where)}config"))
    name = name or str(entry.get("name") or config.get("name") or class_name)
    declared = _declared_input(entry, where)
    if class_name in MODEL_CLASSES:
        sub = build_model(entry, source.container(name, class_name), where)
        return Layer(name=name, type=class_name, config=config, module=_module(entry),
                     subgraph=sub, declared_input=declared, where=where)
    if is_keras3_op(entry):
        # An Operation, not a Layer: Keras keeps it out of model.layers and stores no weights.
        return Layer(name=name, type=KERAS3_OP_PREFIX + class_name, config=config,
                     module=_module(entry), weights=(), declared_input=declared, where=where)
    return Layer(name=name, type=legacy_class(class_name, config), config=config, module=_module(entry),
                 weights=source.weights(name, class_name), weights_match=source.match,
                 declared_input=declared, where=where)


def _module(entry: Mapping[str, Any]) -> str | None:
    """Return the module a layer class lives in, as the file claims it (never imported)."""
    module = entry.get("module")
    registered = entry.get("registered_name")
    # Keras writes registered_name "Functional" for its own classes: the module says more.
    return str(module or registered) if (module or registered) else None


def _declared_input(entry: Mapping[str, Any], where: str) -> tuple[Shape, ...] | None:
    """Return ``build_config.input_shape`` as a tuple of shapes, if the file records one."""
    build = entry.get("build_config")
    if not isinstance(build, Mapping) or build.get("input_shape") is None:
        return None
    raw = build["input_shape"]
    if isinstance(raw, list) and raw and all(isinstance(s, list) for s in raw):
        return tuple(shape_of(s, f"{_dot(where)}build_config.input_shape") for s in raw)
    if isinstance(raw, Mapping):
        return None
    return (shape_of(raw, f"{_dot(where)}build_config.input_shape"),)


def _sequential(entry: Mapping[str, Any], config: Mapping[str, Any], layers: list[Any],
                source: WeightSource, where: str, name: str) -> ModelGraph:
    """Chain the layers of a Sequential model, adding an InputLayer node when the file has none."""
    builder = _Builder(source=source, where=where)
    entries = [obj(e, f"{_dot(where)}config.layers[{i}]") for i, e in enumerate(layers)]
    if entries and entries[0].get("class_name") == "InputLayer":
        first = make_layer(entries[0], NoWeights(), f"{_dot(where)}config.layers[0]")
        entries = entries[1:]
        offset = 1
    else:
        first = Layer(name="input", type="InputLayer",
                      config={"batch_shape": list(_sequential_input(entry, config, entries))})
        offset = 0
    builder.add(first)
    previous = first.name
    for index, item in enumerate(entries):
        layer = make_layer(item, source, f"{_dot(where)}config.layers[{index + offset}]")
        builder.add(layer)
        builder.connect(TensorRef(layer=previous), layer.name, call=0, slot=0, arg="inputs",
                        declared=None)
        previous = layer.name
    return builder.finish((TensorRef(layer=first.name),), (TensorRef(layer=previous),), name)


def _sequential_input(entry: Mapping[str, Any], config: Mapping[str, Any],
                      entries: list[Mapping[str, Any]]) -> Shape:
    """Find the input shape of a Sequential model saved without an InputLayer entry."""
    first = entries[0] if entries else {}
    for candidate in (
        _get(first.get("config"), "batch_input_shape"),
        config.get("build_input_shape"),
        _get(entry.get("build_config"), "input_shape"),
        _get(first.get("build_config"), "input_shape"),
    ):
        if isinstance(candidate, list) and candidate and not isinstance(candidate[0], list):
            return shape_of(candidate, "Sequential input shape")
    raise LoadError("the Sequential model records no input shape (it was never built)")


def _get(value: object, key: str) -> object:
    """Return ``value[key]`` when value is a JSON object, else None."""
    return value.get(key) if isinstance(value, Mapping) else None


def _functional(config: Mapping[str, Any], layers: list[Any], source: WeightSource, where: str,
                name: str) -> ModelGraph:
    """Build a Functional model: nodes first, then edges from every layer's inbound_nodes."""
    builder = _Builder(source=source, where=where)
    entries = [obj(e, f"{_dot(where)}config.layers[{i}]") for i, e in enumerate(layers)]
    built = [replace(make_layer(e, source, f"{_dot(where)}config.layers[{i}]"),
                     call_options=call_options(e, f"{_dot(where)}config.layers[{i}]"))
             for i, e in enumerate(entries)]
    for layer in built:
        builder.add(layer)
    keras2 = _is_keras2(entries)
    offsets = _node_offsets(entries, built, keras2)
    # Keras 3 renumbers references inside inbound_nodes to skip a nested model's own node,
    # but not input_layers/output_layers; Keras 2 leaves both unrenumbered.
    inbound_offsets = offsets if keras2 else {}
    for index, (entry, layer) in enumerate(zip(entries, built)):
        inbound = seq(entry.get("inbound_nodes", []), f"{_dot(where)}config.layers[{index}].inbound_nodes")
        for call, node in enumerate(inbound):
            at = f"{_dot(where)}config.layers[{index}].inbound_nodes[{call}]"
            for slot, (arg, ref, declared) in enumerate(node_tensors(node, at)):
                builder.connect(_shift(ref, inbound_offsets), layer.name, call=call, slot=slot, arg=arg,
                                declared=declared)
    inputs = tuple(refs(config.get("input_layers"), f"{_dot(where)}config.input_layers"))
    outputs = tuple(refs(config.get("output_layers"), f"{_dot(where)}config.output_layers"))
    return builder.finish(tuple(_shift(r, offsets) for r in inputs),
                          tuple(_shift(r, offsets) for r in outputs), name)


def _node_offsets(entries: list[Mapping[str, Any]], built: list[Layer],
                  keras2: bool) -> dict[str, int]:
    """Return, per nested model, how far its saved node indices are from its calls in this file.

    A nested Functional model starts with a node of its own (input to output) that Keras keeps
    out of the config but still counts in references: its first call here is node 1. Keras 3
    does this for Functional only; Keras 2 also for a Sequential built with an InputLayer.
    """
    offsets = {}
    for entry, layer in zip(entries, built):
        if layer.type in ("Functional", "Model") or (
                keras2 and layer.type == "Sequential" and _starts_with_input(entry)):
            offsets[layer.name] = 1
    return offsets


def _is_keras2(entries: list[Mapping[str, Any]]) -> bool:
    """Return True when inbound_nodes use Keras 2's nested-list form."""
    return any(isinstance(node, list) for e in entries for node in inbound(e))


def _starts_with_input(entry: Mapping[str, Any]) -> bool:
    """Return True when a Sequential config's first layer is an InputLayer."""
    layers = _get(_get(entry, "config"), "layers")
    return isinstance(layers, list) and bool(layers) and _get(layers[0], "class_name") == "InputLayer"


def _shift(ref: TensorRef, offsets: Mapping[str, int]) -> TensorRef:
    """Turn a saved node index into the index of the call among this file's inbound nodes."""
    offset = offsets.get(ref.layer, 0)
    return replace(ref, call=ref.call - offset) if offset and ref.call >= offset else ref

