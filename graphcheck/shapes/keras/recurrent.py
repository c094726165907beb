"""Shape functions for recurrent layers: LSTM, GRU, SimpleRNN, CuDNN*, RNN, Bidirectional, ConvLSTM."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Layer, Shape, StoredWeight, format_shape, snake_case
from graphcheck.recurrent_facts import (
    CONV_CLASSES,
    CUDNN_CLASSES,
    GRU,
    KERAS_GENERIC_RNN,
    KERAS_LAYERS,
    LSTM,
    Kind,
    gru_layout,
    keras_axes,
    keras_bias_rows,
)
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import as_tuple, conv_length, optional_number, positive_int, require_rank


@dataclass(frozen=True, kw_only=True)
class CellInfo:
    """A recurrent cell as the config describes it."""

    kind: str  # "LSTM", "GRU" or "SimpleRNN"
    units: int
    config: Mapping[str, Any]

    @property
    def facts(self) -> Kind:
        """Return the cell's row of the recurrent-facts table."""
        return KERAS_LAYERS[self.kind]

    @property
    def gates(self) -> int:
        """Return the number of gate blocks the kernels hold."""
        return self.facts.gates

    @property
    def states(self) -> int:
        """Return the number of state tensors the cell carries (h, and c for an LSTM)."""
        return len(self.facts.states)


def cell_weights(cell: CellInfo, features: Dim, path: str, prefix: str = "") -> list[WeightSpec]:
    """Return kernel, recurrent_kernel and bias specs of one cell fed ``features`` per step."""
    units, gates = cell.units, cell.gates
    width, value = (f"{gates}*units", f"{gates}*{units}") if gates > 1 else ("units", str(units))
    specs = [
        WeightSpec(name=prefix + "kernel", path=f"{path}/vars/0", shape=(features, gates * units),
                   formula=f"(features, {width}) = ({features}, {value})"),
        WeightSpec(name=prefix + "recurrent_kernel", path=f"{path}/vars/1",
                   shape=(units, gates * units), formula=f"(units, {width}) = ({units}, {value})"),
    ]
    if cell.config.get("use_bias", True):
        specs.append(_bias(cell, f"{path}/vars/2", prefix))
    return specs


def _bias(cell: CellInfo, path: str, prefix: str) -> WeightSpec:
    """Return the bias spec; GRU with reset_after keeps separate input and recurrent biases."""
    units, gates = cell.units, cell.gates
    rows = keras_bias_rows(cell.facts, reset_after=bool(cell.config.get("reset_after", True)),
                           cudnn=False)
    if rows == 2:
        return WeightSpec(name=prefix + "bias", path=path, shape=(rows, gates * units),
                          formula=f"({rows}, {gates}*units) = ({rows}, {gates}*{units}): input "
                                  "and recurrent biases (reset_after=True)", hints=_cudnn_hint(cell))
    width, value = (f"{gates}*units", f"{gates}*{units}") if gates > 1 else ("units", str(units))
    return WeightSpec(name=prefix + "bias", path=path, shape=(gates * units,),
                      formula=f"({width},) = ({value},)", hints=_cudnn_hint(cell))


def _cudnn_hint(cell: CellInfo) -> dict[tuple[int, ...], str]:
    """Name the CuDNN bias layout when an LSTM/GRU holds a CuDNNLSTM/CuDNNGRU's bias."""
    cudnn = [name for name, kind in CUDNN_CLASSES.items() if kind is cell.facts]
    if not cudnn:
        return {}
    size = keras_bias_rows(cell.facts, reset_after=True, cudnn=True) * cell.gates * cell.units
    return {(size,): (f"({size},) is the {cudnn[0]} bias layout (an input and a "
                      "recurrent bias per gate): tf_keras/Keras 2 convert it when loading a legacy "
                      ".h5 (the LSTM bias is the sum of the halves, the GRU bias needs "
                      "reset_after=True); Keras 3 does not")}


