"""Build graphcheck's graph from an ONNX GraphProto: nodes, edges, stored weights, subgraphs."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from graphcheck.findings import Problem
from graphcheck.graph import Layer, ModelGraph, Shape, StoredWeight, TensorRef, new_graph
from graphcheck.loaders.onnx_tensors import (
    STATE_ROLES,
    Feed,
    Flow,
    Source,
    Tensor,
    body_feeds,
    constant_tensor,
    output_values,
    stored_tensor,
)
from graphcheck.recurrent_facts import ONNX_OPS
from graphcheck.rule_names import RuleName

# The empty dict every node without attributes or known values shares (configs are read-only).
NONE: dict[str, Any] = {}

# The module recorded on every ONNX layer, so that shared code can tell ONNX nodes apart.
ONNX_MODULE = "onnx"

# Inputs of the recurrent ops by position: edges and stored weights are keyed by these roles.
RECURRENT_INPUTS: Mapping[str, tuple[str, ...]] = {op: kind.onnx_inputs for op, kind in ONNX_OPS.items()}


def value_shape(info: Any) -> Shape | None:
    """Return a ValueInfoProto's tensor shape: ints, symbols, None for unknown dims."""
    kind = info.type.WhichOneof("value")
    if kind != "tensor_type" or not info.type.tensor_type.HasField("shape"):
        return None
    dims: list[int | str | None] = []
    for dim in info.type.tensor_type.shape.dim:
        which = dim.WhichOneof("value")
        dims.append(dim.dim_value if which == "dim_value" else dim.dim_param if which else None)
    return shared(tuple(dims))


# One object per distinct shape: 100,000 tensors of a graph mostly share a handful of shapes.
_SHAPES: dict[Shape, Shape] = {}


def shared(shape: Shape) -> Shape:
    """Return the one stored copy of ``shape`` (a process-wide, bounded pool)."""
    if len(_SHAPES) > 65536:
        _SHAPES.clear()
    return _SHAPES.setdefault(shape, shape)


def tensor_shapes(graphs: Iterable[Any]) -> dict[str, Shape | None]:
    """Map every tensor name in a graph and its subgraphs (``all_graphs``) to the shape recorded for it."""
    shapes: dict[str, Shape | None] = {}
    for sub in graphs:
        for info in [*sub.input, *sub.output, *sub.value_info]:
            name = sys.intern(info.name)
            if shapes.get(name) is None:  # an output declared without a shape, in value_info with one
                shapes[name] = value_shape(info)
        for tensor in sub.initializer:
            shapes[sys.intern(tensor.name)] = shared(tuple(int(d) for d in tensor.dims))
    return shapes


@dataclass(kw_only=True)
class Scope:
    """Shapes of every tensor, and the names already taken by nodes."""

    shapes: dict[str, Shape | None]
    declared: dict[str, Shape | None]
    taken: set[str] = field(default_factory=set)
    # Per name, the suffix to try next: every lower one is taken, so probing never restarts.
    suffixes: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The model's ai.onnx opset: which version of each standard op its nodes are.
    opset: int | None = None

    def unique(self, name: str) -> str:
        """Return ``name``, else ``name#1``, ``name#2``, ...: the first that no other node has.

        Names are never given back, so the suffixes below the one remembered stay taken: each
        name's probes resume where they stopped, and 100,000 nodes sharing a name cost linear time.
        """
        index = self.suffixes.get(name, 0)
        candidate = name if index == 0 else f"{name}#{index}"
        while candidate in self.taken:
            index += 1
            candidate = f"{name}#{index}"
        self.suffixes[name] = index + 1
        self.taken.add(candidate)
        return candidate


