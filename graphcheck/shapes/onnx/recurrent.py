"""ONNX LSTM/GRU/RNN: output shapes, and what W, R, B, P and the states must be.

onnx's own inference reads only direction, hidden_size, layout and X, so nothing else checks
the weights against them; this does, and says what most likely went wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.recurrent_facts import (
    FIRST_RUNNABLE_OPSET,
    GRU,
    LSTM,
    ONNX_DIRECTIONS,
    ONNX_LAYOUTS,
    ONNX_OPS,
    ONNX_STATE_INPUTS,
    Kind,
    num_directions,
    onnx_op_version,
)
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec
from graphcheck.shapes.dims import mul
from graphcheck.shapes.onnx.generic import ANY_INPUTS, merged, trusted
from graphcheck.shapes.propagate import NodeResult, compatible

# The inputs checked against batch (and num_directions, hidden_size): states, then lengths.
STATES = (*ONNX_STATE_INPUTS, "sequence_lens")


@dataclass(frozen=True, kw_only=True)
class RecurrentOp:
    """One recurrent node as its attributes and input X describe it."""

    kind: str
    hidden: Dim
    hidden_given: bool
    direction: str
    layout: int
    batch: Dim
    steps: Dim
    features: Dim

    @property
    def facts(self) -> Kind:
        """Return the operator's row of the recurrent-facts table."""
        return ONNX_OPS[self.kind]

    @property
    def directions(self) -> int:
        """Return num_directions: 2 for bidirectional, else 1."""
        return num_directions(self.direction)

    @property
    def gates(self) -> int:
        """Return k, the gate blocks stacked in W and R: 4, 3 or 1."""
        return self.facts.gates

    def state_shape(self) -> Shape:
        """Return the shape of initial_h/initial_c and Y_h/Y_c."""
        d, b, h = self.directions, self.batch, self.hidden
        return (b, d, h) if self.layout else (d, b, h)

    def output_shape(self) -> Shape:
        """Return the shape of Y."""
        d, b, t, h = self.directions, self.batch, self.steps, self.hidden
        return (b, t, d, h) if self.layout else (t, d, b, h)


def attributes(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return a node's attributes from its config."""
    found = config.get("attributes")
    return found if isinstance(found, Mapping) else {}


def role_shape(call: Call, role: str) -> Shape | None:
    """Return the shape of input ``role`` (X, W, ...): a tensor fed by an edge or an initializer."""
    fed = call.kwargs.get(role)
    if fed:
        return fed[0]
    stored = {w.key: w.shape for w in call.layer.weights or ()}
    return stored.get(role)


def first_call_op(node: NodeResult) -> RecurrentOp | None:
    """Read a recurrent node as its first call saw it; None when the shape function reported it."""
    if not node.calls:
        return None
    first = node.calls[0]
    kwargs = {k: v for k, v in first.kwargs.items() if all(s is not None for s in v)}
    try:
        return read_op(Call(layer=node.layer, inputs=(), kwargs=kwargs))  # type: ignore[arg-type]
    except ShapeError:
        return None


def read_op(call: Call) -> RecurrentOp:
    """Read the op's attributes and X; hidden_size missing is taken from R when it can be."""
    attrs = attributes(call.config)
    direction = str(attrs.get("direction", "forward"))
    if direction not in ONNX_DIRECTIONS:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"direction is {direction!r}, not forward, reverse "
                         "or bidirectional")
    layout = attrs.get("layout", 0)
    if layout not in ONNX_LAYOUTS:
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"layout is {layout!r}, not 0 or 1")
    x = role_shape(call, "X")
    if x is not None and len(x) != 3:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"X is {format_shape(x)} (rank {len(x)}), but "
                         f"{call.layer.type} needs rank 3: " + ("[batch, seq_length, input_size] "
                         "(layout=1)" if layout else "[seq_length, batch, input_size] (layout=0)"))
    steps, batch, features = (None, None, None) if x is None else (
        (x[1], x[0], x[2]) if layout else x)
    hidden = attrs.get("hidden_size")
    given = isinstance(hidden, int) and not isinstance(hidden, bool) and hidden > 0
    if not given:
        r = role_shape(call, "R")
        hidden = r[2] if r is not None and len(r) == 3 and isinstance(r[2], int) else None
    return RecurrentOp(kind=call.layer.type, hidden=hidden, hidden_given=given, direction=direction,
                       layout=int(layout), batch=batch, steps=steps, features=features)


def recurrent(call: Call) -> LayerShapes:
    """LSTM/GRU/RNN: Y, Y_h (and Y_c), the weights the attributes imply, and what contradicts them.

    Runs even when X's shape is unknown: direction and hidden_size alone give every output's
    rank and last axis.
    """
    op = read_op(call)
    shapes = (op.output_shape(), op.state_shape(), op.state_shape())
    own = tuple(shape if name else None for name, shape in zip(output_names(call), shapes))
    outputs = merged(own, call) if role_shape(call, "X") is None else own
    problems = [*_attribute_problems(op, call), *_state_problems(op, call),
                *_declared_problems(call, own)]
    return LayerShapes(outputs=outputs, weights=weight_specs(op, call), problems=tuple(problems))


