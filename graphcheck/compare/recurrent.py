"""One recurrent layer held against the ONNX node that implements it: sizes, semantics, weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphcheck.compare import weights
from graphcheck.compare.keras_view import KerasRecurrent
from graphcheck.compare.onnx_view import OnnxRecurrent, OnnxView
from graphcheck.compare.report import Collector
from graphcheck.compare.values import KerasValues, OnnxValues
from graphcheck.recurrent_facts import GRU, LSTM, ONNX_OUTPUTS
from graphcheck.rules.export import (
    ExportNotVerified,
    ExportSemanticsMismatch,
    ExportShapeMismatch,
)

# Keras activation names and the ONNX activation functions that compute them.
ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "hard_sigmoid": "HardSigmoid",
               "softsign": "Softsign", "softplus": "Softplus", "elu": "Elu"}
DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}


@dataclass(frozen=True, kw_only=True)
class Sides:
    """Everything one comparison reads: both models' values, the ONNX graph, the tolerance."""

    keras: KerasValues
    onnx: OnnxValues
    view: OnnxView
    atol: float
    out: Collector


def check(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent) -> None:
    """Record every difference between a recurrent layer and its node."""
    fields = {"subject": ref.subject, "op": node.node.op_type, "node": node.name}
    if not _sizes(sides, ref, node):
        return
    same_directions = _direction(sides, ref, node, fields)
    _activations(sides, ref, node, fields)
    _reset(sides, ref, node, fields)
    _outputs(sides, ref, node, fields)
    _extras(sides, ref, node, fields)
    if same_directions:
        _weights(sides, ref, node, fields)


def _sizes(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent) -> bool:
    """Check hidden_size against units; return False when the sizes rule out comparing more."""
    hidden = node.attrs.get("hidden_size")
    if hidden != ref.units:
        sides.out.add(ExportShapeMismatch, ref.layer.name, subject=ref.subject, detail=(
            f"ONNX {node.node.op_type} '{node.name}' has hidden_size {hidden} but the layer has "
            f"units={ref.units}"))
        return False
    return True


def _expected_direction(ref: KerasRecurrent) -> str:
    """Return the ONNX direction that computes what the Keras layer computes."""
    if ref.bidirectional:
        return "bidirectional"
    return "reverse" if ref.directions[0][1] else "forward"


def _direction(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent, fields: Mapping[str, str]) -> bool:
    """Check the direction; return True when both run the same number of directions."""
    wanted = _expected_direction(ref)
    runs = node.direction
    if node.reversed_input and runs != "bidirectional":
        runs = "forward" if runs == "reverse" else "reverse"
    if runs == wanted:
        _sequence_order(sides, ref, node, fields)
        return True
    keras_runs = {"forward": "forward (go_backwards=False)", "reverse": "backwards (go_backwards=True)",
                  "bidirectional": "in both directions (Bidirectional)"}[wanted]
    how = f"direction is {node.direction}"
    if node.reversed_input:
        how += f" after ReverseSequence '{node.reversed_input}' reverses the input, so it runs {runs},"
    elif wanted == "reverse":
        how += " and no ReverseSequence reverses its input, so it runs forward,"
    sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields,
                  detail=f"{how} but the layer runs {keras_runs}")
    return (runs == "bidirectional") == (wanted == "bidirectional")


def _sequence_order(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent,
                    fields: Mapping[str, str]) -> None:
    """Check how a backwards layer's outputs are read when the op itself runs in reverse.

    An ONNX ``direction="reverse"`` op returns Y in input time order: its final state is Y_h,
    or Y's *first* step. Keras returns a ``go_backwards`` layer's sequence in processing order
    (reversed), and its last step is the final state. So such an export must reverse Y again,
    and must not take Y's last step for the final state. ``ReverseSequence`` before a forward
    op (tf2onnx's way) needs neither.
    """
    sequence = node.node.output[0] if node.node.output else ""
    if ref.bidirectional or not ref.directions[0][1] or node.reversed_input or not sides.view.used(sequence):
        return
    readers = sides.view.readers(sequence)
    if ref.cell.get("return_sequences"):
        if not any(r.op_type == "ReverseSequence" for r in readers):
            sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=(
                "direction is reverse, so Y is in input time order, but the layer (go_backwards="
                "True, return_sequences=True) returns its sequence in reversed order and no "
                "ReverseSequence reverses Y"))
        return
    if any(r.op_type == "Slice" and _negative_start(sides, r) for r in readers):
        sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=(
            "direction is reverse and the export takes Y's last time step, which is the state "
            "after one step (the input's last): the final state of a reverse run is Y_h, or "
            "Y's first step"))
    elif readers:
        sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject, reason=(
            f"the reverse-direction {node.node.op_type} '{node.name}' is read through Y by "
            f"{', '.join(sorted({r.op_type for r in readers}))}; which step is taken is unchecked"))