@dataclass(kw_only=True)
class Names:
    """What the tensor names defined in one graph refer to; the enclosing graphs' names by ``outer``.

    A subgraph sees its own names first, then its parents': lookups walk up the (bounded) nesting
    instead of each Loop/If body copying every outer name, which made 4,000 If nodes quadratic.
    """

    producers: dict[str, tuple[str, int]] = field(default_factory=dict)
    initializers: dict[str, Tensor] = field(default_factory=dict)
    # Small integer values known for a name: initializers, Constant outputs, Identity/Cast of them.
    values: dict[str, tuple[int, ...]] = field(default_factory=dict)
    outer: Names | None = None

    def inner(self, proto: Any, prefix: str) -> Names:
        """Return the names a subgraph defines, its initializers first, seeing this graph's names."""
        own = {t.name: stored_tensor(t, f"init:{prefix}{t.name}") for t in proto.initializer}
        return Names(initializers=own, outer=self,
                     values={k: t.values for k, t in own.items() if t.values is not None})

    def _scope(self, name: str) -> Names | None:
        """Return the innermost graph's names that define ``name``, or None."""
        scope: Names | None = self
        while scope is not None and name not in scope.producers and name not in scope.initializers:
            scope = scope.outer
        return scope

    def lookup(self, name: str) -> tuple[tuple[str, int] | None, Tensor | None, tuple[int, ...] | None]:
        """Return what ``name`` is in one walk up the scopes: its producer, stored tensor, known values."""
        scope = self._scope(name)
        if scope is None:
            return None, None, None
        return scope.producers.get(name), scope.initializers.get(name), scope.values.get(name)

    def producer(self, name: str) -> tuple[str, int] | None:
        """Return the (node, output index) that ``name`` refers to, if a node produces it."""
        scope = self._scope(name)
        return scope.producers.get(name) if scope else None

    def initializer(self, name: str) -> Tensor | None:
        """Return the stored tensor that ``name`` refers to, if it is an initializer."""
        scope = self._scope(name)
        return scope.initializers.get(name) if scope else None

    def value(self, name: str) -> tuple[int, ...] | None:
        """Return the small integer values known for ``name``."""
        scope = self._scope(name)
        return scope.values.get(name) if scope else None

    def tensor_id(self, name: str) -> str:
        """Return the id of the tensor a name refers to ("" when undefined)."""
        return _tensor_id(*self.lookup(name)[:2])



def output_id(node: str, index: int) -> str:
    """Return the id of output ``index`` of ``node``: one string object however often it is read."""
    return sys.intern(f"out:{node}:{index}")


def _tensor_id(producer: tuple[str, int] | None, initializer: Tensor | None) -> str:
    """Return the id of a node's output or of a stored tensor ("" when neither)."""
    if producer is not None:
        return output_id(*producer)
    return initializer.id if initializer is not None else ""


