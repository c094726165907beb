"""Rules about wrong beliefs around recurrent layers (units, timesteps, features)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from graphcheck.findings import Confidence, Severity
from graphcheck.graph import Dim, Shape
from graphcheck.recurrent_facts import (
    KERAS_GENERIC_RNN,
    SEQUENCE_CLASSES,
    keras_axes,
    keras_kind,
    onnx_kind,
)
from graphcheck.rules import Case, Context, Hit, Rule, typed
from graphcheck.rules.cases import layer, lstm, sequential
from graphcheck.rules.onnx import onnx_recurrent_calls, onnx_state_fed
from graphcheck.shapes.propagate import NodeResult


@dataclass(frozen=True, kw_only=True)
class RecurrentLayer:
    """One Keras recurrent layer (or one direction of a Bidirectional) and its first call."""

    node: str
    kind: str  # "LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU" or "RNN" (over cells)
    config: Mapping[str, Any]
    direction: str | None  # "forward"/"backward" inside Bidirectional, else None
    shape: Shape | None  # the first call's sequence input
    result: NodeResult

    def axis(self, name: str) -> Dim:
        """Return the ``batch`` or ``steps`` dimension of the input, honouring time_major."""
        if self.shape is None or len(self.shape) != 3:
            return None
        batch, steps = keras_axes(time_major=bool(self.config.get("time_major")))
        return self.shape[batch if name == "batch" else steps]


def _directions(config: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Return the (direction, layer entry) pairs a Bidirectional config wraps."""
    forward = config.get("layer")
    backward = config.get("backward_layer") or forward
    return [(d, e) for d, e in (("forward", forward), ("backward", backward))
            if isinstance(e, Mapping) and isinstance(e.get("config"), Mapping)]


def keras_recurrent(ctx: Context) -> Iterator[RecurrentLayer]:
    """Yield every Keras recurrent layer, one entry per direction of a Bidirectional."""
    if ctx.model.framework != "keras":
        return
    for name, node in ctx.inference.nodes.items():
        layer = node.layer
        entries: list[tuple[str | None, Mapping[str, Any]]] = (
            [*_directions(layer.config)] if layer.type == "Bidirectional"
            else [(None, {"class_name": layer.type, "config": layer.config})])
        shape = node.calls[0].inputs[0] if node.calls and node.calls[0].inputs else None
        for direction, entry in entries:
            kind = str(entry.get("class_name"))
            if kind in SEQUENCE_CLASSES or kind == KERAS_GENERIC_RNN:
                yield RecurrentLayer(node=name, kind=kind, config=entry["config"],
                                     direction=direction, shape=shape, result=node)


def recurrent_calls(ctx: Context) -> Iterator[tuple[str, str, int, int | None, int | None]]:
    """Yield (node, type, units, timesteps, features) for each recurrent layer's first call."""
    for use in keras_recurrent(ctx):
        units = typed(use.config, "units", int)
        if use.direction == "backward" or use.kind not in SEQUENCE_CLASSES or units is None:
            continue
        if use.shape is None or len(use.shape) != 3:
            continue
        steps, features = use.axis("steps"), use.shape[2]
        yield (use.node, use.kind, units, steps if isinstance(steps, int) else None,
               features if isinstance(features, int) else None)
    yield from onnx_recurrent_calls(ctx)