ANY_INPUTS.update(dict.fromkeys(ONNX_OPS, recurrent))


def output_names(call: Call) -> list[str]:
    """Return the node's output names, "" where an optional output is omitted."""
    names = call.config.get("outputs")
    return [str(n) for n in names] if isinstance(names, list) else ["Y"]


def _attribute_problems(op: RecurrentOp, call: Call) -> list[ShapeError]:
    """Report an opset ONNX Runtime has no kernel for, a missing hidden_size and layout=1."""
    problems = []
    opset = call.config.get("opset")
    if isinstance(opset, int) and opset < FIRST_RUNNABLE_OPSET:
        version = onnx_op_version(op.facts, opset)
        problems.append(ShapeError(RuleName.OLD_RECURRENT_OPSET, (
            f"the model imports ai.onnx opset {opset}, so this is {op.kind}-{version}: "
            f"ONNX Runtime has no kernel below {op.kind}-7 (\"Could not find an implementation for "
            f"{op.kind}({version})\"). onnx.version_converter has no adapter for it "
            "either: re-export at opset 7 or later, or drop the node's output_sequence attribute "
            "and raise the ai.onnx opset import to 7 (same inputs and outputs)")))
    if not op.hidden_given:
        source = (f"R {format_shape(role_shape(call, 'R'))} implies hidden_size = {op.hidden}, "
                  "which graphcheck uses" if op.hidden is not None else "nothing implies it")
        given = attributes(call.config).get("hidden_size")
        what = "no hidden_size attribute" if given is None else f"hidden_size={given!r}, not a positive int"
        problems.append(ShapeError(RuleName.MISSING_HIDDEN_SIZE, (
            f"{op.kind} has {what}: {source}. ONNX Runtime refuses the model, "
            "and onnx's shape inference leaves the last axis of Y and Y_h unknown")))
    if op.layout == 1:
        problems.append(ShapeError(RuleName.BATCHWISE_RECURRENT_LAYOUT, (
            f"layout=1 (batch-major X {format_shape((op.batch, op.steps, op.features))}): ONNX "
            "Runtime's CPU kernels reject it (\"Batchwise recurrent operations (layout == 1) are "
            "not supported\"). Transpose X to [seq_length, batch, input_size] and use layout=0")))
    return problems


def implied_weights(op: RecurrentOp) -> dict[str, tuple[Shape, str]]:
    """Return the shape (and its formula) the attributes and X imply for W, R, B and P."""
    d, k, h, i = op.directions, op.gates, op.hidden, op.features
    p = len(LSTM.onnx_peepholes)
    return {
        "W": ((d, mul(k, h), i), f"[num_directions, {_k(k)}hidden_size, input_size] = "
                                 f"[{d}, {_k(k)}{h}, {i}]"),
        "R": ((d, mul(k, h), h), f"[num_directions, {_k(k)}hidden_size, hidden_size] = "
                                 f"[{d}, {_k(k)}{h}, {h}]"),
        "B": ((d, mul(2 * k, h)), f"[num_directions, {2 * k}*hidden_size] = [{d}, {2 * k}*{h}]: "
                                  "Wb then Rb"),
        "P": ((d, mul(p, h)), f"[num_directions, {p}*hidden_size] = [{d}, {p}*{h}]: peepholes "
                              f"{', '.join(g.letter for g in LSTM.onnx_peepholes)}"),
    }


def weight_specs(op: RecurrentOp, call: Call) -> tuple[WeightSpec, ...]:
    """Return specs for the stored initializers: W, R, B, P as the attributes imply, states as stored."""
    expected = implied_weights(op)
    roles = op.facts.onnx_inputs
    specs = []
    for weight in call.layer.weights or ():
        if weight.key in expected and weight.key in roles:
            shape, formula = expected[weight.key]
            hint = weight_hint(op, weight.key, weight.shape)
            specs.append(WeightSpec(name=weight.key, path=weight.key, shape=shape, formula=formula,
                                    hints={weight.shape: hint} if hint else {}))
        elif weight.key in roles:  # initial states and sequence_lens: checked as states below
            specs.append(WeightSpec(name=weight.key, path=weight.key, shape=weight.shape,
                                    formula="initializer"))
    # An initializer in no slot of this op (P on a GRU) gets no spec: unexpected-weights.
    return tuple(specs)


def _k(k: int) -> str:
    """Write the gate factor of a formula: "4*", or nothing for RNN's single block."""
    return f"{k}*" if k > 1 else ""


