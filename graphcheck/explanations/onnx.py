"""Explain ONNX recurrent nodes in ONNX's terms, with their Keras equivalent and cells."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from graphcheck import recurrent_facts as facts
from graphcheck.explanations import Counting, Explained, count_params, register
from graphcheck.explanations.report import Cell
from graphcheck.explanations.views import NodeView
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.shapes import Call
from graphcheck.shapes.dims import product
from graphcheck.shapes.onnx.recurrent import (
    RecurrentOp,
    attributes,
    first_call_op,
    implied_weights,
    output_names,
    role_shape,
)
from graphcheck.shapes.propagate import NodeResult

GATE_ORDER = {"LSTM": "4 gates, in ONNX order i, o, f, c; Keras orders them i, f, c, o",
              "GRU": "3 gates, in ONNX order z, r, h, as Keras does",
              "RNN": "1 block, no gates"}
OUTPUT_MEANING = {"Y": "every step's hidden state", "Y_h": "the last hidden state",
                  "Y_c": "the last cell state"}


WEIGHT_ROLES = ("W", "R", "B", "P")


def held_params(node: NodeResult) -> Mapping[str, tuple[int, ...]]:
    """Return the weight tensors a node reads or holds, by tensor id (the loader decides which)."""
    held = node.layer.config.get("params")
    return held if isinstance(held, Mapping) else {}


def node_params(node: NodeResult) -> int | None:
    """Return a node's parameters: W/R/B/P of a recurrent node by any path, else its weight tensors."""
    op = first_call_op(node) if node.layer.type in GATE_ORDER else None
    if op is None:
        return sum(math.prod(shape) for shape in held_params(node).values())
    total = 0
    for role in WEIGHT_ROLES:
        shape = recurrent_weight(node, op, role)
        size = 0 if shape is None else product(shape)
        if not isinstance(size, int):
            return None
        total += size
    return total


def recurrent_weight(node: NodeResult, op: RecurrentOp, role: str) -> Shape | None:
    """Return the shape of W, R, B or P as the node receives it (implied when unknown); None if absent."""
    names = node.layer.config.get("inputs")
    slot = {"W": 1, "R": 2, "B": 3, "P": 7}[role]
    if not isinstance(names, list) or slot >= len(names) or not names[slot] or (
            role == "P" and op.kind != "LSTM"):
        return None
    call = node.calls[0]
    shape = role_shape(Call(layer=node.layer, inputs=(), kwargs=call.kwargs), role)  # type: ignore[arg-type]
    if shape is not None and all(isinstance(d, int) for d in shape):
        return shape
    return implied_weights(op)[role][0]


def total(views: Sequence[NodeView]) -> int:
    """Count every distinct weight tensor of the model once, whichever nodes read it."""
    tensors: dict[str, tuple[int, ...]] = {}
    for view in views:
        tensors.update(held_params(view.node))
    return sum(math.prod(shape) for shape in tensors.values())


def story(view: NodeView) -> list[str]:
    """Explain an ONNX recurrent node, or a tf2onnx Loop holding a Keras cell; [] otherwise."""
    layer = view.node.layer
    if layer.type == "Loop":
        return loop_story(view)
    op = first_call_op(view.node) if layer.type in GATE_ORDER else None
    if op is None:
        return []
    return [f"{view.name}: ONNX {op.kind}", *_ops_lines(op), "  weights:", *_weight_lines(op, view),
            f"  {_param_line(op, view)}", *_output_lines(view),
            f"  Keras equivalent: {keras_equivalent(op, view)}"]


def _weight_lines(op: RecurrentOp, view: NodeView) -> list[str]:
    """List W, R, B (P) with their shapes and formulas, saying which the graph computes."""
    lines = []
    for role in WEIGHT_ROLES:
        shape = recurrent_weight(view.node, op, role)
        if shape is None:
            continue
        computed = " (computed in the graph)" if role in view.node.calls[0].kwargs else ""
        lines.append(f"    {role:<4} {format_shape(shape):<16} {implied_weights(op)[role][1]}{computed}")
    return lines


