"""Keras weights in ONNX's layout, and the known wrong conversions that explain a mismatch.

Keras stores a kernel as (inputs, k*units) with gate blocks in Keras's order; ONNX stores W as
(directions, k*hidden, inputs) with blocks in its own order (``recurrent_facts``). A converter
bug is a wrong version of that transformation: so when the values differ, each known wrong
transformation is applied to the Keras weight, and the one that reproduces the ONNX values
is named as the cause.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from graphcheck.recurrent_facts import Kind


@dataclass(frozen=True, kw_only=True)
class Cause:
    """Why two weights differ: a slug the tests check and a sentence for the message."""

    slug: str
    text: str


def blocks(matrix: Any, units: int) -> list[Any]:
    """Split a Keras (rows, k*units) weight into its k gate blocks, each (rows, units)."""
    return [matrix[..., g * units:(g + 1) * units] for g in range(matrix.shape[-1] // units)]


def onnx_matrix(matrix: Any, order: tuple[int, ...], units: int, *, transpose_blocks: bool = False) -> Any:
    """Return Keras (rows, k*units) as one direction of ONNX W or R: (k*units, rows), in ``order``."""
    import numpy as np

    parts = blocks(matrix, units)
    return np.concatenate([parts[i] if transpose_blocks else parts[i].T for i in order], axis=0)


def onnx_vector(vector: Any, order: tuple[int, ...], units: int) -> Any:
    """Return a Keras (k*units,) bias with its gate blocks in ``order``."""
    import numpy as np

    return np.concatenate([blocks(vector, units)[i] for i in order])


def close(a: Any, b: Any, atol: float) -> bool:
    """Return True when two arrays have one shape and agree within ``atol`` (0: exactly)."""
    import numpy as np

    return bool(a.shape == b.shape and np.allclose(a, b, rtol=0.0, atol=atol))


def largest_difference(a: Any, b: Any) -> float:
    """Return the largest absolute difference of two same-shape arrays."""
    import numpy as np

    return float(np.max(np.abs(a - b))) if a.size else 0.0


def orders(kind: Kind) -> Iterator[tuple[tuple[int, ...], Cause]]:
    """Yield the wrong gate orders a converter produces, each with its cause."""
    right = kind.onnx_order()
    keras = tuple(range(kind.gates))
    if right != keras:
        names = ", ".join(g.letter for g in kind.keras_gates)
        wanted = ", ".join(g.letter for g in kind.onnx_gates)
        yield keras, Cause(slug="gates-swapped", text=(
            f"the gate blocks are in Keras's order ({names}), not ONNX's ({wanted}): "
            "the gate permutation was never applied"))
    for a, b in combinations(range(kind.gates), 2):
        swapped = list(right)
        swapped[a], swapped[b] = swapped[b], swapped[a]
        la, lb = kind.onnx_gates[a].letter, kind.onnx_gates[b].letter
        yield tuple(swapped), Cause(slug="gates-swapped", text=f"gates {la} and {lb} are swapped")


def explain_matrix(actual: Any, keras: Any, kind: Kind, units: int, atol: float,
                   what: str) -> Cause | None:
    """Return None when ONNX ``actual`` (one direction) is Keras ``keras`` converted, else the cause."""
    right = onnx_matrix(keras, kind.onnx_order(), units)
    if close(actual, right, atol):
        return None
    return _first_match(actual, _wrong_matrices(keras, kind, units, what), atol) or _unexplained(
        actual, right, atol)


def _wrong_matrices(keras: Any, kind: Kind, units: int, what: str) -> Iterator[tuple[Any, Cause]]:
    """Yield each known wrong conversion of a Keras kernel, made only when asked for, with its cause."""
    for order, cause in orders(kind):
        yield onnx_matrix(keras, order, units), cause
    if keras.shape[0] == units:  # only a square block can be stored transposed with the same shape
        slug = "recurrent-transposed" if what == "R" else "kernel-transposed"
        name = "recurrent kernel" if what == "R" else "kernel"
        yield (onnx_matrix(keras, kind.onnx_order(), units, transpose_blocks=True),
               Cause(slug=slug, text=f"the {name} is transposed (each gate block of {what} holds "
                                     "Keras's block, not its transpose)"))


def _first_match(actual: Any, tries: Iterable[tuple[Any, Cause]], atol: float) -> Cause | None:
    """Return the cause of the first wrong conversion that reproduces ``actual``."""
    return next((cause for wrong, cause in tries if close(actual, wrong, atol)), None)


def _unexplained(actual: Any, expected: Any, atol: float) -> Cause:
    """Return the cause for values no known mistake explains (or a shape that differs)."""
    if actual.shape != expected.shape:
        return Cause(slug="shape", text=f"its shape is {tuple(actual.shape)}, the converted Keras "
                                        f"weight's is {tuple(expected.shape)}")
    diff = largest_difference(actual, expected)
    if atol == 0.0 and diff < 1e-2:
        return Cause(slug="values", text=f"values differ by up to {diff:.3g} (a lossy copy? "
                                         "pass --atol to accept such differences)")
    return Cause(slug="values", text=f"values differ by up to {diff:.3g} (tolerance {atol:g}); no "
                                     "known conversion mistake explains it")


def explain_bias(wb: Any, rb: Any, keras: Any, kind: Kind, units: int, atol: float) -> Cause | None:
    """Return None when ONNX biases ``wb``, ``rb`` (one direction) implement Keras ``keras``.

    ``keras`` is (k*units,) or, for a reset_after GRU, (2, k*units): input then recurrent bias.
    """
    right = kind.onnx_order()
    if keras.ndim == 2:
        return _explain_two_biases(wb, rb, keras, kind, units, atol)
    expected = onnx_vector(keras, right, units)
    if close(wb + rb, expected, atol):
        return None
    if close(wb, expected, atol) and close(rb, expected, atol):
        return Cause(slug="bias-both-halves", text=(
            "the bias is in both halves of B (Wb = Rb = Keras's bias): the op adds Wb + Rb, "
            "doubling it; Rb should be zero"))
    tries = ((onnx_vector(keras, order, units), cause) for order, cause in orders(kind))
    found = _first_match(wb + rb, tries, atol)
    if found:
        return found
    if rb.any():
        return Cause(slug="bias", text=f"Rb is not zero and Wb + Rb differs from the bias by up to "
                                       f"{largest_difference(wb + rb, expected):.3g}")
    return _unexplained(wb, expected, atol)


def _explain_two_biases(wb: Any, rb: Any, keras: Any, kind: Kind, units: int, atol: float) -> Cause | None:
    """Check a reset_after GRU: Wb is Keras's input bias, Rb its recurrent bias, both reordered."""
    right = kind.onnx_order()
    win, rec = onnx_vector(keras[0], right, units), onnx_vector(keras[1], right, units)
    if close(wb, win, atol) and close(rb, rec, atol):
        return None
    if close(wb, rec, atol) and close(rb, win, atol):
        return Cause(slug="bias-swapped", text="Wb holds Keras's recurrent bias and Rb its input bias")
    if close(wb + rb, win + rec, atol):
        return Cause(slug="bias-summed", text=(
            "Wb + Rb is right but the split is not: with reset_after=True the recurrent bias of "
            "the candidate gate is multiplied by the reset gate, so it must stay in Rb"))
    for order, cause in orders(kind):
        if close(wb, onnx_vector(keras[0], order, units), atol):
            return cause
    return _unexplained(wb if not close(wb, win, atol) else rb, win if not close(wb, win, atol) else rec,
                        atol)
