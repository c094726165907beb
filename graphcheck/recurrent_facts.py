"""One table of recurrent-layer facts: gates and their order, biases, weights and states.

Shapes, rules, explain and ``diff`` all read these; none keeps its own copy. The gate orders
are the ones the frameworks store (Keras ``LSTMCell``/``GRUCell`` split their kernels in this
order; ONNX's operator specification fixes its own), so converting a weight between the two
is a permutation of these blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphcheck.graph import StoredWeight


@dataclass(frozen=True, kw_only=True)
class Gate:
    """One gate block of a recurrent cell: its letter, as papers and the ONNX spec write it."""

    letter: str
    name: str


INPUT = Gate(letter="i", name="input")
FORGET = Gate(letter="f", name="forget")
CELL = Gate(letter="c", name="cell")
OUTPUT = Gate(letter="o", name="output")
UPDATE = Gate(letter="z", name="update")
RESET = Gate(letter="r", name="reset")
CANDIDATE = Gate(letter="h", name="candidate")
HIDDEN = Gate(letter="h", name="hidden")


@dataclass(frozen=True, kw_only=True)
class Kind:
    """What one recurrent cell is: the same facts, seen from Keras and from ONNX."""

    keras: str  # the Keras layer class of the plain cell
    onnx: str  # the ONNX operator
    keras_gates: tuple[Gate, ...]  # the order of the gate blocks in Keras kernels and biases
    onnx_gates: tuple[Gate, ...]  # the order of the gate blocks in ONNX W, R and B
    states: tuple[str, ...]  # the state tensors, in the order Keras returns them
    onnx_inputs: tuple[str, ...]  # the operator's inputs by position (roles of edges and weights)
    onnx_outputs: tuple[str, ...]  # the operator's outputs by position
    # The order Keras 1 listed its per-gate weights in (Keras 2's preprocess_weights_for_loading
    # joins an LSTM's 12 arrays as weights[0], [6], [3], [9]: i, f, c, o).
    keras1_gates: tuple[Gate, ...] = ()
    onnx_peepholes: tuple[Gate, ...] = ()  # the gates ONNX P holds a peephole for, in order

    @property
    def gates(self) -> int:
        """Return k, the number of gate blocks stacked along the kernels' last axis."""
        return len(self.keras_gates)

    @property
    def gate_phrase(self) -> str:
        """Return "4 gates (input, forget, cell, output)" or "1 block (no gates)"."""
        if self.gates == 1:
            return "1 block (no gates)"
        return f"{self.gates} gates ({', '.join(g.name for g in self.keras_gates)})"

    def onnx_order(self) -> tuple[int, ...]:
        """Return, for each ONNX gate block in turn, the index of the Keras block it holds."""
        return tuple(self.keras_gates.index(g) for g in self.onnx_gates)


_ONNX_INPUTS = ("X", "W", "R", "B", "sequence_lens", "initial_h")

LSTM = Kind(keras="LSTM", onnx="LSTM", keras_gates=(INPUT, FORGET, CELL, OUTPUT),
            onnx_gates=(INPUT, OUTPUT, FORGET, CELL), states=("h", "c"),
            onnx_inputs=(*_ONNX_INPUTS, "initial_c", "P"), onnx_outputs=("Y", "Y_h", "Y_c"),
            keras1_gates=(INPUT, CELL, FORGET, OUTPUT), onnx_peepholes=(INPUT, OUTPUT, FORGET))
GRU = Kind(keras="GRU", onnx="GRU", keras_gates=(UPDATE, RESET, CANDIDATE),
           onnx_gates=(UPDATE, RESET, CANDIDATE), states=("h",), onnx_inputs=_ONNX_INPUTS,
           onnx_outputs=("Y", "Y_h"), keras1_gates=(UPDATE, RESET, CANDIDATE))
SIMPLE = Kind(keras="SimpleRNN", onnx="RNN", keras_gates=(HIDDEN,), onnx_gates=(HIDDEN,),
              states=("h",), onnx_inputs=_ONNX_INPUTS, onnx_outputs=("Y", "Y_h"))
KINDS = (LSTM, GRU, SIMPLE)