def weight_hint(op: RecurrentOp, role: str, stored: tuple[int, ...]) -> str:
    """Name the likely cause of a wrong W/R/B/P shape, or "" when none fits."""
    d, k, h = op.directions, op.gates, op.hidden
    if role in ("W", "R") and len(stored) == 2:
        return (f"{role} is 2-D like a Keras kernel (rows, {k}*units); ONNX wants it transposed "
                "with a leading num_directions axis")
    if op.facts is GRU and role == "B" and isinstance(h, int) and stored == (2, 3 * h) and d == 1:
        return ("(2, 3H) is how Keras stores a GRU bias (input and recurrent rows); ONNX wants "
                f"one row with Wb then Rb: [1, 6H] = [1, {6 * h}]")
    if stored and stored[0] != d:
        held = "one direction's weights" if stored[0] == 1 else f"{stored[0]} directions' weights"
        return (f"it holds {held}, but direction={op.direction!r} needs num_directions = {d}"
                + (": both directions stacked on axis 0" if d == 2 else ""))
    if not isinstance(h, int) or len(stored) < 2:
        return ""
    return _gate_hint(op, role, stored[1]) or _axis_hint(op, role, stored)


def _gate_hint(op: RecurrentOp, role: str, rows: int) -> str:
    """Explain a wrong gate axis: Keras's 4H bias, a GRU counted with 4 gates, another hidden_size."""
    k, h = op.gates, op.hidden
    assert isinstance(h, int)
    per = 2 * k if role == "B" else len(LSTM.onnx_peepholes) if role == "P" else k
    if rows == per * h:
        return ""
    if role == "B" and rows == k * h:
        return (f"B has {k}H = {rows} values per direction, as Keras stores it; ONNX wants Wb and "
                f"Rb, {2 * k}H = {2 * k * h}")
    if op.facts is GRU and role != "P" and rows == per * h * LSTM.gates // GRU.gates:
        return (f"{role} has {rows} = {per * 4 // 3}H values per direction: the GRU was counted "
                f"with 4 gates like an LSTM; a GRU has 3 (z, r, h), so {per}H = {per * h}")
    if rows % per == 0:
        return (f"{role} has {rows} = {per}*{rows // per} values per direction, i.e. hidden_size "
                f"{rows // per}, but the hidden_size attribute is {h}")
    return ""


def _axis_hint(op: RecurrentOp, role: str, stored: tuple[int, ...]) -> str:
    """Explain a wrong last axis of W (input size) or R (hidden size)."""
    if role == "W" and len(stored) == 3 and isinstance(op.features, int) and stored[2] != op.features:
        return f"W is for input_size {stored[2]}, but X has {op.features} features per step"
    if role == "R" and len(stored) == 3 and stored[2] != op.hidden:
        return f"R's last axis is {stored[2]}, but hidden_size is {op.hidden}"
    return ""


def _state_problems(op: RecurrentOp, call: Call) -> list[ShapeError]:
    """Hold initial_h, initial_c and sequence_lens against batch, num_directions, hidden_size, layout."""
    problems = []
    axes = "[batch, num_directions, hidden_size]" if op.layout else "[num_directions, batch, hidden_size]"
    for role in STATES:
        shape = role_shape(call, role)
        if shape is None or role not in op.facts.onnx_inputs:
            continue
        want = (op.batch,) if role == "sequence_lens" else op.state_shape()
        if compatible(shape, want):
            continue
        what = "[batch]" if role == "sequence_lens" else f"{axes} (layout={op.layout})"
        swapped = role != "sequence_lens" and compatible(shape, (*want[1::-1], want[2]))
        problems.append(ShapeError(RuleName.INITIAL_STATE_MISMATCH, (
            f"{role} is {format_shape(shape)}, but X and the attributes need {what} = "
            f"{format_shape(want)}" + ("; its first two axes are swapped: it is laid out for "
                                       f"layout={1 - op.layout}" if swapped else ""))))
    return problems


def _declared_problems(call: Call, outputs: tuple[Shape | None, ...]) -> list[ShapeError]:
    """Report outputs whose shape in the file (or from onnx's inference) contradicts ours."""
    problems = []
    for index, (name, mine) in enumerate(zip(output_names(call), outputs)):
        sources = [("declared", "the file declares")] + (
            [("shapes", "onnx's inference gives")] if trusted(call) else [])
        for key, source in sources:
            recorded = _nth(call.config.get(key), index)
            if mine is not None and recorded is not None and not compatible(mine, recorded):
                problems.append(ShapeError(RuleName.DECLARED_SHAPE_MISMATCH, (
                    f"{source} output {name!r} as {format_shape(recorded)}, but X and the "
                    f"attributes give {format_shape(mine)}")))
                break
    return problems


def _nth(values: object, index: int) -> Shape | None:
    """Return ``values[index]`` as a shape, or None."""
    if isinstance(values, list) and index < len(values) and isinstance(values[index], tuple):
        shape: Shape = values[index]
        return shape
    return None
