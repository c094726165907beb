"""The explain view model: picklable, framework-neutral data that reporters render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from graphcheck.findings import Finding
from graphcheck.graph import Dim, Shape


@dataclass(frozen=True, kw_only=True)
class Cell:
    """One direction of a recurrent layer, with the numbers a cell diagram draws.

    Weight shapes are per direction (no ONNX ``num_directions`` axis) and the ones the config
    implies (a Keras layer whose input is unknown: the file's); ``params`` counts them.
    """

    kind: str  # the cell: "LSTM", "GRU" or "SimpleRNN" (recurrent_facts.Kind.keras)
    layer_class: str  # what the file calls it: "CuDNNLSTM", "ConvLSTM2D", ONNX "LSTM", ...
    label: str | None  # "forward" / "backward" inside a Bidirectional (or ONNX bidirectional)
    units: Dim  # hidden size (filters for ConvLSTM)
    features: Dim  # per timestep (channels for ConvLSTM)
    timesteps: Dim
    gates: tuple[str, ...]  # gate names in the order this framework stores them
    kernel: Shape
    recurrent_kernel: Shape
    bias: Shape | None
    return_sequences: bool
    return_state: bool
    reverse: bool  # runs from the last timestep to the first (go_backwards, ONNX reverse)
    params: int | None
    formula: str  # "4*units*(features + units + 1)"
    numbers: str  # "4*32*(64 + 32 + 1) = 12,416"


@dataclass(frozen=True, kw_only=True)
class NodeReport:
    """One layer (Keras) or operator (ONNX) as explain shows it."""

    name: str
    type: str
    inputs: tuple[str, ...]  # the layers feeding it, in call order
    input_shapes: tuple[Shape | None, ...]  # the shapes on those edges (first call)
    output_shapes: tuple[Shape | None, ...]
    params: int | None
    weights: Mapping[str, tuple[Dim, ...]] = field(default_factory=dict)
    parent: str | None = None  # the enclosing nested model, None at top level
    depth: int = 0
    story: tuple[str, ...] = ()  # the plain-language explanation (recurrent layers)
    cells: tuple[Cell, ...] = ()  # one per direction for recurrent layers, else empty
    merge_mode: str | None = None  # Bidirectional's merge, when it has one

    @property
    def label(self) -> str:
        """Return the name inside its enclosing model."""
        return self.name.removeprefix(f"{self.parent}/") if self.parent else self.name


@dataclass(frozen=True, kw_only=True)
class ModelReport:
    """Everything explain shows about one file; ``error`` is set when it could not be read."""

    path: str
    format: str | None
    nodes: tuple[NodeReport, ...] = ()
    outputs: tuple[tuple[str, Shape | None], ...] = ()
    findings: tuple[Finding, ...] = ()
    total_params: int | None = None
    error: str | None = None
