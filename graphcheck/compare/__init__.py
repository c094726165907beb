"""``graphcheck diff``: verify an export statically, a Keras model against its ONNX export.

``run(reference, candidate)`` pairs each recurrent and Dense layer of the reference with the
ONNX nodes that implement it, then compares sizes, semantics and weight values; see
docs/diff.md. Nothing is executed: configs, graphs and stored values are read from the files.
"""

from __future__ import annotations

from pathlib import Path

from graphcheck.compare.keras_view import KerasOther, KerasRecurrent, split
from graphcheck.compare.match import match_dense, match_recurrent
from graphcheck.compare.onnx_view import OnnxView
from graphcheck.compare.recurrent import Sides
from graphcheck.compare.report import DIFFERS, EQUIVALENT, MISSING, NOT_VERIFIED, Collector, DiffReport, Pair
from graphcheck.compare.shapes import check_io
from graphcheck.compare.values import OnnxValues, keras_values
from graphcheck.findings import LoadError
from graphcheck.graph import Model

__all__ = ["DIFFERS", "EQUIVALENT", "MISSING", "NOT_VERIFIED", "DiffError", "DiffReport", "Pair", "run"]


class DiffError(Exception):
    """The two files cannot be compared (missing, unreadable, an unsupported pair of formats)."""


def run(reference: Path, candidate: Path, *, atol: float | None = None,
        display: str | None = None) -> DiffReport:
    """Compare ``candidate`` (an ONNX export) with ``reference`` (the Keras model it came from)."""
    ref_model, cand_model = _load(reference, "reference"), _load(candidate, "candidate")
    if ref_model.framework != "keras" or cand_model.framework != "onnx":
        raise DiffError(f"diff compares a Keras model (REFERENCE) with an ONNX export (CANDIDATE); "
                        f"got {ref_model.format} and {cand_model.format}")
    try:
        values = OnnxValues(candidate)
    except LoadError as error:
        raise DiffError(f"candidate {candidate}: {error}") from None
    out = Collector(path=display or str(candidate))
    view = OnnxView(values.proto)
    recurrent, other = split(ref_model)
    try:
        with keras_values(ref_model) as keras:
            sides = Sides(keras=keras, onnx=values, view=view, atol=atol or 0.0, out=out)
            pairs = match_recurrent(sides, ref_model, recurrent) + match_dense(sides, ref_model, other)
    except LoadError as error:
        raise DiffError(f"reference {reference}: {error}") from None
    check_io(ref_model, values.proto, out)
    return DiffReport(reference=str(reference), candidate=display or str(candidate),
                      pairs=tuple(pairs), findings=tuple(out.findings))


def _load(path: Path, role: str) -> Model:
    """Load one side with graphcheck's loaders, or raise DiffError saying why it cannot be read."""
    from graphcheck.engine import import_shape_functions, load

    import_shape_functions()
    try:
        return load(path)
    except LoadError as error:
        raise DiffError(f"{role} {path}: {error}") from None


__all__ += ["KerasOther", "KerasRecurrent"]
