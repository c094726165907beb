"""``graphcheck diff``: verify an export statically, a Keras model against its ONNX export.

``run(reference, candidate)`` pairs each recurrent and Dense layer of the reference with the
ONNX nodes that implement it, then compares sizes, semantics and weight values; see
docs/diff.md. ONNX against ONNX (before and after an optimiser) and Keras against Keras (a
re-save) compare like with like. Nothing is executed: configs, graphs and stored values are
read from the files.
"""

from __future__ import annotations

from pathlib import Path

from graphcheck.compare import keras_pair, onnx_pair
from graphcheck.compare.keras_view import split
from graphcheck.compare.match import match_dense, match_recurrent
from graphcheck.compare.onnx_view import OnnxView
from graphcheck.compare.recurrent import Sides
from graphcheck.compare.report import DIFFERS, EQUIVALENT, MISSING, NOT_VERIFIED, Collector, DiffReport, Pair
from graphcheck.compare.shapes import compare_signatures, signature
from graphcheck.compare.values import OnnxValues, keras_values
from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.rules.export import ExportNotVerified

__all__ = ["DIFFERS", "EQUIVALENT", "MISSING", "NOT_VERIFIED", "DiffError", "DiffReport", "Pair", "run"]


class DiffError(Exception):
    """The two files cannot be compared (missing, unreadable, an unsupported pair of formats)."""


def run(reference: Path, candidate: Path, *, atol: float | None = None,
        display: str | None = None) -> DiffReport:
    """Compare ``candidate`` with ``reference``: Keras -> ONNX (an export), ONNX or Keras to itself."""
    ref_model, cand_model = _load(reference, "reference"), _load(candidate, "candidate")
    out = Collector(path=display or str(candidate))
    tolerance = atol or 0.0
    kinds = (ref_model.framework, cand_model.framework)
    if kinds == ("onnx", "keras"):
        raise DiffError("diff holds an export against its model: give the Keras model as REFERENCE "
                        "and the ONNX export as CANDIDATE")
    try:
        if kinds == ("keras", "onnx"):
            pairs = _export(ref_model, _onnx(candidate), tolerance, out)
        elif kinds == ("onnx", "onnx"):
            pairs = onnx_pair.compare(_onnx(reference), _onnx(candidate), tolerance, out)
        else:
            with keras_values(ref_model) as ref_values, keras_values(cand_model) as cand_values:
                pairs = keras_pair.compare(ref_values, cand_values, tolerance, out)
    except LoadError as error:
        raise DiffError(f"the weights cannot be read: {error}") from None
    _signatures(ref_model, cand_model, out)
    return DiffReport(reference=str(reference), candidate=display or str(candidate),
                      pairs=tuple(pairs), findings=tuple(out.findings))


def _signatures(reference: Model, candidate: Model, out: Collector) -> None:
    """Compare the models' input and output shapes; a failed inference is said, not raised."""
    try:
        compare_signatures(signature(reference), signature(candidate), out)
    except Exception as error:  # shape inference on a model no shape function foresaw
        out.add(ExportNotVerified, None, subject="the models' input and output shapes",
                reason=f"shape inference failed: {type(error).__name__}: {error}")


def _export(model: Model, values: OnnxValues, atol: float, out: Collector) -> list[Pair]:
    """Compare a Keras model with its ONNX export: recurrent layers, then Dense layers."""
    view = OnnxView(values.proto)
    recurrent, other, computing = split(model)
    with keras_values(model) as keras:
        sides = Sides(keras=keras, onnx=values, view=view, atol=atol, out=out)
        pairs = match_recurrent(sides, model, recurrent) + match_dense(sides, model, other)
    if computing:
        shown = ", ".join(f"{layer.type} '{layer.name}'" for layer in computing[:5])
        more = f" and {len(computing) - 5} more" if len(computing) > 5 else ""
        out.add(ExportNotVerified, None, subject=f"the part without weights ({shown}{more})",
                reason="it is not paired with ONNX ops; what it computes is checked only "
                       "through the models' output shapes")
    return pairs


def _onnx(path: Path) -> OnnxValues:
    """Read an ONNX file's protobuf for its values, or raise DiffError."""
    try:
        return OnnxValues(path)
    except LoadError as error:
        raise DiffError(f"{path}: {error}") from None


def _load(path: Path, role: str) -> Model:
    """Load one side with graphcheck's loaders, or raise DiffError saying why it cannot be read."""
    from graphcheck.engine import import_shape_functions, load

    import_shape_functions()
    try:
        return load(path)
    except LoadError as error:
        raise DiffError(f"{role} {path}: {error}") from None

