"""Rules about wrong beliefs around recurrent layers (units, timesteps, features)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from graphcheck.findings import Confidence, Severity
from graphcheck.rules import Case, Context, Hit, Rule
from graphcheck.rules.cases import lstm, sequential

RECURRENT = frozenset({"LSTM", "GRU", "SimpleRNN"})


def recurrent_calls(ctx: Context) -> Iterator[tuple[str, str, int, int | None, int | None]]:
    """Yield (node, type, units, timesteps, features) for each recurrent layer's first call."""
    for name, node in ctx.inference.nodes.items():
        layer = node.layer
        configs = [layer.config]
        if layer.type == "Bidirectional":
            inner = layer.config.get("layer")
            configs = [inner.get("config", {})] if isinstance(inner, dict) else []
            kind = inner.get("class_name") if isinstance(inner, dict) else None
        else:
            kind = layer.type
        if kind not in RECURRENT or not node.calls or not node.calls[0].inputs:
            continue
        shape = node.calls[0].inputs[0]
        units = configs[0].get("units") if configs else None
        if shape is None or len(shape) != 3 or not isinstance(units, int):
            continue
        steps = shape[0] if layer.config.get("time_major") else shape[1]
        features = shape[2]
        yield (name, str(kind), units, steps if isinstance(steps, int) else None,
               features if isinstance(features, int) else None)


class UnitsEqualTimesteps(Rule):
    """units chosen to equal the number of timesteps."""

    code = "GC301"
    name = "units-equal-timesteps"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    options: ClassVar[Mapping[str, Any]] = {"min-units": 5}
    summary = "A recurrent layer's units equals its number of timesteps"
    template = "units={units} equals the number of timesteps T={T}; units is the hidden-state size"
    what = ("Warns when a recurrent layer's `units` equals the number of timesteps of its "
            "input, the classic belief that an LSTM has one neuron per timestep.")
    why = ("`units` is the size of the hidden state, the width of what the layer outputs at "
           "each step; the same cell runs over every timestep whatever `units` is. "
           "`LSTM(32, input_shape=(10, 64))` has 32 units run over 10 timesteps of 64 features, "
           "and its 12,416 parameters do not depend on the 10. Choosing units = T ties the "
           "model's capacity to the sequence length for no reason.")
    example = "`LSTM(10, input_shape=(10, 64))` chosen because the sequences have 10 steps."
    fix = ("Pick units as a capacity choice (try 32-256 and validate), independent of the "
           "sequence length. Suppress this rule for the layer if the equality is deliberate.")
    VALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32))),
             Case(model=sequential([None, 10, 10], lstm("lstm", 10))),
             Case(model=sequential([None, 3, 8], lstm("lstm", 3))))
    INVALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 10)), nodes=("lstm",),
                    contains="T=10"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Warn where units == T, unless units also equals features or both are tiny."""
        floor = int(ctx.options.get("min-units", self.options["min-units"]))
        for name, kind, units, steps, features in recurrent_calls(ctx):
            if steps is None or units != steps or units == features or units < floor:
                continue
            yield Hit(node=name, message=(
                f"units={units} equals the number of timesteps T={steps}. units is the size of "
                f"the hidden state, not the number of steps: this {kind} runs one cell over all "
                f"{steps} steps of {features} features and outputs {units} values per step; its "
                "weights (and parameter count) do not depend on T. Choose units for capacity."))
