"""Turn a Keras model config (Keras 3 or Keras 2 form) into a ModelGraph, without Keras."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import networkx as nx

from graphcheck.findings import LoadError
from graphcheck.graph import Layer, ModelGraph, Shape, StoredWeight, TensorRef, new_graph
from graphcheck.limits import current as current_limits
from graphcheck.loaders.keras_legacy import legacy_class, modernise

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
# tf_keras records a call on a TF function (x + y, tf.reshape, x[1:]) as one of these layers.
TF_OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})
# Keras 3 records an op called on symbolic tensors (x + 3.0, keras.ops.mean) as an Operation from
# one of these modules; its class name ("Add", "Reshape") is also a layer's, so the type gets this
# prefix to keep the two apart.
KERAS3_OP_MODULES = ("keras.src.ops.", "keras.ops.")
KERAS3_OP_PREFIX = "keras.ops."
# Where a Keras 2 inbound node passes a constant instead of a tensor (tf_keras engine/node.py).
CONSTANT_VALUE = "_CONSTANT_VALUE"
# Key of Layer.call_options holding an op layer's positional arguments, tensors as TENSOR_MARK.
ARGS_KEY = "__args__"
TENSOR_MARK = "__tensor__"


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


def obj(value: object, where: str) -> Mapping[str, Any]:
    """Return ``value`` as a JSON object or raise a LoadError that says where."""
    if not isinstance(value, Mapping):
        raise LoadError(f"{where} is {type(value).__name__}, expected an object")
    return value


def seq(value: object, where: str) -> list[Any]:
    """Return ``value`` as a JSON array or raise a LoadError that says where."""
    if not isinstance(value, list):
        raise LoadError(f"{where} is {type(value).__name__}, expected a list")
    return value


def shape_of(value: object, where: str) -> Shape:
    """Validate a JSON shape: a list of ints (>= 0) and nulls, within the rank and size limits."""
    items = seq(value, where)
    limits = current_limits()
    if len(items) > limits.max_rank:
        raise LoadError(f"{where} has rank {len(items)}, over the limit of {limits.max_rank} "
                        "(max_rank)")
    for dim in items:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 0):
            raise LoadError(f"{where} has dimension {dim!r}")
        if dim is not None and dim > limits.max_dim:
            raise LoadError(f"{where} has dimension {dim}, over the limit of {limits.max_dim} "
                            "(max_dim)")
    return tuple(items)


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
    return Layer(name=name, type=legacy_class(class_name), config=config, module=_module(entry),
                 weights=source.weights(name, class_name), weights_match=source.match,
                 declared_input=declared, where=where)


def is_keras3_op(entry: Mapping[str, Any]) -> bool:
    """Return True for a Keras 3 op layer (an Operation from keras.src.ops in a functional graph)."""
    module = entry.get("module")
    return isinstance(module, str) and module.startswith(KERAS3_OP_MODULES)


def is_op_entry(entry: Mapping[str, Any]) -> bool:
    """Return True for a layer entry that records a call on a function: TF op layers, Keras 3 ops."""
    return entry.get("class_name") in TF_OP_LAYERS or is_keras3_op(entry)


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
                     call_options=_call_options(e, f"{_dot(where)}config.layers[{i}]"))
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
            for slot, (arg, ref, declared) in enumerate(_node_tensors(node, at)):
                builder.connect(_shift(ref, inbound_offsets), layer.name, call=call, slot=slot, arg=arg,
                                declared=declared)
    inputs = tuple(_refs(config.get("input_layers"), f"{_dot(where)}config.input_layers"))
    outputs = tuple(_refs(config.get("output_layers"), f"{_dot(where)}config.output_layers"))
    return builder.finish(tuple(_shift(r, offsets) for r in inputs),
                          tuple(_shift(r, offsets) for r in outputs), name)


def _call_options(entry: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], ...]:
    """Return the non-tensor keyword arguments of each call in a layer's inbound_nodes.

    An op layer's positional arguments are kept too (under ARGS_KEY, tensors replaced by
    ``{TENSOR_MARK: i}``, i counting positional tensors): constants such as the 3.0 of
    ``x + 3.0`` are operands its shape function needs.
    """
    options = []
    op = is_op_entry(entry)
    for node in _inbound(entry):
        args: object = None
        if isinstance(node, Mapping):
            kwargs = node.get("kwargs")
            args = _mark_keras3(node.get("args", []), [0]) if op else None
        elif isinstance(node, list):
            kwargs = _keras2_kwargs(list(_keras2_items(node, f"{where}.inbound_nodes")))
            args = [_mark_keras2(node, [0])] if op else None
        else:
            kwargs = None
        found = ({k: v for k, v in kwargs.items() if not _holds_tensor(v)}
                 if isinstance(kwargs, Mapping) else {})
        options.append(found if args is None else {**found, ARGS_KEY: args})
    return tuple(options)


def _mark_keras3(value: object, count: list[int]) -> object:
    """Copy Keras 3 call arguments with each tensor replaced by its positional index."""
    if isinstance(value, list):
        return [_mark_keras3(v, count) for v in value]
    if isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__":
        count[0] += 1
        return {TENSOR_MARK: count[0] - 1}
    return value


def _mark_keras2(value: object, count: list[int]) -> object:
    """Copy a Keras 2 node's first argument with tensors as indices and constants as values."""
    if _is_item(value):
        assert isinstance(value, list)
        if value[0] == CONSTANT_VALUE:
            return value[2]
        count[0] += 1
        return {TENSOR_MARK: count[0] - 1}
    if isinstance(value, list):
        return [_mark_keras2(v, count) for v in value]
    return value