# The Keras layers that run one cell over (batch, timesteps, features) and take ``units``; the
# CuDNN layers (tf.keras 1.x/2.x) run an LSTM's or a GRU's gates with cuDNN's bias layout.
KERAS_LAYERS: Mapping[str, Kind] = MappingProxyType({kind.keras: kind for kind in KINDS})
CUDNN_CLASSES: Mapping[str, Kind] = MappingProxyType({"CuDNNLSTM": LSTM, "CuDNNGRU": GRU})
SEQUENCE_CLASSES: Mapping[str, Kind] = MappingProxyType({**KERAS_LAYERS, **CUDNN_CLASSES})
# ConvLSTM runs an LSTM's gates with convolutions; cells are called one step at a time.
CONV_CLASSES: Mapping[str, Kind] = MappingProxyType(dict.fromkeys(
    ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"), LSTM))
CELL_CLASSES: Mapping[str, Kind] = MappingProxyType({kind.keras + "Cell": kind for kind in KINDS})
# Every Keras class that runs one of these cells, and every ONNX operator, mapped to its kind.
KERAS_CLASSES: Mapping[str, Kind] = MappingProxyType(
    {**SEQUENCE_CLASSES, **CONV_CLASSES, **CELL_CLASSES})
ONNX_OPS: Mapping[str, Kind] = MappingProxyType({kind.onnx: kind for kind in KINDS})
# The generic Keras layer that runs any cell (or stack of cells) given in its config.
KERAS_GENERIC_RNN = "RNN"

# Keras's weight names, in the order a cell stores them (vars/0, vars/1, vars/2).
KERAS_WEIGHTS = ("kernel", "recurrent_kernel", "bias")
# Keras 1 stored one array per gate, "<layer>_W_i", "<layer>_U_i", "<layer>_b_i", ...; Keras 2
# joins each letter's arrays along the last axis into these weights.
KERAS1_WEIGHTS: Mapping[str, str] = MappingProxyType(
    {"W": "kernel", "U": "recurrent_kernel", "b": "bias"})
KERAS1_GATE_LETTERS = tuple(dict.fromkeys(g.letter for kind in KINDS for g in kind.keras1_gates))
# ONNX's weight inputs, by position on the operator; the inputs that carry a state.
ONNX_WEIGHTS: Mapping[str, int] = MappingProxyType({"W": 1, "R": 2, "B": 3})
ONNX_STATE_INPUTS = ("initial_h", "initial_c")
ONNX_OUTPUTS = LSTM.onnx_outputs  # every output any of the operators has
# ONNX B is (num_directions, 2*k*H): the input biases Wb, then the recurrent biases Rb.
ONNX_BIAS_HALVES = ("Wb", "Rb")
# The ``direction`` attribute's values; "bidirectional" stacks two directions on axis 0.
ONNX_DIRECTIONS = ("forward", "reverse", "bidirectional")
# The ``layout`` attribute (opset 14+): 0 is time-major X [T, B, I], 1 batch-major [B, T, I].
ONNX_LAYOUTS: Mapping[int, str] = MappingProxyType({0: "time-major", 1: "batch-major"})
# LSTM-1, GRU-1/3 and RNN-1 have no ONNX Runtime kernel; version 7 removed output_sequence.
FIRST_RUNNABLE_OPSET = 7


def keras_kind(layer_class: str) -> Kind | None:
    """Return the cell kind a Keras layer class runs, or None for a non-recurrent class."""
    return KERAS_CLASSES.get(layer_class)


def onnx_kind(op_type: str) -> Kind | None:
    """Return the cell kind of an ONNX operator, or None for any other operator."""
    return ONNX_OPS.get(op_type)


def keras_bias_rows(kind: Kind, *, reset_after: bool, cudnn: bool) -> int:
    """Return how many bias vectors per gate block Keras stores: 2 for cuDNN and reset_after GRU."""
    return 2 if cudnn or (kind is GRU and reset_after) else 1


def keras_axes(*, time_major: bool) -> tuple[int, int]:
    """Return the (batch, timesteps) axes of a Keras recurrent input: swapped by time_major."""
    return (1, 0) if time_major else (0, 1)


def num_directions(direction: str) -> int:
    """Return ONNX's num_directions for a ``direction`` attribute: 2 for bidirectional, else 1."""
    return 2 if direction == "bidirectional" else 1


def onnx_op_version(kind: Kind, opset: int) -> int:
    """Return the op version an opset below 7 selects (GRU changed at 3, the others at 1 only)."""
    return 3 if kind is GRU and opset >= 3 else 1


def gru_layout(config: Mapping[str, Any], units: int,
               stored: tuple[StoredWeight, ...]) -> Mapping[str, Any]:
    """Read reset_after=False where old Keras 2 (files up to 2.1.3) wrote no key and a (3*units,) bias.

    That GRU had no such argument and one bias per gate; TF2 and Keras 3 default to True.
    """
    if "reset_after" in config or not any(w.shape == (3 * units,) for w in stored):
        return config
    return {**config, "reset_after": False}
