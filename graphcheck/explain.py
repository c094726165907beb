"""What ``graphcheck explain`` shows: per-layer shapes and parameters, and recurrent details."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphcheck.graph import Dim, Model, Shape
from graphcheck.shapes import WeightSpec
from graphcheck.shapes.dims import product
from graphcheck.shapes.propagate import Inference, NodeResult


@dataclass(frozen=True, kw_only=True)
class NodeView:
    """One row of the summary table."""

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
    del model
    parents = _parents(inference)
    for name, node in inference.nodes.items():
        weights = stored_or_expected(node)
        parent = parents.get(name)
        depth = 0
        while parent is not None and depth < len(parents) + 1:
            depth, parent = depth + 1, parents.get(parent)
        yield NodeView(name=name, type=node.layer.type, inputs=node.inputs,
                       output_shapes=node.outputs(), params=_params(name, node, inference, weights),
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


def _params(name: str, node: NodeResult, inference: Inference,
            weights: dict[str, tuple[Dim, ...]]) -> int | None:
    """Return a layer's parameters; a nested model counts the layers inside it."""
    if node.layer.module == "onnx":  # ONNX counts by tensor, not by what a node reads
        from graphcheck.explain_onnx import node_params

        return node_params(node)
    if node.layer.subgraph is None:
        return param_count(weights)
    inner = [param_count(stored_or_expected(n)) for key, n in inference.nodes.items()
             if key.startswith(name + "/")]
    return None if any(p is None for p in inner) else sum(p or 0 for p in inner)


def total_params(views: list[NodeView]) -> int | None:
    """Sum parameters over top-level layers (nested layers are inside their model's count)."""
    if views and views[0].node.layer.module == "onnx":  # nodes share weights: count each once
        from graphcheck.explain_onnx import total

        return total(views)
    top = [v.params for v in views if v.parent is None]
    return None if any(p is None for p in top) else sum(p or 0 for p in top)


GATE_NAMES = {"LSTM": "4 gates (input, forget, cell, output)",
              "GRU": "3 gates (update, reset, candidate)",
              "SimpleRNN": "1 block (no gates)"}
PARAM_FORMULAS = {"LSTM": "4*units*(features + units + 1)",
                  "GRU": "3*units*(features + units + 2)",
                  "SimpleRNN": "units*(features + units + 1)"}


def recurrent_story(view: NodeView) -> list[str]:
    """Explain a Keras recurrent layer in plain words, with the numbers; [] for other layers."""
    layer = view.node.layer
    if layer.module == "onnx":
        from graphcheck.explain_onnx import story

        return story(view)
    config, kind = layer.config, layer.type
    if kind == "Bidirectional":
        inner = config.get("layer")
        if not isinstance(inner, dict):
            return []
        kind, config = str(inner.get("class_name")), inner.get("config", {})
    if kind not in GATE_NAMES or not view.node.calls or not view.node.calls[0].inputs:
        return []
    shape = view.node.calls[0].inputs[0]
    if shape is None or len(shape) != 3:
        return []
    steps, features = (shape[0], shape[2]) if config.get("time_major") else (shape[1], shape[2])
    units = config.get("units")
    lines = [
        f"{view.name}: {layer.type}" + (f"({kind})" if layer.type != kind else ""),
        f"  units = {units}: the size of the hidden state, i.e. how many values the layer "
        "outputs per step. It is not the number of timesteps.",
        f"  input {_fmt(shape)}: batch, {steps} timesteps, {features} features per step.",
        f"  The same cell (with {GATE_NAMES[kind]}) runs over all {steps} timesteps.",
        "  weights:",
    ]
    lines += [f"    {s.name:<26} {_fmt(s.shape):<14} {s.formula}" for s in view.specs]
    lines += [f"  parameters = {PARAM_FORMULAS[kind]} = {_param_arithmetic(kind, units, features)}"
              + (" per direction, x2 for Bidirectional" if layer.type == "Bidirectional" else "")
              + "; it does not depend on the number of timesteps."]
    lines += _output_lines(view, layer.type, config)
    return lines


def _param_arithmetic(kind: str, units: object, features: Dim) -> str:
    """Write the parameter formula with the layer's numbers substituted."""
    if not isinstance(units, int) or not isinstance(features, int):
        return "unknown (input features unknown)"
    if kind == "LSTM":
        return f"4*{units}*({features} + {units} + 1) = {4 * units * (features + units + 1):,}"
    if kind == "GRU":
        return f"3*{units}*({features} + {units} + 2) = {3 * units * (features + units + 2):,}"
    return f"{units}*({features} + {units} + 1) = {units * (features + units + 1):,}"


def _output_lines(view: NodeView, wrapper: str, config: object) -> list[str]:
    """Say what the layer outputs and why (return_sequences, states, merge mode)."""
    assert isinstance(config, dict)
    outputs = view.output_shapes
    why = ("return_sequences=True: one output per timestep" if config.get("return_sequences")
           else "return_sequences=False: only the last step's output")
    lines = [f"  output {_fmt(outputs[0] if outputs else None)}: {why}."]
    if wrapper == "Bidirectional":
        mode = view.node.layer.config.get("merge_mode", "concat")
        lines.append(f"  merge_mode={mode!r}: " + {
            "concat": "forward and backward outputs side by side (widths add up)",
            "sum": "forward + backward", "mul": "forward * backward",
            "ave": "the mean of both directions"}.get(str(mode), "two separate outputs") + ".")
    if config.get("return_state"):
        states = ", ".join(_fmt(s) for s in outputs[1:])
        lines.append(f"  return_state=True: the final states follow: {states}.")
    return lines


def _fmt(shape: object) -> str:
    """Format a shape for the explain text."""
    from graphcheck.graph import format_shape

    return format_shape(shape) if isinstance(shape, tuple) or shape is None else str(shape)
