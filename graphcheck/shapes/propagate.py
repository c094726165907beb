"""Walk a model graph in topological order and run each layer's shape function."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from graphcheck.findings import Problem, ShapeError, traceback_text
from graphcheck.graph import GraphCycleError, Layer, Model, ModelGraph, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import SHAPE_FUNCTIONS, Call, LayerShapes, ShapeFn, WeightSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class CallResult:
    """The shapes one call of a layer received and produced."""

    inputs: tuple[Shape | None, ...]
    kwargs: Mapping[str, tuple[Shape | None, ...]]
    outputs: tuple[Shape | None, ...]


@dataclass(kw_only=True, slots=True)
class NodeResult:
    """Everything inference learnt about one layer (qualified name for nested models)."""

    layer: Layer
    calls: list[CallResult] = field(default_factory=list)
    weights: tuple[WeightSpec, ...] | None = None
    inputs: tuple[str, ...] = ()

    def outputs(self) -> tuple[Shape | None, ...]:
        """Return the first call's output shapes (the ones a summary shows)."""
        return self.calls[0].outputs if self.calls else ()


@dataclass(kw_only=True)
class Inference:
    """The result of shape propagation over a whole model."""

    nodes: dict[str, NodeResult] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    outputs: list[tuple[str, Shape | None]] = field(default_factory=list)


def infer(model: Model) -> Inference:
    """Propagate shapes through the model and collect problems on the way."""
    result = Inference(problems=list(model.problems))
    values = _propagate(model.root, {}, "", model.framework, result)
    for ref in model.root.outputs:
        result.outputs.append((ref.layer, values.get((ref.layer, ref.call, ref.tensor))))
    return result


TensorKey = tuple[str, int, int]


def _propagate(
    sub: ModelGraph,
    feeds: Mapping[str, Shape],
    prefix: str,
    framework: str,
    result: Inference,
) -> dict[TensorKey, Shape | None]:
    """Run shape functions over ``sub``; ``feeds`` overrides the shapes of its input layers."""
    values: dict[TensorKey, Shape | None] = {}
    try:
        order = sub.graph.topological_order()
    except GraphCycleError:
        result.problems.append(Problem(rule=RuleName.UNREADABLE_MODEL, node=None,
                                       message="the layer graph has a cycle"))
        return values
    for name in order:
        layer = sub.layer(name)
        node = result.nodes.setdefault(prefix + name, NodeResult(layer=layer))
        node.inputs = tuple(sorted({prefix + src for src, _ in sub.graph.in_edges(name)}))
        for call_index, call in enumerate(_calls(sub, name, values, feeds, result, prefix)):
            shapes = _run_call(call, prefix + name, framework, result, first=call_index == 0)
            node.calls.append(CallResult(inputs=call.inputs, kwargs=call.kwargs,
                                         outputs=shapes.outputs))
            if node.weights is None and any(shape is not None for shape in shapes.outputs):
                node.weights = shapes.weights
            for index, shape in enumerate(shapes.outputs):
                values[(name, call_index, index)] = shape
    return values


def _calls(
    sub: ModelGraph,
    name: str,
    values: Mapping[TensorKey, Shape | None],
    feeds: Mapping[str, Shape],
    result: Inference,
    prefix: str,
) -> list[Call]:
    """Gather the input shapes of every call of layer ``name`` from its in-edges."""
    layer = sub.layer(name)
    if name in feeds:
        return [Call(layer=layer, inputs=(feeds[name],))]
    per_call: dict[int, list[tuple[str, int, Shape | None]]] = defaultdict(list)
    for src, _, data in sub.graph.in_edges(name, data=True):
        shape = values.get((src, data["src_call"], data["src_tensor"]))
        _check_declared(shape, data.get("declared"), prefix + name, src, result)
        if shape is None:  # past a layer without a shape function: Keras 3 recorded the shape
            shape = data.get("declared")
        per_call[data["dst_call"]].append((data["arg"], data["slot"], shape))
    if not per_call:
        return [Call(layer=layer, inputs=())]
    return [_make_call(layer, per_call[c], c) for c in sorted(per_call)]


def _make_call(layer: Layer, edges: list[tuple[str, int, Shape | None]], index: int) -> Call:
    """Split one call's edges into positional inputs and keyword tensors, with its options."""
    if all(arg == "inputs" for arg, _, _ in edges):  # the usual case: positional inputs only
        ordered: dict[str, tuple[Shape | None, ...]] = {}
        positional = tuple([shape for _, _, shape in sorted(edges, key=itemgetter(1))])
    else:
        grouped: dict[str, list[tuple[int, Shape | None]]] = defaultdict(list)
        for arg, slot, shape in edges:
            grouped[arg].append((slot, shape))
        ordered = {arg: tuple([shape for _, shape in sorted(items, key=itemgetter(0))])
                   for arg, items in grouped.items()}
        positional = ordered.pop("inputs", ())
    declared = layer.declared_input
    if index == 0 and declared is not None and len(declared) == len(positional):
        # Past a layer without a shape function: build_config recorded this call's inputs.
        positional = tuple(want if got is None else got for got, want in zip(positional, declared))
    options = layer.call_options[index] if index < len(layer.call_options) else {}
    return Call(layer=layer, inputs=positional, kwargs=ordered, options=options)  # type: ignore[arg-type]