def _ops_lines(op: RecurrentOp) -> list[str]:
    """Describe hidden size, directions, layout, the input and the gates."""
    dirs = f"{op.directions} direction" + ("s" if op.directions > 1 else "")
    axes = "[batch, seq_length, input_size]" if op.layout else "[seq_length, batch, input_size]"
    return [
        f"  hidden_size = {op.hidden}: the size of the hidden state, i.e. how many values each "
        "direction outputs per step. It is not the number of timesteps."
        + ("" if op.hidden_given else " (not set in the file: taken from R)"),
        f"  direction = {op.direction!r}: {dirs} (num_directions = {op.directions}); "
        f"layout = {op.layout}: X is {axes}.",
        f"  X: {op.steps} timesteps, batch {op.batch}, {op.features} features per step.",
        f"  The same cell runs over all {op.steps} timesteps: {GATE_ORDER[op.kind]}.",
    ]


def _param_line(op: RecurrentOp, view: NodeView) -> str:
    """Write the parameter formula with the node's numbers."""
    d, k, h, i = op.directions, op.gates, op.hidden, op.features
    has_b = "B" in view.weights or "B" in view.node.calls[0].kwargs
    formula = f"num_directions*{k}*hidden_size*(input_size + hidden_size{' + 2' if has_b else ''})"
    if isinstance(h, int) and isinstance(i, int):
        value = d * k * h * (i + h + (2 if has_b else 0))
        numbers = f"{d}*{k}*{h}*({i} + {h}{' + 2' if has_b else ''}) = {value:,}"
    else:
        numbers = "unknown (input size unknown)"
    return (f"parameters = {formula} = {numbers}" + (" (B holds Wb and Rb: two biases)" if has_b
            else "") + "; it does not depend on the number of timesteps.")


def _output_lines(view: NodeView) -> list[str]:
    """List Y, Y_h, Y_c with their shapes and meaning; omitted outputs are said to be omitted."""
    names = output_names(Call(layer=view.node.layer, inputs=()))
    lines = []
    for role, name, shape in zip(("Y", "Y_h", "Y_c"), names, view.output_shapes):
        if view.node.layer.type != "LSTM" and role == "Y_c":
            continue
        lines.append(f"  {role} {format_shape(shape)}: {OUTPUT_MEANING[role]}" if name
                     else f"  {role}: omitted (\"\" in the node's outputs)")
    return lines


def keras_equivalent(op: RecurrentOp, view: NodeView) -> str:
    """Write the Keras layer computing the same thing (batch-major, as Keras always is)."""
    names = output_names(Call(layer=view.node.layer, inputs=()))
    args = [str(op.hidden)]
    if names and names[0]:
        args.append("return_sequences=True")
    if any(names[1:]):
        args.append("return_state=True")
    if op.direction == "reverse":
        args.append("go_backwards=True")
    if op.kind == "GRU":
        args.append(f"reset_after={bool(attributes(view.node.layer.config).get('linear_before_reset', 0))}")
    layer = f"{facts.ONNX_OPS[op.kind].keras}({', '.join(args)})"
    if op.directions == 2:
        layer = f"Bidirectional({layer})"
    reordered = ", gates reordered" if op.kind == "LSTM" else ""
    return (f"{layer} on input (batch, {op.steps}, {op.features}); Keras stores each kernel "
            f"transposed, without the num_directions axis{reordered}")


def loop_story(view: NodeView) -> list[str]:
    """Recognise the Loop tf2onnx writes for a Keras GRU/SimpleRNN/LSTM by its raw Keras weights."""
    found = keras_cell(list(view.weights.values()))
    if found is None:
        return []
    kind, features, units = found
    k = facts.KERAS_CLASSES[kind].gates
    shapes = ", ".join(format_shape(s) for s in view.weights.values() if len(s) >= 1 and s[-1] == k * units)
    return [f"{view.name}: Loop holding a Keras {kind} cell (as tf2onnx converts it)",
            "  The Loop runs the cell once per timestep; its body does the cell's matrix products "
            f"with the Keras weights passed in unchanged: {shapes}.",
            f"  units = {units} (the hidden state size), {features} features per step, "
            f"{k} gate block(s): kernel (features, {k}*units), recurrent_kernel (units, {k}*units).",
            f"  Keras equivalent: {kind}({units})"]