class GraphBuilder:
    """Turns a GraphProto (and the subgraphs of Loop/Scan/If) into one ModelGraph."""

    def __init__(self, scope: Scope) -> None:
        """Start with an empty graph; subgraphs are flattened into it under their node's name."""
        self.scope = scope
        self.graph = new_graph()
        self.counters: dict[str, int] = {}
        self.flow = Flow()
        # The stored tensors each node reads or holds, and its inputs' tensor ids and roles.
        # Kept only for the nodes that need them (holding tensors; recurrent): a 100,000-node chain
        # of plain ops keeps nothing here.
        self.held: dict[str, list[Tensor]] = {}
        self.read: dict[str, list[tuple[str, str | None]]] = {}
        self.configs: dict[str, dict[str, Any]] = {}

    def build(self, proto: Any, prefix: str, outer: Names, feeds: Sequence[Feed] = ()) -> ModelGraph:
        """Add the graph's inputs, nodes and outputs; return the ModelGraph of the root.

        ``feeds`` are the outer tensors a Loop/Scan passes to the body's inputs, in order.
        """
        sources = [(outer.producer(name), outer.initializer(name), axis) for name, axis in feeds]
        names = outer.inner(proto, prefix)
        self.flow.stored.update(t.id for t in names.initializers.values())  # outer ones: already
        own = {t.name for t in proto.initializer}
        # IR < 4 lists initializers among the inputs too: those are weights, not inputs.
        listed = [info for info in proto.input if info.name not in own]
        inputs = [self._add_input(info, prefix, names, sources[i] if i < len(sources) else None)
                  for i, info in enumerate(listed)]
        for node in proto.node:
            self._add_node(node, prefix, names)
        outputs = [self._add_output(info, prefix, names) for info in proto.output]
        return ModelGraph(graph=self.graph, inputs=tuple(inputs), outputs=tuple(outputs),
                          name=proto.name or "model")

    def finish(self) -> None:
        """Record on each node the weights it reads or holds, and the recurrent states fed at run time."""
        # The builder's own config dicts, shared with no one yet: filled in place, not copied.
        for key, tensors in self.held.items():
            self.configs[key]["params"] = {t.id: t.shape for t in tensors
                                           if t.is_weight and not self.flow.state_only(t.id)}
        for key, read in self.read.items():
            self.configs[key]["runtime_states"] = [role for tensor, role in read if tensor and
                                                   role in STATE_ROLES and self.flow.runtime(tensor)]

    def _add_input(self, info: Any, prefix: str, names: Names, source: Source | None) -> TensorRef:
        """Add a graph input as a node of type Input, fed by the outer tensor a Loop/Scan passes it."""
        key = self.scope.unique(prefix + info.name)
        config: dict[str, Any] = {"outputs": [info.name], "shapes": [self.scope.shapes.get(info.name)],
                                  "declared": [value_shape(info)]}
        producer, initializer, axis = source or (None, None, None)
        if axis is not None:
            config["scan_axis"] = axis
        if initializer is not None:
            config["fed"] = list(initializer.shape)
        self._node(key, "Input", config)
        if producer is not None:
            self._edge(producer, key, 0, "inputs")
        self._define(info.name, key, 0, names)
        return TensorRef(layer=key)

    def _add_output(self, info: Any, prefix: str, names: Names) -> TensorRef:
        """Add a graph output as a node of type Output fed by the tensor's producer."""
        key = self.scope.unique(prefix + info.name)
        self._node(key, "Output", {"inputs": [info.name], "shapes": [self.scope.shapes.get(info.name)],
                                   "declared": [value_shape(info)]})
        producer = names.producer(info.name)
        if producer is not None:
            self._edge(producer, key, 0, "inputs")
        return TensorRef(layer=key)

    def _add_node(self, node: Any, prefix: str, names: Names) -> None:
        """Add one operator, its edges, stored weights and flattened subgraphs."""
        # Each protobuf field read once: every access builds a new wrapper object.
        # Interned: a tensor name is read by every node using it, and by every node of its op type.
        op = sys.intern(node.op_type)
        inputs, outputs = [sys.intern(n) for n in node.input], [sys.intern(n) for n in node.output]
        attributes = list(node.attribute)
        key = self.scope.unique(prefix + (node.name or self._generated(op)))
        standard = node.domain in ("", "ai.onnx")
        roles = RECURRENT_INPUTS.get(op, ()) if standard else ()
        weights: list[StoredWeight] = []
        held: dict[str, Tensor] = {}
        read = []
        known: list[tuple[int, ...] | None] = []
        for slot, name in enumerate(inputs):
            role = roles[slot] if slot < len(roles) else None
            producer, stored, values = names.lookup(name)
            known.append(values)
            read.append((_tensor_id(producer, stored) if name else "", role))
            if producer is not None:
                self._edge(producer, key, slot, role or "inputs")
            elif stored is not None:
                tensor = held.setdefault(stored.id, stored)
                if all(w.key != (role or name) for w in weights):
                    weights.append(StoredWeight(key=role or name, shape=tensor.shape))
            elif name:  # ONNX nodes are topologically sorted: a later definition is an error too
                self.scope.problems.append(Problem(rule=RuleName.UNREADABLE_MODEL, node=key, message=(
                    f"input {slot} reads tensor {name!r}, which no earlier node, graph input or "
                    "initializer defines")))
        constant = constant_tensor(node, output_id(key, 0)) if standard and op == "Constant" else None
        if constant is not None:
            held[constant.id] = constant
            self.flow.stored.add(constant.id)
        self.flow.read(key, op, read, tuple([output_id(key, i) for i, n in enumerate(outputs) if n]))
        config = self._config(node, inputs, outputs, attributes, known)
        self._node(key, op, config, weights=tuple(weights))
        if held:
            self.held[key], self.configs[key] = list(held.values()), config
        if op in RECURRENT_INPUTS:
            self.read[key], self.configs[key] = read, config
        result = output_values(node, known, constant)
        for index, name in enumerate(outputs):
            if name:
                self._define(name, key, index, names)
        if result is not None and outputs:
            names.values[outputs[0]] = result
        for attribute in attributes:
            for sub in _graphs_of(attribute):
                self.build(sub, f"{key}/{attribute.name}/", names, body_feeds(node, attribute.name))

    def distrust(self, failing: str | None) -> None:
        """Mark the node onnx's strict inference failed on, and all after it: its shapes are suspect."""
        if failing is None:
            return
        for key in {failing} | self.graph.descendants(failing):
            layer = self.graph.nodes[key]["layer"]
            self.graph.nodes[key]["layer"] = replace(layer, config={**layer.config, "untrusted": True})

    def _define(self, name: str, key: str, index: int, names: Names) -> None:
        """Make ``name`` refer to output ``index`` of node ``key`` from here on."""
        names.producers[name] = (key, index)
        names.initializers.pop(name, None)
        names.values.pop(name, None)

    def _config(self, node: Any, inputs: list[str], outputs: list[str], attributes: list[Any],
                known: Sequence[tuple[int, ...] | None]) -> dict[str, Any]:
        """Return the node's domain, attributes, tensor names, their shapes and known small values.

        ``known`` holds the small integer values known for each input, by slot.
        """
        domain = node.domain
        return {"domain": domain or "ai.onnx",
                "opset": self.scope.opset if domain in ("", "ai.onnx") else None,
                "values": {slot: list(values) for slot, values in enumerate(known)
                           if values is not None} or NONE,
                "attributes": {a.name: attribute_value(a) for a in attributes} or NONE,
                "inputs": inputs, "outputs": outputs,
                "shapes": [self.scope.shapes.get(n) if n else None for n in outputs],
                "declared": [self.scope.declared.get(n) if n else None for n in outputs]}

    def _generated(self, op_type: str) -> str:
        """Return a stable name for an unnamed node: ``LSTM_0``, ``LSTM_1``, ... in file order."""
        index = self.counters.get(op_type, 0)
        self.counters[op_type] = index + 1
        return f"{op_type}_{index}"

    def _node(self, key: str, type_: str, config: dict[str, Any],
              weights: tuple[StoredWeight, ...] = ()) -> None:
        """Add a node carrying its Layer."""
        layer = Layer(name=key, type=type_, config=config, module=ONNX_MODULE, weights=weights)
        self.graph.add_node(key, layer=layer)

    def _edge(self, source: tuple[str, int], dst: str, slot: int, arg: str) -> None:
        """Add an edge for one tensor; ``arg`` is the recurrent input's role, else "inputs"."""
        self.graph.add_edge(source[0], dst, src_call=0, src_tensor=source[1], dst_call=0,
                            slot=slot, arg=arg, declared=None)