# Keyword tensors whose shape never decides a layer's outputs: a mask (from Embedding's
# mask_zero, a NotEqual op) leaves an LSTM's output shape as it is, known or not.
SHAPE_FREE = frozenset({"mask"})


def _run_call(call: Call, qualified: str, framework: str, result: Inference,
              first: bool = True) -> LayerShapes:
    """Run the layer's shape function; unknown layers and errors give unknown outputs."""
    layer = call.layer
    if layer.subgraph is not None:
        return _run_nested(call, qualified, framework, result)
    fn = shape_function(framework, layer)
    if fn is None and (framework, "*") in SHAPE_FUNCTIONS:
        # A framework's "*" function covers every other type whatever its inputs (ONNX: the
        # shapes onnx's own inference stored on the node).
        return _guarded(SHAPE_FUNCTIONS[(framework, "*")], call, qualified, result)
    if fn is None:
        result.problems.append(Problem(
            rule=RuleName.UNSUPPORTED_LAYER, node=qualified,
            message=f"no shape function for {layer.type!r}: its outputs are unknown downstream"))
        return LayerShapes(outputs=(None,))
    if any(shape is None for shape in call.inputs) or any(
            s is None for arg, group in call.kwargs.items() if arg not in SHAPE_FREE for s in group):
        return LayerShapes(outputs=(None,))
    return _guarded(fn, call, qualified, result, first)


def shape_function(framework: str, layer: Layer) -> ShapeFn | None:
    """Return a layer's shape function: by its registered name ("keras_hub>X"), else by class."""
    # A .keras file stores a package's layer as its bare class name plus module; the registered
    # name tells keras_hub's RMSNormalization from Keras's own (a legacy .h5 stores it whole).
    package = (layer.module or "").partition(".")[0]
    registered = SHAPE_FUNCTIONS.get((framework, f"{package}>{layer.type}")) if package else None
    return registered or SHAPE_FUNCTIONS.get((framework, layer.type))


def _guarded(fn: Any, call: Call, qualified: str, result: Inference, first: bool = True) -> LayerShapes:
    """Call a shape function, turning ShapeError into a problem on the layer."""
    try:
        shapes: LayerShapes = fn(call)
    except ShapeError as error:
        result.problems.append(_problem(error, call, qualified))
        return LayerShapes(outputs=(None,))
    except Exception as error:
        result.problems.append(Problem(
            rule=RuleName.INTERNAL_ERROR, node=qualified,
            message=f"shape function for {call.layer.type!r} failed: {type(error).__name__}: {error}",
            detail=traceback_text(error)))
        return LayerShapes(outputs=(None,))
    result.problems += [_problem(e, call, qualified) for e in shapes.problems]
    if first:  # build_config records the first call's input; later calls may differ (reverse=True)
        _check_declared_input(call, qualified, result)
    return shapes


def _problem(error: ShapeError, call: Call, qualified: str) -> Problem:
    """Report a shape function's error on its layer; a bad config value says where it is."""
    where = call.layer.where if error.rule == RuleName.UNREADABLE_MODEL else ""
    return Problem(rule=error.rule, node=qualified, message=error.located(where))


def _run_nested(call: Call, qualified: str, framework: str, result: Inference) -> LayerShapes:
    """Propagate through a nested model, feeding the call's inputs to its input layers."""
    sub = call.layer.subgraph
    assert sub is not None
    feeds = {ref.layer: shape for ref, shape in zip(sub.inputs, call.inputs) if shape is not None}
    values = _propagate(sub, feeds, qualified + "/", framework, result)
    outputs = tuple(values.get((r.layer, r.call, r.tensor)) for r in sub.outputs)
    return LayerShapes(outputs=outputs)


def _check_declared(
    shape: Shape | None, declared: Shape | None, node: str, src: str, result: Inference
) -> None:
    """Report where the shape the file records for a tensor contradicts the propagated one."""
    if shape is None or declared is None or compatible(shape, declared):
        return
    result.problems.append(Problem(
        rule=RuleName.DECLARED_SHAPE_MISMATCH, node=node,
        message=f"the file records the tensor from {src!r} as {format_shape(declared)}, "
                f"but propagating the config gives {format_shape(shape)}"))


def _check_declared_input(call: Call, qualified: str, result: Inference) -> None:
    """Hold the call's input shapes against the layer's build_config input shape."""
    declared = call.layer.declared_input
    if declared is None or len(declared) != len(call.inputs):
        return
    for got, want in zip(call.inputs, declared):
        if not compatible(got, want):
            result.problems.append(Problem(
                rule=RuleName.DECLARED_SHAPE_MISMATCH, node=qualified,
                message=f"build_config records input shape {format_shape(want)}, "
                        f"but the layer receives {format_shape(got)}"))


def compatible(a: Shape, b: Shape) -> bool:
    """Return True when two shapes can describe the same tensor (unknown dims match anything)."""
    if a == b:  # the usual case, decided without a look at each dim
        return True
    if len(a) != len(b):
        return False
    return all(not (isinstance(x, int) and isinstance(y, int) and x != y) for x, y in zip(a, b))

