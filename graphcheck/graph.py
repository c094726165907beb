"""Shared types: the model graph that loaders build and shape inference reads."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

from graphcheck.findings import Problem

if TYPE_CHECKING:
    import networkx as nx

# A dimension is a static size, None (unknown, dynamic or the batch) or a symbol ("T", "batch").
Dim = int | str | None
Shape = tuple[Dim, ...]


@dataclass(frozen=True, kw_only=True)
class StoredWeight:
    """One weight as the file stores it: where, and its shape (never its values)."""

    key: str
    shape: tuple[int, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
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


Attrs = dict[str, Any]
Edge = tuple[str, str]
DataEdge = tuple[str, str, Attrs]


class GraphCycleError(ValueError):
    """Raised by ``LayerGraph.topological_order`` on a graph with a cycle."""


class NodeView:
    """``graph.nodes``: ``nodes[name]`` is the node's attribute dict, ``nodes(data=True)`` pairs."""

    def __init__(self, attrs: dict[str, Attrs]) -> None:
        self._attrs = attrs

    def __getitem__(self, name: str) -> Attrs:
        return self._attrs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def __contains__(self, name: object) -> bool:
        return name in self._attrs

    @overload
    def __call__(self, data: Literal[False] = False) -> list[str]: ...
    @overload
    def __call__(self, data: Literal[True]) -> list[tuple[str, Attrs]]: ...

    def __call__(self, data: bool = False) -> list[str] | list[tuple[str, Attrs]]:
        """Return the node names, or (name, attributes) pairs, in insertion order."""
        return list(self._attrs.items()) if data else list(self._attrs)


