"""The layers of an analysed model as explanations see them: weights, parameters, nesting."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from graphcheck.explanations import COUNTINGS, import_explanations
from graphcheck.graph import Dim, Model, Shape
from graphcheck.shapes import WeightSpec
from graphcheck.shapes.dims import product
from graphcheck.shapes.propagate import Inference, NodeResult


@dataclass(frozen=True, kw_only=True)
class NodeView:
    """One layer with what inference learnt about it; explanation functions read these."""

    framework: str
    name: str
    type: str
    inputs: tuple[str, ...]
    output_shapes: tuple[Shape | None, ...]
    params: int | None
    weights: dict[str, tuple[Dim, ...]]
    specs: tuple[WeightSpec, ...]
    node: NodeResult
    # The enclosing nested model's name (None at top level) and how deep it is nested.
    parent: str | None = None
    depth: int = 0

    @property
    def label(self) -> str:
        """Return the name inside its enclosing model."""
        return self.name.removeprefix(f"{self.parent}/") if self.parent else self.name


def stored_or_expected(node: NodeResult) -> dict[str, tuple[Dim, ...]]:
    """Return the layer's weights by logical name: stored shapes where the file has them."""
    specs = list(node.weights or ())
    stored = list(node.layer.weights or ())
    if not stored:
        return {s.name: s.shape for s in specs}
    if node.layer.weights_match == "order":
        names = [s.name for s in specs] + [w.key for w in stored[len(specs):]]
        return {name: w.shape for name, w in zip(names, stored)}
    by_path = {s.path: s.name for s in specs}
    return {by_path.get(w.key, w.key): w.shape for w in stored if "seed_generator" not in w.key}


def param_count(weights: dict[str, tuple[Dim, ...]]) -> int | None:
    """Sum the element counts of the weights; None when any size is unknown."""
    total = 0
    for shape in weights.values():
        size = product(shape)
        if not isinstance(size, int):
            return None
        total += size
    return total


def nodes(model: Model, inference: Inference) -> Iterator[NodeView]:
    """Yield a view of every layer in file order, nested models' layers after their parent."""
    import_explanations()
    parents = _parents(inference)
    for name, node in inference.nodes.items():
        weights = stored_or_expected(node)
        parent = parents.get(name)
        depth = 0
        while parent is not None and depth < len(parents) + 1:
            depth, parent = depth + 1, parents.get(parent)
        yield NodeView(framework=model.framework, name=name, type=node.layer.type,
                       inputs=node.inputs, output_shapes=node.outputs(),
                       params=_params(model.framework, name, node, inference, weights),
                       weights=weights, specs=node.weights or (), node=node,
                       parent=parents.get(name), depth=depth)


def _parents(inference: Inference) -> dict[str, str]:
    """Map each layer inside a nested model to that model's name (names nest as outer/inner)."""
    nested = sorted((n for n, r in inference.nodes.items() if r.layer.subgraph is not None),
                    key=len, reverse=True)
    parents = {}
    for name in inference.nodes:
        owner = next((n for n in nested if name.startswith(n + "/")), None)
        if owner is not None:
            parents[name] = owner
    return parents


def _params(framework: str, name: str, node: NodeResult, inference: Inference,
            weights: dict[str, tuple[Dim, ...]]) -> int | None:
    """Return a layer's parameters; a nested model counts the layers inside it."""
    counting = COUNTINGS.get(framework)
    if counting is not None:
        return counting.node(node)
    if node.layer.subgraph is None:
        return param_count(weights)
    inner = [param_count(stored_or_expected(n)) for key, n in inference.nodes.items()
             if key.startswith(name + "/")]
    return None if any(p is None for p in inner) else sum(p or 0 for p in inner)


def total_params(views: Sequence[NodeView]) -> int | None:
    """Sum parameters over top-level layers (nested layers are inside their model's count)."""
    counting = COUNTINGS.get(views[0].framework) if views else None
    if counting is not None:
        return counting.model(views)
    top = [v.params for v in views if v.parent is None]
    return None if any(p is None for p in top) else sum(p or 0 for p in top)


def steps_words(steps: Dim) -> str:
    """Say how many timesteps there are; an unknown time axis is a variable number, not None."""
    return plural(steps, "timestep") if isinstance(steps, int) else "a variable number of timesteps"


def plural(count: object, noun: str) -> str:
    """Return ``1 feature``, ``2 features``; an unknown count keeps the plural."""
    return f"{count} {noun}" + ("" if count == 1 else "s")