def cell_from(entry: object) -> CellInfo:
    """Read an ``LSTMCell``/``GRUCell``/``SimpleRNNCell`` (or layer) config entry."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("config"), Mapping):
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"cannot read recurrent cell {entry!r}")
    kind = str(entry.get("class_name", "")).removesuffix("Cell")
    if kind not in KERAS_LAYERS:
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"no shape function for cell {kind!r}")
    return CellInfo(kind=kind, units=positive_int(entry["config"], "units"), config=entry["config"])


def sequence_dims(call: Call) -> tuple[Dim, Dim, Dim]:
    """Return (batch, timesteps, features) of a recurrent layer's input, honouring time_major."""
    shape = call.single()
    require_rank(shape, (3,), call.layer.type)
    batch, steps = keras_axes(time_major=bool(call.config.get("time_major")))
    return shape[batch], shape[steps], shape[2]


def recurrent_outputs(call: Call, units: Dim, states: int, batch: Dim, steps: Dim) -> list[Shape]:
    """Return output (and state) shapes from return_sequences / return_state / time_major."""
    if call.config.get("return_sequences"):
        seq: Shape = (steps, batch, units) if call.config.get("time_major") else (batch, steps, units)
        outputs = [seq]
    else:
        outputs = [(batch, units)]
    if call.config.get("return_state"):
        outputs += [(batch, units)] * states
    return outputs


def check_initial_state(call: Call, units: list[int], batch: Dim) -> tuple[ShapeError, ...]:
    """Return an initial-state-mismatch problem when initial_state tensors are not (batch, units).

    Keras 3 builds (and saves) such a layer with its usual output shape; only running it fails,
    so the problem is reported while the outputs stay known.
    """
    given = call.kwargs.get("initial_state", ()) or call.inputs[1:]
    wrong = [f"initial_state[{index}] is {format_shape(shape)}"
             for index, (shape, want) in enumerate(zip(given, units))
             if shape is None or len(shape) != 2 or (isinstance(shape[-1], int) and shape[-1] != want)]
    if not wrong:
        return ()
    return (ShapeError(RuleName.INITIAL_STATE_MISMATCH,
                       f"{' and '.join(wrong)}, but the layer has units={units[0]}, so every state "
                       f"must be {format_shape((batch, units[0]))}"),)


@register("keras", *KERAS_LAYERS)
def rnn_layer(call: Call) -> LayerShapes:
    """LSTM/GRU/SimpleRNN: (B, T, F) -> (B, U) or (B, T, U), plus states; weights never see T."""
    units = positive_int(call.config, "units")
    config = call.config
    cell = CellInfo(kind=call.layer.type, units=units, config=config)
    if cell.facts is GRU:
        cell = replace(cell, config=gru_layout(config, units, call.layer.weights or ()))
    for rate in ("dropout", "recurrent_dropout"):
        optional_number(call.config, rate)
    batch, steps, features = sequence_dims(call)
    problems = check_initial_state(call, [cell.units] * cell.states, batch)
    outputs = recurrent_outputs(call, cell.units, cell.states, batch, steps)
    return LayerShapes(outputs=tuple(outputs), weights=tuple(cell_weights(cell, features, "cell")),
                       problems=problems)


# cuDNN keeps an input bias and a recurrent bias per gate block: CuDNNLSTM's bias is
# (8*units,), CuDNNGRU's (6*units,). The layers hold kernel, recurrent_kernel and bias
# directly (no cell), and have no activation/use_bias/dropout settings: cuDNN fixes them.
# Source: tensorflow/python/keras/layers/cudnn_recurrent.py (TF 2.x) and
# tf_keras/src/layers/rnn/cudnn_lstm.py, cudnn_gru.py, whose build() creates these shapes.
@register("keras", *CUDNN_CLASSES)
def cudnn_layer(call: Call) -> LayerShapes:
    """CuDNNLSTM/CuDNNGRU (tf.keras 1.x/2.x, GPU only): shapes as LSTM/GRU, doubled biases."""
    kind = CUDNN_CLASSES[call.layer.type]
    cell = CellInfo(kind=kind.keras, units=positive_int(call.config, "units"), config=call.config)
    batch, steps, features = sequence_dims(call)
    problems = check_initial_state(call, [cell.units] * cell.states, batch)
    outputs = recurrent_outputs(call, cell.units, cell.states, batch, steps)
    specs = cell_weights(replace(cell, config={"use_bias": False}), features, "")
    gates = cell.gates
    blocks = keras_bias_rows(kind, reset_after=True, cudnn=True) * gates
    bias = WeightSpec(name="bias", path="vars/2", shape=(blocks * cell.units,),
                      formula=f"({blocks}*units,) = ({blocks}*{cell.units},): an input and a "
                              f"recurrent bias for each of the {gates} gate blocks (cuDNN layout)")
    specs = [replace(s, path=s.path.removeprefix("/")) for s in specs] + [bias]
    return LayerShapes(outputs=tuple(outputs), weights=tuple(specs), problems=problems)