def keras_cell(shapes: list[tuple[Dim, ...]]) -> tuple[str, int, int] | None:
    """Find (kind, features, units) from Keras kernel (F, kU) and recurrent kernel (U, kU) shapes."""
    matrices = [s for s in shapes if len(s) == 2 and all(isinstance(d, int) for d in s)]
    for rows, cols in matrices:
        assert isinstance(rows, int) and isinstance(cols, int)
        kind = {k.gates: k.keras for k in facts.KINDS}.get(cols // rows if rows else 0)
        if kind is None or cols % rows:
            continue
        kernels = [s for s in matrices if s[1] == cols and s != (rows, cols)] or (
            [s for s in matrices if s == (rows, cols)][1:])
        if kind == "GRU" and len(kernels) > 1:  # Keras's GRU bias is (2, 3U): not the kernel
            kernels = [s for s in kernels if s[0] != 2]
        if kernels and isinstance(kernels[0][0], int):
            return kind, kernels[0][0], rows
    return None


count_params("onnx", Counting(node=node_params, model=total))


@register("onnx", "Loop")
def explain_loop(view: NodeView) -> Explained:
    """Explain a tf2onnx Loop that holds a Keras cell (no cell diagram: its input is not read)."""
    return Explained(story=tuple(loop_story(view)))


@register("onnx", *GATE_ORDER)
def explain(view: NodeView) -> Explained:
    """Explain an ONNX LSTM/GRU/RNN: its story, and a cell per direction."""
    op = first_call_op(view.node)
    if op is None:
        return Explained()
    labels: tuple[str | None, ...] = ("forward", "backward") if op.directions == 2 else (None,)
    return Explained(story=tuple(story(view)),
                     cells=tuple(_cell(op, view, label) for label in labels))


def _cell(op: RecurrentOp, view: NodeView, label: str | None) -> Cell:
    """Return one direction's cell: W, R and B without the num_directions axis."""
    weights = {role: recurrent_weight(view.node, op, role) for role in WEIGHT_ROLES}
    names = output_names(Call(layer=view.node.layer, inputs=()))
    d, k, h, i = op.directions, op.gates, op.hidden, op.features
    has_b = weights["B"] is not None
    formula = f"{_k(k)}hidden_size*(input_size + hidden_size{' + 2' if has_b else ''})"
    if isinstance(h, int) and isinstance(i, int):
        numbers = f"{_k(k)}{h}*({i} + {h}{' + 2' if has_b else ''}) = {k * h * (i + h + 2 * has_b):,}"
    else:
        numbers = "unknown (input size unknown)"
    params = node_params(view.node)
    return Cell(kind=facts.ONNX_OPS[op.kind].keras, layer_class=op.kind, label=label, units=h,
                features=i, timesteps=op.steps,
                gates=tuple(g.name for g in facts.ONNX_OPS[op.kind].onnx_gates),
                kernel=_direction(weights["W"]) or (), recurrent_kernel=_direction(weights["R"]) or (),
                bias=_direction(weights["B"]), return_sequences=bool(names and names[0]),
                return_state=any(names[1:]), reverse=label == "backward" or op.direction == "reverse",
                params=None if params is None else params // d, formula=formula, numbers=numbers)


def _k(gates: int) -> str:
    """Return the gate factor of a formula: ``4*``, or nothing for one block."""
    return f"{gates}*" if gates > 1 else ""


def _direction(shape: Shape | None) -> Shape | None:
    """Return a weight's shape for one direction (without ONNX's leading num_directions)."""
    return None if shape is None else shape[1:]
