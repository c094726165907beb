"""The reference Keras model as ``diff`` pairs it: its recurrent and Dense layers, top level."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphcheck.graph import Layer, Model
from graphcheck.recurrent_facts import KINDS, Kind, keras_kind

# Layers without weights that change nothing an export must reproduce weight by weight.
WEIGHTLESS = frozenset({"InputLayer", "Dropout", "SpatialDropout1D", "GaussianNoise",
                        "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity"})
# The recurrent layers an ONNX LSTM/GRU/RNN implements (cuDNN and ConvLSTM layers are not).
PLAIN = frozenset(kind.keras for kind in KINDS)


@dataclass(frozen=True, kw_only=True)
class KerasRecurrent:
    """A recurrent layer (or a Bidirectional wrapping one): the facts the export must keep."""

    layer: Layer
    kind: Kind
    cell: Mapping[str, Any]  # the recurrent layer's config (the wrapped layer's for Bidirectional)
    # Per ONNX direction (forward first): the index of its kernel in layer.weights, go_backwards.
    directions: tuple[tuple[int, bool], ...]

    @property
    def units(self) -> int:
        """Return the layer's units."""
        units = self.cell.get("units")
        return units if isinstance(units, int) and not isinstance(units, bool) else -1

    @property
    def bidirectional(self) -> bool:
        """Return True for a Bidirectional wrapper."""
        return self.layer.type == "Bidirectional"

    @property
    def subject(self) -> str:
        """Return how messages name the layer: ``LSTM 'lstm'``."""
        inner = f"({self.kind.keras})" if self.bidirectional else ""
        return f"{self.layer.type}{inner} '{self.layer.name}'"


@dataclass(frozen=True, kw_only=True)
class KerasOther:
    """A layer with weights that is not recurrent: a Dense, or one diff does not verify."""

    layer: Layer

    @property
    def subject(self) -> str:
        """Return how messages name the layer."""
        return f"{self.layer.type} '{self.layer.name}'"


def recurrent_of(layer: Layer) -> KerasRecurrent | None:
    """Return the recurrent facts of a plain recurrent layer or a Bidirectional, else None."""
    kind = keras_kind(layer.type)
    if kind is not None and layer.type in PLAIN:
        return KerasRecurrent(layer=layer, kind=kind, cell=layer.config,
                              directions=((0, bool(layer.config.get("go_backwards"))),))
    if layer.type != "Bidirectional":
        return None
    inner = layer.config.get("layer")
    if not isinstance(inner, Mapping) or not isinstance(inner.get("config"), Mapping):
        return None
    kind = keras_kind(str(inner.get("class_name")))
    if kind is None or inner.get("class_name") not in PLAIN:
        return None
    per = len(layer.weights or ()) // 2
    return KerasRecurrent(layer=layer, kind=kind, cell=inner["config"],
                          directions=((0, False), (per, True)))


def split(model: Model) -> tuple[list[KerasRecurrent], list[KerasOther], list[Layer]]:
    """Return the top-level recurrent layers, other layers with weights, weightless computing layers."""
    recurrent: list[KerasRecurrent] = []
    other: list[KerasOther] = []
    computing: list[Layer] = []
    for layer in model.root.layers():
        found = recurrent_of(layer)
        if found is not None:
            recurrent.append(found)
        elif layer.type in WEIGHTLESS:
            continue
        elif layer.weights or layer.subgraph is not None:
            other.append(KerasOther(layer=layer))
        else:
            computing.append(layer)
    return recurrent, other, computing