class LayerGraph:
    """A directed multigraph of named nodes: the part of networkx's ``MultiDiGraph`` graphcheck uses.

    Same calls and the same iteration orders as networkx (nodes in insertion order, a node's
    edges grouped by neighbour in first-insertion order), so code written for one reads the
    other; ``to_networkx()`` gives the networkx graph. It exists because importing networkx
    costs more than reading a small model (docs/architecture.md, *Graph conventions*).
    """

    def __init__(self) -> None:
        self._attrs: dict[str, Attrs] = {}
        self._pred: dict[str, dict[str, list[Attrs]]] = {}
        self._succ: dict[str, dict[str, list[Attrs]]] = {}
        self._view = NodeView(self._attrs)
        self._edge_data: dict[tuple[tuple[str, Any], ...], Attrs] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._attrs

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    @property
    def nodes(self) -> NodeView:
        """The nodes: ``nodes[name]["layer"]``, ``nodes(data=True)``."""
        return self._view

    def add_node(self, name: str, **attrs: Any) -> None:
        """Add a node (or update an existing node's attributes)."""
        if name not in self._attrs:
            self._attrs[name] = {}
            self._pred[name] = {}
            self._succ[name] = {}
        self._attrs[name].update(attrs)

    def add_edge(self, src: str, dst: str, **attrs: Any) -> None:
        """Add one more edge src -> dst (parallel edges are kept), adding missing nodes."""
        for name in (src, dst):
            if name not in self._attrs:
                self.add_node(name)
        data = self._shared_data(attrs)
        self._succ[src].setdefault(dst, []).append(data)
        self._pred[dst].setdefault(src, []).append(data)

    def _shared_data(self, attrs: Attrs) -> Attrs:
        """Return an edge's attribute dict, one object per distinct content (read-only, like the edges).

        Most edges of a large graph carry the same few attribute sets (slot 0, first output):
        sharing them keeps a 100,000-node graph's edges from costing a dict each.
        """
        try:
            key = tuple(attrs.items())
            return self._edge_data.setdefault(key, attrs)
        except TypeError:  # an unhashable value: this edge keeps a dict of its own
            return dict(attrs)

    @overload
    def in_edges(self, name: str, data: Literal[False] = False) -> list[Edge]: ...
    @overload
    def in_edges(self, name: str, data: Literal[True]) -> list[DataEdge]: ...

    def in_edges(self, name: str, data: bool = False) -> list[Edge] | list[DataEdge]:
        """Return the edges into ``name`` as (src, name[, attributes])."""
        if data:
            return [(src, name, d) for src, ds in self._pred[name].items() for d in ds]
        return [(src, name) for src, ds in self._pred[name].items() for _ in ds]

    @overload
    def out_edges(self, name: str, data: Literal[False] = False) -> list[Edge]: ...
    @overload
    def out_edges(self, name: str, data: Literal[True]) -> list[DataEdge]: ...

    def out_edges(self, name: str, data: bool = False) -> list[Edge] | list[DataEdge]:
        """Return the edges out of ``name`` as (name, dst[, attributes])."""
        if data:
            return [(name, dst, d) for dst, ds in self._succ[name].items() for d in ds]
        return [(name, dst) for dst, ds in self._succ[name].items() for _ in ds]

    @overload
    def edges(self, data: Literal[False] = False) -> list[Edge]: ...
    @overload
    def edges(self, data: Literal[True]) -> list[DataEdge]: ...

    def edges(self, data: bool = False) -> list[Edge] | list[DataEdge]:
        """Return every edge as (src, dst[, attributes]), grouped by source."""
        if data:
            return [edge for name in self._attrs for edge in self.out_edges(name, data=True)]
        return [edge for name in self._attrs for edge in self.out_edges(name)]

    def number_of_nodes(self) -> int:
        """Return how many nodes there are (networkx's name)."""
        return len(self._attrs)

    def number_of_edges(self) -> int:
        """Return how many edges there are, parallel edges counted."""
        return sum(len(ds) for succ in self._succ.values() for ds in succ.values())

    def predecessors(self, name: str) -> Iterator[str]:
        """Yield the distinct nodes with an edge into ``name``."""
        return iter(self._pred[name])

    def successors(self, name: str) -> Iterator[str]:
        """Yield the distinct nodes ``name`` has an edge to."""
        return iter(self._succ[name])

    def topological_order(self) -> list[str]:
        """Return the nodes sources first, in networkx's ``topological_sort`` order."""
        waiting = {name: sum(map(len, preds.values())) for name, preds in self._pred.items()}
        generation = [name for name, count in waiting.items() if count == 0]
        order: list[str] = []
        while generation:
            order += generation
            ready: list[str] = []
            for name in generation:
                for dst, ds in self._succ[name].items():
                    waiting[dst] -= len(ds)
                    if waiting[dst] == 0:
                        ready.append(dst)
            generation = ready
        if len(order) != len(self._attrs):
            raise GraphCycleError("the graph has a cycle")
        return order

    def find_cycle(self) -> list[str] | None:
        """Return the nodes of one cycle in edge order, or None when the graph has none."""
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for root in self._attrs:
            if root in state:
                continue
            path, stack = [root], [iter(self._succ[root])]
            state[root] = 1
            while stack:
                dst = next(stack[-1], None)
                if dst is None:
                    state[path.pop()] = 2
                    stack.pop()
                elif state.get(dst) == 1:
                    return path[path.index(dst):]
                elif dst not in state:
                    state[dst] = 1
                    path.append(dst)
                    stack.append(iter(self._succ[dst]))
        return None

    def descendants(self, name: str) -> set[str]:
        """Return every node reachable from ``name`` (``name`` itself excluded)."""
        seen: set[str] = set()
        queue = deque([name])
        while queue:
            for dst in self._succ[queue.popleft()]:
                if dst not in seen:
                    seen.add(dst)
                    queue.append(dst)
        seen.discard(name)
        return seen

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return the same graph as a networkx ``MultiDiGraph`` (same nodes, edges, attributes)."""
        import networkx as nx

        graph = nx.MultiDiGraph()
        graph.add_nodes_from(self._attrs.items())
        graph.add_edges_from(self.edges(data=True))
        return graph


@dataclass(frozen=True, kw_only=True)
class ModelGraph:
    """A directed multigraph of layers plus the model's inputs and outputs.

    ``graph`` is a ``LayerGraph`` (``to_networkx()`` for networkx's algorithms). Nodes are
    layer names with a ``layer`` attribute. An edge src -> dst carries ``src_call``,
    ``src_tensor``, ``dst_call``, ``slot`` (position among the call's inputs), ``arg`` (the
    argument it feeds: "inputs", "initial_state", ...) and ``declared`` (the shape recorded in
    the file for that tensor, or None).
    """

    graph: LayerGraph
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

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return this level's graph as a networkx ``MultiDiGraph`` (nested models stay nodes)."""
        return self.graph.to_networkx()

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


def new_graph() -> LayerGraph:
    """Return an empty graph of the kind ModelGraph wraps."""
    return LayerGraph()


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
