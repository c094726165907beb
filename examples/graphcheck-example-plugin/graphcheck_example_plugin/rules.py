"""GCX001 ``recurrent-units-limit``: the team's policy on how wide a recurrent layer may be."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from graphcheck.findings import Confidence, Severity
from graphcheck.graph import Layer
from graphcheck.rules import Case, Context, Hit, Rule
from graphcheck.testing import layer, lstm, sequential

KERAS_RECURRENT = frozenset({"LSTM", "GRU", "SimpleRNN"})
ONNX_RECURRENT = frozenset({"LSTM", "GRU", "RNN"})


def _units(item: Layer, framework: str) -> Iterator[tuple[str, int]]:
    """Yield (kind, units) for a recurrent layer, once per direction of a Bidirectional."""
    if framework == "onnx":
        size = item.config.get("attributes", {}).get("hidden_size")
        if item.type in ONNX_RECURRENT and isinstance(size, int):
            yield item.type, size
        return
    entries: list[Mapping[str, Any]] = [{"class_name": item.type, "config": item.config}]
    if item.type == "Bidirectional":
        entries = [e for e in (item.config.get("layer"), item.config.get("backward_layer"))
                   if isinstance(e, Mapping)]
    for entry in entries:
        kind, units = entry.get("class_name"), entry.get("config", {}).get("units")
        if kind in KERAS_RECURRENT and type(units) is int:
            yield str(kind), units


class RecurrentUnitsLimit(Rule):
    """No recurrent layer wider than the team's limit."""

    code = "GCX001"
    name = "recurrent-units-limit"
    severity = Severity.WARNING
    confidence = Confidence.HIGH
    options: ClassVar[Mapping[str, Any]] = {"max-units": 256}
    summary = "A recurrent layer is wider than the team's max-units"
    template = ("{kind} has {units} units, above the team limit of {limit} (max-units): its "
                "recurrent kernel alone holds {recurrent:,} weights and every timestep multiplies "
                "by it, so training and serving slow down with the square of units. Use fewer "
                "units, stack two narrower layers, or raise max-units for this project.")
    what = ("Warns when a recurrent layer (Keras `LSTM`, `GRU`, `SimpleRNN`, also inside "
            "`Bidirectional`; ONNX `LSTM`, `GRU`, `RNN`) has more units (`hidden_size`) than "
            "`max-units` (default 256).")
    why = ("A recurrent layer's recurrent kernel is units x (gates * units): its cost grows with "
           "the square of units and is paid at every timestep, sequentially. Our serving "
           "budget was set for layers of at most 256 units.")
    example = "`LSTM(512)` over sentences of 40 tokens."
    fix = ("Lower units, or stack two narrower layers. If a project needs wider layers, raise "
           "`max-units` in `[tool.graphcheck.rules.recurrent-units-limit]`.")
    VALID = (Case(model=sequential([None, 40, 64], lstm("lstm", 256))),
             Case(model=sequential([None, 40, 64], layer("Dense", "dense", units=1024))))
    INVALID = (Case(model=sequential([None, 40, 64], lstm("lstm", 512)), nodes=("lstm",),
                    contains="LSTM has 512 units, above the team limit of 256"),
               Case(model=sequential([None, 40, 64], layer(
                   "Bidirectional", "bi", layer=layer("GRU", "gru", units=300))),
                    nodes=("bi",), contains="GRU has 300 units"))

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Yield a hit per recurrent layer (per direction) above max-units."""
        limit = self.option(ctx, "max-units")
        for name, item in ctx.model.root.walk():
            for kind, units in _units(item, ctx.model.framework):
                if units > limit:
                    yield self.hit(name, kind=kind, units=units, limit=limit,
                                   recurrent=units * units * {"LSTM": 4, "GRU": 3}.get(kind, 1))