class UnitsEqualTimesteps(Rule):
    """units chosen to equal the number of timesteps."""

    code = "GC301"
    name = "units-equal-timesteps"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    options: ClassVar[Mapping[str, Any]] = {"min-units": 5}
    summary = "A recurrent layer's units equals its number of timesteps"
    template = ("units={units} equals the number of timesteps T={steps}. units is the size of the "
                "hidden state, not the number of steps: this {kind} runs one cell over all {steps} "
                "steps of {features} features and outputs {units} values per step; its weights "
                "(and parameter count) do not depend on T. Choose units for capacity.")
    what = ("Warns when a recurrent layer's `units` equals the number of timesteps of its "
            "input, the classic belief that an LSTM has one neuron per timestep. It stays "
            "silent when units also equals the number of features (a square layer chosen for "
            "another reason) and when units is below `min-units` (default 5), where small "
            "numbers coincide by chance. In ONNX files exported from PyTorch it stays silent: "
            "`nn.LSTM` never takes a sequence length, so T there is the export's example input.")
    why = ("`units` is the size of the hidden state, the width of what the layer outputs at "
           "each step; the same cell runs over every timestep whatever `units` is. "
           "`LSTM(32, input_shape=(10, 64))` has 32 units run over 10 timesteps of 64 features, "
           "and its 12,416 parameters do not depend on the 10. Choosing units = T ties the "
           "model's capacity to the sequence length for no reason.")
    example = "`LSTM(10, input_shape=(10, 64))` chosen because the sequences have 10 steps."
    fix = ("Pick units as a capacity choice (try 32-256 and validate), independent of the "
           "sequence length. Suppress this rule for the layer if the equality is deliberate; "
           "raise `min-units` in `[tool.graphcheck.rules.units-equal-timesteps]` to ignore "
           "small layers.")
    VALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32))),
             Case(model=sequential([None, 10, 10], lstm("lstm", 10))),
             Case(model=sequential([None, 3, 8], lstm("lstm", 3))),
             Case(model=sequential([None, None, 64], lstm("lstm", 10))))
    INVALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 10)), nodes=("lstm",),
                    contains="T=10"),
               Case(model=sequential([None, 16, 8], layer(
                   "Bidirectional", "bi", layer=lstm("fwd", 16))), nodes=("bi",),
                    contains="units=16"))

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Warn where units == T, unless units also equals features or both are tiny."""
        floor = int(self.option(ctx, "min-units"))
        if str(ctx.model.metadata.get("producer", "")).startswith("pytorch"):
            return
        for name, kind, units, steps, features in recurrent_calls(ctx):
            if steps is None or units != steps or units == features or units < floor:
                continue
            yield self.hit(name, units=units, steps=steps, kind=kind, features=features)


def given_state(node: NodeResult) -> bool:
    """Return True when the layer's first call receives an initial state (keyword or folded)."""
    call = node.calls[0] if node.calls else None
    return call is not None and (bool(call.kwargs.get("initial_state")) or len(call.inputs) > 1)


def steps_one_at_a_time(node: NodeResult) -> bool:
    """Return True for a layer built to be fed one step per call (stateful or step decoder)."""
    config = node.layer.config
    return (bool(config.get("stateful") or config.get("return_state")) or given_state(node)
            or onnx_state_fed(node))


class SingleTimestep(Rule):
    """A recurrent layer that sees a single timestep."""

    code = "GC302"
    name = "single-timestep"
    severity = Severity.WARNING
    confidence = Confidence.HIGH
    summary = "A recurrent layer receives sequences of one timestep: the recurrence never runs"
    template = ("T=1: this {kind} sees a single timestep of {features} features, so the recurrence "
                "never runs: its recurrent_kernel ({units}, {width}) = {params:,} parameters only "
                "multiply the zero initial state. Was the data reshaped (samples, features) -> "
                "(samples, 1, features)? Feed windows of several timesteps, or use Dense layers.")
    what = ("Warns when a recurrent layer's input has a static number of timesteps T = 1. "
            "Stateful layers, layers given an `initial_state` (ONNX: `initial_h`/`initial_c` "
            "computed at run time, e.g. a cache fed as a graph input) and layers that return "
            "their state are left alone: those are usually fed one step per call on purpose.")
    why = ("With one timestep the cell runs once, from a zero state: the recurrent kernel only "
           "ever multiplies zeros and the layer is an expensive Dense layer. It almost always "
           "means the data was reshaped `(samples, features) -> (samples, 1, features)` to "
           "satisfy the 3-D input requirement, so the model never sees time.")
    example = ("`X = X.reshape((n, 1, 64))` then `LSTM(32, input_shape=(1, 64))`: 4,096 "
               "recurrent parameters that never see a non-zero state.")
    fix = ("Give the model real sequences: a window of past steps on axis 1, "
           "`(samples, timesteps, features)`, e.g. built with "
           "`keras.utils.timeseries_dataset_from_array`. If each sample really is one vector, "
           "use Dense layers instead.")
    VALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32))),
             Case(model=sequential([4, 1, 64], lstm("lstm", 32, stateful=True))),
             Case(model=sequential([None, None, 64], lstm("lstm", 32))))
    INVALID = (Case(model=sequential([None, 1, 64], lstm("lstm", 32)), nodes=("lstm",),
                    contains="(32, 128) = 4,096"),
               Case(model=sequential([None, 1, 8], layer("GRU", "gru", units=4)), nodes=("gru",),
                    contains="T=1"))

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Warn on each recurrent layer whose static T is 1."""
        for name, kind, units, steps, features in recurrent_calls(ctx):
            if steps != 1 or steps_one_at_a_time(ctx.inference.nodes[name]):
                continue
            facts = keras_kind(kind) or onnx_kind(kind)
            gates = facts.gates if facts else 1
            yield self.hit(name, kind=kind, features=features, units=units, width=gates * units,
                           params=units * gates * units)