def stacked_cells(config: Mapping[str, Any]) -> list[CellInfo]:
    """Return the cells of an ``RNN`` layer: one cell, a list, or StackedRNNCells."""
    cell = config.get("cell")
    if isinstance(cell, list):
        return [cell_from(c) for c in cell]
    if isinstance(cell, Mapping) and cell.get("class_name") == "StackedRNNCells":
        return [cell_from(c) for c in cell.get("config", {}).get("cells", [])]
    return [cell_from(cell)]


@register("keras", KERAS_GENERIC_RNN)
def generic_rnn(call: Call) -> LayerShapes:
    """RNN(cell or [cells]): each cell feeds the next; output size is the last cell's units."""
    cells = stacked_cells(call.config)
    stacked = isinstance(call.config.get("cell"), list) or _is_stacked(call.config)
    batch, steps, features = sequence_dims(call)
    weights: list[WeightSpec] = []
    seen: dict[str, int] = {}
    feed = features
    for index, cell in enumerate(cells):
        path, prefix = "cell", ""
        if stacked:
            group = snake_case(cell.kind + "Cell")
            path = f"cell/cells/{group}" + (f"_{seen[group]}" if seen.get(group) else "")
            seen[group] = seen.get(group, 0) + 1
            prefix = f"cells[{index}]/"
        weights += cell_weights(cell, feed, path, prefix)
        feed = cell.units
    outputs = recurrent_outputs(call, cells[-1].units, 0, batch, steps)
    if call.config.get("return_state"):
        outputs += [(batch, c.units) for c in cells for _ in range(c.states)]
    return LayerShapes(outputs=tuple(outputs), weights=tuple(weights))


def _is_stacked(config: Mapping[str, Any]) -> bool:
    """Return True when the RNN's cell is a StackedRNNCells wrapper."""
    cell = config.get("cell")
    return isinstance(cell, Mapping) and cell.get("class_name") == "StackedRNNCells"


def inner_layer(entry: object, name: str, stored: tuple[StoredWeight, ...] | None = None) -> Layer:
    """Build a Layer from a wrapper's nested layer config (Bidirectional, TimeDistributed)."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("config"), Mapping):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"wrapped layer config is {entry!r}")
    return Layer(name=str(entry["config"].get("name", name)), type=str(entry.get("class_name")),
                 config=entry["config"], weights=stored)


def run_inner(layer: Layer, call: Call) -> LayerShapes:
    """Run the shape function of a wrapped layer on the wrapper's inputs."""
    from graphcheck.shapes import SHAPE_FUNCTIONS

    fn = SHAPE_FUNCTIONS.get(("keras", layer.type))
    if fn is None:
        raise ShapeError(RuleName.UNSUPPORTED_LAYER, f"no shape function for wrapped {layer.type!r}")
    return fn(replace(call, layer=layer, kwargs={}))


def prefixed(specs: tuple[WeightSpec, ...], path: str, name: str) -> list[WeightSpec]:
    """Move a wrapped layer's weight specs under the wrapper's group (and name prefix, if any)."""
    return [replace(s, path=f"{path}/{s.path}", name=f"{name}/{s.name}" if name else s.name)
            for s in specs]