def _negative_start(sides: Sides, node: Any) -> bool:
    """Return True when a Slice starts from the end (a stored negative start)."""
    starts = node.input[1] if len(node.input) > 1 else ""
    return bool(starts and sides.onnx.has(starts) and (sides.onnx.read(starts) < 0).any())


def _activations(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent, fields: Mapping[str, str]) -> None:
    """Check the activation functions, per direction."""
    op = node.node.op_type
    names = ([ref.cell.get("recurrent_activation"), ref.cell.get("activation"), ref.cell.get("activation")]
             if ref.kind is LSTM else
             [ref.cell.get("recurrent_activation"), ref.cell.get("activation")] if ref.kind is GRU
             else [ref.cell.get("activation")])
    wanted = [ACTIVATIONS.get(n) if isinstance(n, str) else None for n in names]
    if None in wanted:
        sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject, reason=(
            f"its activations {names} have no ONNX {op} counterpart graphcheck knows"))
        return
    count = 2 if node.direction == "bidirectional" else 1
    actual = list(node.attrs.get("activations") or DEFAULT_ACTIVATIONS[op] * count)
    if actual != [str(w) for w in wanted] * count:
        sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=(
            f"activations are {actual} but the layer's (recurrent_activation, activation) "
            f"give {wanted * count}"))


def _reset(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent, fields: Mapping[str, str]) -> None:
    """Check a GRU's linear_before_reset against reset_after."""
    if ref.kind is not GRU:
        return
    reset_after = bool(ref.cell.get("reset_after", True))
    lbr = int(node.attrs.get("linear_before_reset", 0))
    if lbr != int(reset_after):
        sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=(
            f"linear_before_reset is {lbr} but the layer has reset_after={reset_after} (Keras "
            f"applies the reset gate {'after' if reset_after else 'before'} the recurrent "
            f"matmul; ONNX does so only with linear_before_reset={int(reset_after)})"))


def _outputs(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent, fields: Mapping[str, str]) -> None:
    """Check that the node's outputs are read: Y for a layer returning sequences, and some output at all.

    A ``return_state`` layer's states need not all be read: an exporter drops the outputs the
    model never uses. A node none of whose outputs is read computes the layer for nothing.
    """
    outputs = [name for name in node.node.output if name]
    if ref.cell.get("return_sequences") and not sides.view.used(outputs[0] if outputs else ""):
        sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=(
            "the layer returns the whole sequence (return_sequences=True) but nothing reads "
            "the node's sequence output Y"))
    elif not any(sides.view.used(name) for name in outputs):
        roles = ", ".join(ONNX_OUTPUTS[:len(ref.kind.states) + 1])
        sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=(
            f"nothing reads any of the node's outputs ({roles}): the export computes the layer "
            "and discards its result"))


def _extras(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent, fields: Mapping[str, str]) -> None:
    """Check what Keras layers never do: clipping, coupled gates, peepholes, stored initial states."""
    found = []
    if node.attrs.get("clip") is not None:
        found.append(f"clip={node.attrs['clip']} clips the gate inputs")
    if node.attrs.get("input_forget"):
        found.append("input_forget=1 couples the input and forget gates")
    slots = {"P": 7, "initial_h": 5, "initial_c": 6}
    for role, slot in slots.items():
        name = node.input(slot)
        if role == "P" and node.kind is not LSTM:
            continue
        if name and sides.onnx.has(name) and not sides.onnx.external(name) and sides.onnx.read(name).any():
            found.append(f"its {role} is a stored non-zero tensor ('{name}')" + (
                ": Keras LSTMs have no peepholes" if role == "P" else
                "; the layer starts from zero states"))
    for detail in found:
        sides.out.add(ExportSemanticsMismatch, ref.layer.name, **fields, detail=detail)


def _weights(sides: Sides, ref: KerasRecurrent, node: OnnxRecurrent, fields: Mapping[str, str]) -> None:
    """Compare W, R and B with the Keras weights after the known transformation, per direction."""
    stored, unread = weights.stored(sides.onnx, node)
    if unread:
        sides.out.add(ExportNotVerified, ref.layer.name, subject=ref.subject, reason=unread)
        return
    keras = [_keras_weights(sides, ref, index) for index, _ in ref.directions]
    causes = weights.causes(ref.kind, ref.units, weights.arrays(sides.onnx, stored), keras, sides.atol)
    weights.report(sides.out, ref.layer.name, causes, fields)


def _keras_weights(sides: Sides, ref: KerasRecurrent, index: int) -> tuple[Any, Any, Any]:
    """Return one direction's Keras kernel, recurrent kernel and bias (None without bias)."""
    use_bias = ref.cell.get("use_bias", True) is not False
    kernel = sides.keras.read(ref.layer, index)
    recurrent = sides.keras.read(ref.layer, index + 1)
    bias = sides.keras.read(ref.layer, index + 2) if use_bias else None
    return kernel, recurrent, bias
