"""Keras against Keras (a model and its re-save): the same layers, configs and weight values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphcheck.compare.report import MISSING, Collector, Pair
from graphcheck.compare.transforms import close, largest_difference
from graphcheck.compare.values import KerasValues
from graphcheck.graph import Layer
from graphcheck.rules.export import (
    ExportMissingLayer,
    ExportNotVerified,
    ExportSemanticsMismatch,
    ExportWeightMismatch,
)

# Config keys that only name or place a layer, or that a re-save may spell differently.
IGNORED = frozenset({"name", "trainable", "dtype", "build_config", "registered_name", "module",
                     "batch_input_shape", "batch_shape", "input_shape", "time_major",
                     "kernel_initializer", "recurrent_initializer", "bias_initializer",
                     "seed", "implementation"})


def compare(ref: KerasValues, cand: KerasValues, atol: float, out: Collector) -> list[Pair]:
    """Pair top-level layers by name; compare class, config values and weights by order."""
    theirs = {layer.name: layer for layer in cand.model.root.layers()}
    pairs = []
    for layer in ref.model.root.layers():
        other = theirs.pop(layer.name, None)
        subject = f"{layer.type} '{layer.name}'"
        if other is None:
            out.add(ExportMissingLayer, layer.name, subject=subject, other="candidate",
                    detail="no layer of that name")
            pairs.append(Pair(reference=layer.name, kind=layer.type, candidate=(), status=MISSING))
            continue
        start = len(out.findings)
        _layer(ref, cand, layer, other, atol, out, subject)
        pairs.append(Pair(reference=layer.name, kind=layer.type, candidate=(other.name,),
                          status=out.status_since(start)))
    for name, layer in theirs.items():
        out.add(ExportMissingLayer, name, subject=f"{layer.type} '{name}'", other="reference",
                detail="no layer of that name")
        pairs.append(Pair(reference=None, kind=layer.type, candidate=(name,), status=MISSING))
    return pairs


def _layer(ref: KerasValues, cand: KerasValues, layer: Layer, other: Layer, atol: float, out: Collector,
           subject: str) -> None:
    """Compare one layer with its namesake."""
    fields = {"subject": subject, "op": other.type, "node": other.name}
    if layer.subgraph is not None or other.subgraph is not None:
        out.add(ExportNotVerified, layer.name, subject=subject, reason="nested models are not compared")
        return
    changed = _config_changes(layer.config, other.config) if layer.type == other.type else [
        f"the class is {other.type} in the candidate"]
    for change in changed:
        out.add(ExportSemanticsMismatch, layer.name, **fields, detail=change)
    mine, theirs = layer.weights or (), other.weights or ()
    if [w.shape for w in mine] != [w.shape for w in theirs]:
        out.add(ExportWeightMismatch, layer.name, **fields, weights="the weights",
                cause=f"their shapes are {[w.shape for w in theirs]}, not {[w.shape for w in mine]}")
        return
    for index, stored in enumerate(mine):
        a, b = ref.read(layer, index), cand.read(other, index)
        if not close(a, b, atol):
            out.add(ExportWeightMismatch, layer.name, **fields, weights=f"weight #{index} ({stored.key})",
                    cause=f"values differ by up to {largest_difference(a, b):.3g}")


def _config_changes(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    """Return one sentence per config value that differs (naming keys aside)."""
    keys = sorted((set(mine) | set(theirs)) - IGNORED)
    return [f"config {key} is {theirs.get(key)!r} in the candidate, {mine.get(key)!r} in the reference"
            for key in keys if mine.get(key) != theirs.get(key) and key in mine and key in theirs]