@register("keras", "Bidirectional")
def bidirectional(call: Call) -> LayerShapes:
    """Bidirectional: two recurrent layers whose outputs are merged (concat, sum, mul, ave, None)."""
    # The wrapper's stored weights let each direction read its file's bias layout.
    forward = inner_layer(call.config.get("layer"), "forward", call.layer.weights)
    backward_entry = call.config.get("backward_layer") or call.config.get("layer")
    backward = inner_layer(backward_entry, "backward", call.layer.weights)
    fwd, bwd = run_inner(forward, call), run_inner(backward, call)
    if fwd.outputs[0] is None or bwd.outputs[0] is None:
        return LayerShapes(outputs=(None,))
    mode = call.config.get("merge_mode", "concat")
    merged = _merge(fwd.outputs[0], bwd.outputs[0], mode)
    states = list(fwd.outputs[1:]) + list(bwd.outputs[1:])
    weights = prefixed(fwd.weights, "forward_layer", "forward") + prefixed(
        bwd.weights, "backward_layer", "backward")
    problems = fwd.problems + bwd.problems
    if mode in ("sum", "mul", "ave") and fwd.outputs[0][-1] != bwd.outputs[0][-1]:
        # Keras builds and saves this with the forward shape; only running it fails.
        problems += (ShapeError(
            RuleName.INPUT_DIM_MISMATCH, f"merge_mode={mode!r} needs both directions to have the same "
            f"units, got forward {fwd.outputs[0][-1]} and backward {bwd.outputs[0][-1]}: Keras "
            f"builds and saves the layer as {format_shape(fwd.outputs[0])}, but predict fails"),)
    return LayerShapes(outputs=tuple(merged + states), weights=tuple(weights), problems=problems)


def _merge(fwd: Shape, bwd: Shape, mode: object) -> list[Shape]:
    """Combine the two directions' outputs by merge_mode (sum/mul/ave keep the forward shape)."""
    if mode is None:
        return [fwd, bwd]
    if mode == "concat":
        last = fwd[-1] + bwd[-1] if isinstance(fwd[-1], int) and isinstance(bwd[-1], int) else None
        return [(*fwd[:-1], last)]
    if mode in ("sum", "mul", "ave"):
        return [fwd]
    raise ShapeError(RuleName.UNREADABLE_MODEL, f"unknown merge_mode {mode!r}")


@register("keras", *CONV_CLASSES)
def conv_lstm(call: Call) -> LayerShapes:
    """ConvLSTM{1,2,3}D: (B, T, *spatial, C) -> (B, [T,] *spatial', filters); 4 gates."""
    rank = int(call.layer.type[-2])
    shape = call.single()
    require_rank(shape, (rank + 3,), call.layer.type)
    filters = positive_int(call.config, "filters")
    kernel = as_tuple(call.config.get("kernel_size"), rank)
    strides = as_tuple(call.config.get("strides", 1), rank)
    dilation = as_tuple(call.config.get("dilation_rate", 1), rank)
    padding = str(call.config.get("padding", "valid"))
    channels_first = call.config.get("data_format") == "channels_first"
    spatial = shape[3:] if channels_first else shape[2:-1]
    channels = shape[2] if channels_first else shape[-1]
    out_spatial = tuple(conv_length(n, k, s, padding, d)
                        for n, k, s, d in zip(spatial, kernel, strides, dilation))
    step: Shape = (filters, *out_spatial) if channels_first else (*out_spatial, filters)
    batch, steps = shape[0], shape[1]
    outputs: list[Shape] = [(batch, steps, *step)] if call.config.get("return_sequences") else [
        (batch, *step)]
    if call.config.get("return_state"):
        outputs += [(batch, *step)] * len(LSTM.states)
    return LayerShapes(outputs=tuple(outputs), weights=_conv_lstm_weights(
        kernel, channels, filters, bool(call.config.get("use_bias", True))))


def _conv_lstm_weights(kernel: tuple[int, ...], channels: Dim, filters: int,
                       use_bias: bool) -> tuple[WeightSpec, ...]:
    """Return ConvLSTM kernel, recurrent kernel and bias specs."""
    k = LSTM.gates
    specs = [
        WeightSpec(name="kernel", path="cell/vars/0", shape=(*kernel, channels, k * filters),
                   formula=f"kernel_size + (channels, {k}*filters) = {kernel} + ({channels}, {k}*{filters})"),
        WeightSpec(name="recurrent_kernel", path="cell/vars/1",
                   shape=(*kernel, filters, k * filters),
                   formula=f"kernel_size + (filters, {k}*filters) = {kernel} + ({filters}, {k}*{filters})"),
    ]
    if use_bias:
        specs.append(WeightSpec(name="bias", path="cell/vars/2", shape=(k * filters,),
                                formula=f"({k}*filters,) = ({k}*{filters},)"))
    return tuple(specs)