def _is_item(value: object) -> bool:
    """Return True for one Keras 2 node item: [layer, node, tensor(, kwargs)] (tf_keras's test)."""
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)


def _keras2_items(node: object, where: str) -> Iterator[list[Any]]:
    """Yield the items of a Keras 2 node: a list of items, one bare item (op layers) or nested."""
    if _is_item(node):
        assert isinstance(node, list)
        yield node
        return
    for index, item in enumerate(seq(node, where)):
        yield from _keras2_items(item, f"{where}[{index}]")


def _keras2_kwargs(items: list[list[Any]]) -> Mapping[str, Any]:
    """Return a Keras 2 call's keyword arguments: tf_keras copies them onto every item."""
    return next((i[3] for i in items if len(i) > 3 and isinstance(i[3], Mapping)), {})


def _holds_tensor(value: object) -> bool:
    """Return True for a keyword argument that is (or lists) tensors rather than an option."""
    if isinstance(value, list):
        return _is_triple(value) or any(_holds_tensor(v) for v in value)
    return isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__"


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
    return any(isinstance(node, list) for e in entries for node in _inbound(e))


def _inbound(entry: Mapping[str, Any]) -> list[Any]:
    """Return a layer's inbound_nodes when they are a list (anything else is reported later)."""
    nodes = entry.get("inbound_nodes")
    return nodes if isinstance(nodes, list) else []


def _starts_with_input(entry: Mapping[str, Any]) -> bool:
    """Return True when a Sequential config's first layer is an InputLayer."""
    layers = _get(_get(entry, "config"), "layers")
    return isinstance(layers, list) and bool(layers) and _get(layers[0], "class_name") == "InputLayer"


def _shift(ref: TensorRef, offsets: Mapping[str, int]) -> TensorRef:
    """Turn a saved node index into the index of the call among this file's inbound nodes."""
    offset = offsets.get(ref.layer, 0)
    return replace(ref, call=ref.call - offset) if offset and ref.call >= offset else ref


def _refs(value: object, where: str) -> Iterator[TensorRef]:
    """Read ``input_layers``/``output_layers``: one [name, node, tensor] triple or a list of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        yield _ref(value, where)
        return
    for index, item in enumerate(seq(value, where)):
        yield from _refs(item, f"{where}[{index}]")


def _ref(triple: object, where: str) -> TensorRef:
    """Read a [layer, node_index, tensor_index] triple."""
    items = seq(triple, where)
    if len(items) < 3 or not isinstance(items[0], str) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in items[1:3]):
        raise LoadError(f"{where}: {triple!r} is not [layer, node_index, tensor_index]")
    return TensorRef(layer=items[0], call=items[1], tensor=items[2])


Tensor = tuple[str, TensorRef, "Shape | None"]


def _node_tensors(node: object, where: str) -> list[Tensor]:
    """Return (arg, source, declared shape) for each tensor in one inbound node, in order."""
    if isinstance(node, Mapping):
        found = list(_keras3_tensors(node.get("args", []), "inputs", f"{where}.args"))
        for key, value in obj(node.get("kwargs", {}), f"{where}.kwargs").items():
            found += list(_keras3_tensors(value, str(key), f"{where}.kwargs.{key}"))
        return found
    # Keras 2: [[layer, node, tensor, kwargs], ...]; initial_state is folded into this list,
    # other tensors passed by keyword (MultiHeadAttention's value, a TF op's y) sit in the
    # kwargs, which tf_keras copies onto every item. An op layer's node keeps the structure of
    # its first argument: one bare item, or items nested in lists, constants among them.
    items = list(_keras2_items(node, where))
    tensors: list[Tensor] = []
    for index, item in enumerate(items):
        if item[0] != CONSTANT_VALUE:
            tensors.append(("inputs", _ref(item, f"{where}[{index}]"), None))
    for key, value in _keras2_kwargs(items).items():
        tensors += [(str(key), ref, None) for ref in _keras2_refs(value, f"{where}[0][3].{key}")]
    return tensors


def _keras2_refs(value: object, where: str) -> Iterator[TensorRef]:
    """Yield the [layer, node, tensor] triples in a Keras 2 call keyword, however nested."""
    if _is_triple(value):
        yield _ref(value, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keras2_refs(item, f"{where}[{index}]")


def _is_triple(value: object) -> bool:
    """Return True for a [str, int, int] tensor reference."""
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:]))


def _keras3_tensors(value: object, arg: str, where: str) -> Iterator[Tensor]:
    """Yield every ``__keras_tensor__`` nested in a Keras 3 call argument."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keras3_tensors(item, arg, f"{where}[{index}]")
    elif isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__":
        tensor = obj(value.get("config"), f"{where}.config")
        declared = shape_of(tensor["shape"], f"{where}.config.shape") if "shape" in tensor else None
        yield arg, _ref(tensor.get("keras_history"), f"{where}.config.keras_history"), declared


def walk_layers(model: ModelGraph, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """Yield (qualified name, layer) for every layer, nested models included."""
    for layer in model.layers():
        yield prefix + layer.name, layer
        if layer.subgraph is not None:
            yield from walk_layers(layer.subgraph, f"{prefix}{layer.name}/")

