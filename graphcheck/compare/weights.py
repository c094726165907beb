"""A recurrent op's W, R and B held against the weights they should hold, direction by direction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphcheck.compare.onnx_view import OnnxRecurrent
from graphcheck.compare.report import Collector
from graphcheck.compare.transforms import Cause, explain_bias, explain_matrix
from graphcheck.compare.values import OnnxValues
from graphcheck.recurrent_facts import GRU, ONNX_WEIGHTS, Kind
from graphcheck.rules.export import ExportWeightMismatch

# One direction's weights in Keras's layout: kernel, recurrent kernel, bias (None: no bias).
KerasCell = tuple[Any, Any, Any]


def stored(values: OnnxValues, node: OnnxRecurrent) -> tuple[dict[str, str], str]:
    """Return the op's W, R, B tensor names, and why they cannot be read ("" when they can)."""
    names = {role: node.input(slot) for role, slot in ONNX_WEIGHTS.items()}
    missing = [role for role in ("W", "R") if not values.has(names[role])]
    if names["B"] and not values.has(names["B"]):
        missing.append("B")
    external = [r for r, name in names.items() if name and values.has(name) and values.external(name)]
    if not missing and not external:
        return names, ""
    how = "are computed, not stored" if missing else "are stored outside the file"
    return names, f"{', '.join(missing + external)} of ONNX {node.node.op_type} '{node.name}' {how}"


def arrays(values: OnnxValues, names: Mapping[str, str]) -> dict[str, Any]:
    """Read W, R and B (None when the op has no B)."""
    return {role: values.read(name) if name else None for role, name in names.items()}


def causes(kind: Kind, units: int, onnx: Mapping[str, Any], cells: list[KerasCell],
           atol: float) -> dict[str, Cause]:
    """Return the cause per ONNX weight that differs, after trying the directions the other way round."""
    found = _per_direction(kind, units, onnx, cells, atol)
    flipped = {k: v[::-1] if v is not None else None for k, v in onnx.items()}
    if found and len(cells) == 2 and not _per_direction(kind, units, flipped, cells, atol):
        text = "the forward and backward weights are exchanged (direction 0 holds the backward layer's)"
        return {"W, R and B": Cause(slug="directions-swapped", text=text)}
    return found


def _per_direction(kind: Kind, units: int, onnx: Mapping[str, Any], cells: list[KerasCell],
                   atol: float) -> dict[str, Cause]:
    """Return the first cause found for each of W, R and B over every direction."""
    import numpy as np

    found: dict[str, Cause] = {}
    gates = kind.gates * units
    for d, (kernel, recurrent, bias) in enumerate(cells):
        if d >= onnx["W"].shape[0] or d >= onnx["R"].shape[0]:
            break
        for role, actual, expected in (("W", onnx["W"][d], kernel), ("R", onnx["R"][d], recurrent)):
            cause = explain_matrix(actual, expected, kind, units, atol, role)
            if cause:
                found.setdefault(role, cause)
        b = onnx["B"][d] if onnx["B"] is not None and d < onnx["B"].shape[0] else np.zeros(2 * gates)
        bias = np.zeros(gates) if bias is None else bias
        cause = (explain_bias(b[:gates], b[gates:], bias, kind, units, atol) if b.shape == (2 * gates,)
                 else Cause(slug="shape", text=f"B has {b.shape[0]} values per direction, not 2 x {gates}"))
        if cause:
            found.setdefault("B", cause)
    return found


def report(out: Collector, at: str, found: Mapping[str, Cause], fields: Mapping[str, str]) -> None:
    """Report one finding per distinct cause, naming every weight it explains."""
    by_text: dict[str, list[str]] = {}
    for role, cause in found.items():
        by_text.setdefault(cause.text, []).append(role)
    for text, roles in by_text.items():
        named = " and ".join([", ".join(roles[:-1]), roles[-1]] if len(roles) > 1 else roles)
        out.add(ExportWeightMismatch, at, **fields, weights=named, cause=text)


def keras_cells(kind: Kind, units: int, onnx: Mapping[str, Any],
                linear_before_reset: bool) -> list[KerasCell]:
    """Return an ONNX op's weights in Keras's layout, per direction (to hold another op against them)."""
    import numpy as np

    order = kind.onnx_order()
    gates = kind.gates * units

    def matrix(m: Any) -> Any:  # (k*U, rows) in ONNX order -> (rows, k*U) in Keras order
        out = np.empty((m.shape[1], gates))
        for j, g in enumerate(order):
            out[:, g * units:(g + 1) * units] = m[j * units:(j + 1) * units].T
        return out

    def vector(v: Any) -> Any:
        out = np.empty(gates)
        for j, g in enumerate(order):
            out[g * units:(g + 1) * units] = v[j * units:(j + 1) * units]
        return out
    cells = []
    for d in range(onnx["W"].shape[0]):
        b = onnx["B"][d] if onnx["B"] is not None else np.zeros(2 * gates)
        bias = (np.stack([vector(b[:gates]), vector(b[gates:])]) if kind is GRU and linear_before_reset
                else vector(b[:gates] + b[gates:]))
        cells.append((matrix(onnx["W"][d]), matrix(onnx["R"][d]), bias))
    return cells