def attribute_value(attribute: Any) -> Any:
    """Return an attribute as plain data; tensors give only their shape, graphs a placeholder."""
    from onnx import AttributeProto

    kind = attribute.type
    if kind == AttributeProto.INT:
        return int(attribute.i)
    if kind == AttributeProto.FLOAT:
        return float(attribute.f)
    if kind == AttributeProto.STRING:
        return attribute.s.decode("utf-8", "replace")
    if kind == AttributeProto.INTS:
        return [int(v) for v in attribute.ints]
    if kind == AttributeProto.FLOATS:
        return [float(v) for v in attribute.floats]
    if kind == AttributeProto.STRINGS:
        return [s.decode("utf-8", "replace") for s in attribute.strings]
    if kind == AttributeProto.TENSOR:
        return {"tensor": [int(d) for d in attribute.t.dims]}
    if kind in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
        return {"graph": attribute.name}
    return None


def _graphs_of(attribute: Any) -> list[Any]:
    """Return the subgraphs an attribute holds (Loop body, If branches, Scan body)."""
    from onnx import AttributeProto

    if attribute.type == AttributeProto.GRAPH:
        return [attribute.g]
    if attribute.type == AttributeProto.GRAPHS:
        return list(attribute.graphs)
    return []


def all_graphs(graph: Any) -> Iterable[Any]:
    """Yield a graph and every subgraph inside it, depth first."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            for sub in _graphs_of(attribute):
                yield from all_graphs(sub)
