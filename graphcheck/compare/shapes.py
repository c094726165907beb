"""The models' inputs and outputs: each side's shapes as graphcheck infers them, compared."""

from __future__ import annotations

from graphcheck.compare.report import Collector
from graphcheck.graph import Model, Shape, format_shape
from graphcheck.rules.export import ExportShapeMismatch
from graphcheck.shapes.propagate import infer

# A model's input shapes and output shapes (None: unknown).
Signature = tuple[list[Shape | None], list[Shape | None]]


def agree(a: Shape | None, b: Shape | None) -> bool:
    """Return True when two shapes can be the same: same rank, equal where both are static."""
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(not isinstance(x, int) or not isinstance(y, int) or x == y
                                    for x, y in zip(a, b))


def time_major(reference: Shape | None, candidate: Shape | None) -> bool:
    """Return True when ``candidate`` is ``reference`` (batch, T, ...) with batch and time swapped."""
    if reference is None or candidate is None or len(reference) < 3 or len(candidate) != len(reference):
        return False
    steps = reference[1]
    return (not isinstance(reference[0], int) and isinstance(steps, int) and candidate[0] == steps
            and not isinstance(candidate[1], int) and agree(reference[2:], candidate[2:]))


def signature(model: Model) -> Signature:
    """Return a model's input and output shapes as graphcheck infers them (Keras or ONNX).

    For ONNX, inferred rather than declared: exporters often declare every dimension but the
    last as symbolic, where propagation finds the time steps again.
    """
    inference = infer(model)

    def shape(layer: str, tensor: int) -> Shape | None:
        outputs = inference.nodes[layer].outputs() if layer in inference.nodes else ()
        return outputs[tensor] if len(outputs) > tensor else None
    return ([shape(ref.layer, ref.tensor) for ref in model.root.inputs],
            [found for _, found in inference.outputs])


def compare_signatures(reference: Signature, candidate: Signature, out: Collector) -> None:
    """Report inputs or outputs whose count or shapes differ between the two models."""
    for what, ref, cand in zip(("inputs", "outputs"), reference, candidate):
        if len(ref) != len(cand):
            out.add(ExportShapeMismatch, None, subject=f"the model's {what}", detail=(
                f"the reference has {len(ref)}, the candidate {len(cand)}"))
            continue
        for index, (a, b) in enumerate(zip(ref, cand)):
            if time_major(a, b):
                out.add(ExportShapeMismatch, None, subject=f"the model's {what} #{index}", detail=(
                    f"the candidate's {format_shape(b)} is time-major: the reference's "
                    f"{format_shape(a)} is batch-major (batch, time, ...); a Transpose is missing"))
            elif not agree(a, b):
                out.add(ExportShapeMismatch, None, subject=f"the model's {what} #{index}", detail=(
                    f"the reference's is {format_shape(a)}, the candidate's {format_shape(b)}"))
