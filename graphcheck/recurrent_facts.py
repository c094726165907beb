"""One table of recurrent-layer facts: gates and their order, biases, weights and states.

Shapes, rules, explain and ``diff`` all read these; none keeps its own copy. The gate orders
are the ones the frameworks store (Keras ``LSTMCell``/``GRUCell`` split their kernels in this
order; ONNX's operator specification fixes its own), so converting a weight between the two
is a permutation of these blocks.
"""

from __future__ import annotations

from dataclasses import dataclass


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


LSTM = Kind(keras="LSTM", onnx="LSTM", keras_gates=(INPUT, FORGET, CELL, OUTPUT),
            onnx_gates=(INPUT, OUTPUT, FORGET, CELL), states=("h", "c"))
GRU = Kind(keras="GRU", onnx="GRU", keras_gates=(UPDATE, RESET, CANDIDATE),
           onnx_gates=(UPDATE, RESET, CANDIDATE), states=("h",))
SIMPLE = Kind(keras="SimpleRNN", onnx="RNN", keras_gates=(HIDDEN,), onnx_gates=(HIDDEN,),
              states=("h",))
KINDS = (LSTM, GRU, SIMPLE)

# Every Keras class that runs one of these cells (CuDNN layers and ConvLSTM run an LSTM's or
# a GRU's gates), and every ONNX operator, mapped to its kind.
KERAS_CLASSES: dict[str, Kind] = {
    "LSTM": LSTM, "GRU": GRU, "SimpleRNN": SIMPLE, "CuDNNLSTM": LSTM, "CuDNNGRU": GRU,
    "ConvLSTM1D": LSTM, "ConvLSTM2D": LSTM, "ConvLSTM3D": LSTM,
    "LSTMCell": LSTM, "GRUCell": GRU, "SimpleRNNCell": SIMPLE,
}
ONNX_OPS: dict[str, Kind] = {kind.onnx: kind for kind in KINDS}
CUDNN_CLASSES = ("CuDNNLSTM", "CuDNNGRU")
CONV_CLASSES = ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")

# Keras's weight names, in the order a cell stores them (vars/0, vars/1, vars/2).
KERAS_WEIGHTS = ("kernel", "recurrent_kernel", "bias")
# ONNX's weight inputs and outputs, by position on the operator.
ONNX_WEIGHTS = {"W": 1, "R": 2, "B": 3}
ONNX_OUTPUTS = ("Y", "Y_h", "Y_c")
# ONNX B is (num_directions, 2*k*H): the input biases Wb, then the recurrent biases Rb.
ONNX_BIAS_HALVES = ("Wb", "Rb")


def keras_kind(layer_class: str) -> Kind | None:
    """Return the cell kind a Keras layer class runs, or None for a non-recurrent class."""
    return KERAS_CLASSES.get(layer_class)


def onnx_kind(op_type: str) -> Kind | None:
    """Return the cell kind of an ONNX operator, or None for any other operator."""
    return ONNX_OPS.get(op_type)


def keras_bias_rows(kind: Kind, *, reset_after: bool, cudnn: bool) -> int:
    """Return how many bias vectors per gate block Keras stores: 2 for cuDNN and reset_after GRU."""
    return 2 if cudnn or (kind is GRU and reset_after) else 1
