"""Rules for ``graphcheck diff``: an export (ONNX) held against the model it came from (Keras).

These rules compare two files, so they never fire on one model checked alone: ``check``
yields nothing and ``graphcheck.compare`` reports them. Their cases are pairs
(``PAIR_VALID``/``PAIR_INVALID``: a reference and a candidate built in memory), run by
``tests/unit/test_diff.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from graphcheck.findings import Severity
from graphcheck.rules import Context, Hit, Rule


class PairRule(Rule):
    """A rule about a pair of models; silent on a single model."""

    # Names of the pair cases (``tests/unit/test_diff.py`` builds and runs them).
    PAIR_VALID: ClassVar[tuple[str, ...]] = ()
    PAIR_INVALID: ClassVar[tuple[str, ...]] = ()

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Yield nothing: a single model has no export to compare against."""
        return iter(())


class ExportMissingLayer(PairRule):
    """A layer of one model has no counterpart in the other."""

    code = "GC601"
    name = "export-missing-layer"
    severity = Severity.ERROR
    summary = "A layer of the reference has no counterpart in the export, or the reverse"
    template = "{subject} has no counterpart in the {other}: {detail}"
    what = """
Pairs every recurrent layer (LSTM, GRU, SimpleRNN, Bidirectional) and Dense layer of the
reference with the ONNX nodes that implement it: by the layer names exporters keep in node
names (`model/lstm/transpose`), else by kind, size and order. Reports a reference layer that
no node implements, and a recurrent ONNX node that implements no reference layer.
"""
    why = """
An export that lost a layer, or gained one, computes something else. Converters drop layers
they do not understand (a masking layer, a stateful flag) or duplicate one when a graph is
traced twice; the model still loads and runs.
"""
    example = """
```console
$ graphcheck diff model.h5 model.onnx
model.onnx:upper: GC601 [error] export-missing-layer LSTM 'upper' has no counterpart in the
ONNX model: no LSTM node with hidden_size 32, no Loop or Scan it could have been lowered
into, and no node named after it
```
"""
    fix = """
Export again from the model that was saved (not a rebuilt one), and check that the export
command converted every layer (tf2onnx lists the ops it could not convert).
"""
    PAIR_VALID = ("lstm",)
    PAIR_INVALID = ("missing",)


class ExportShapeMismatch(PairRule):
    """A matched layer, or the models' inputs and outputs, have different shapes."""

    code = "GC602"
    name = "export-shape-mismatch"
    severity = Severity.ERROR
    summary = "The export's inputs, outputs or a layer's sizes differ from the reference"
    template = "{subject}: {detail}"
    what = """
Compares the models' input and output shapes (static dimensions; the batch and symbolic
dimensions match anything) and, for every matched recurrent layer, `hidden_size` against
`units` and the input size of `W` against the kernel's rows.
"""
    why = """
A different hidden size or input size is a different model; a different output shape (the
whole sequence instead of the last step, time-major instead of batch-major) breaks whatever
reads the export.
"""
    example = """
```console
$ graphcheck diff model.h5 model.onnx
model.onnx:lstm: GC602 [error] export-shape-mismatch LSTM 'lstm': ONNX LSTM 'LSTM__30' has
hidden_size 8 but the layer has units=4
```
"""
    fix = """
Export again; when the export was edited by hand or by an optimiser, compare it with the
export it came from (`graphcheck diff before.onnx after.onnx`).
"""
    PAIR_VALID = ("lstm",)
    PAIR_INVALID = ("hidden_size",)


class ExportSemanticsMismatch(PairRule):
    """A matched recurrent node runs differently from its layer (direction, gates, outputs)."""

    code = "GC603"
    name = "export-semantics-mismatch"
    severity = Severity.ERROR
    summary = "A recurrent node's direction, activations or reset placement differ from its layer"
    template = "{subject} and ONNX {op} '{node}' compute differently: {detail}"
    what = """
For every matched recurrent layer: the direction (`go_backwards`, `Bidirectional`) against the
node's `direction` and any `ReverseSequence` that reverses its input; the activations against
`activations`; a GRU's `reset_after` against `linear_before_reset`; `return_sequences`
against whether the node's sequence output `Y` is used.
"""
    why = """
These are the classic silent conversion bugs: the export loads, runs and returns tensors of
the right shape, but a GRU exported without `linear_before_reset=1`, or an LSTM that runs
forward where Keras ran backwards, computes different numbers.
"""
    example = """
```console
$ graphcheck diff model.h5 model.onnx
model.onnx:gru: GC603 [error] export-semantics-mismatch GRU 'gru' and ONNX GRU 'GRU__92'
compute differently: linear_before_reset is 0 but the layer has reset_after=True (Keras
applies the reset gate after the recurrent matmul; ONNX does so only with
linear_before_reset=1)
```
"""
    fix = """
Use a converter version that handles the layer (tf2onnx 1.9+ exports `reset_after` GRUs with
`linear_before_reset=1` and `go_backwards` with a `ReverseSequence`), or fix the attribute.
"""
    PAIR_VALID = ("gru",)
    PAIR_INVALID = ("reverse", "linear_before_reset")


class ExportWeightMismatch(PairRule):
    """A matched layer's ONNX weights are not its Keras weights after the known transformation."""

    code = "GC604"
    name = "export-weight-mismatch"
    severity = Severity.ERROR
    summary = "An exported weight differs from the reference's, with the likely conversion bug named"
    template = "{subject} and ONNX {op} '{node}' differ in {weights}: {cause}"
    what = """
Reads the weight values of both files (one tensor at a time) and checks that each ONNX `W`,
`R` and `B` equals the Keras kernel, recurrent kernel and bias after the transformation the
ONNX specification fixes: each gate block transposed, the blocks reordered (Keras LSTM
i, f, c, o; ONNX i, o, f, c), the bias split into `Wb` and `Rb` with `Wb + Rb` equal to Keras's
bias (a `reset_after` GRU: `Wb` and `Rb` equal its two biases). Dense: the MatMul/Gemm weight
and the added bias. Values must be equal (`--atol` sets a tolerance). When they are not, the
known wrong transformations are tried and the one that reproduces the export is named.
"""
    why = """
A wrong gate order, a doubled bias or a transposed recurrent kernel gives a model that runs
and returns plausible numbers, and is found today only by running both models on the same
input and comparing outputs.
"""
    example = """
```console
$ graphcheck diff model.h5 model.onnx
model.onnx:lstm: GC604 [error] export-weight-mismatch LSTM 'lstm' and ONNX LSTM 'LSTM__30'
differ in W, R and B: gates i and f are swapped
```
"""
    fix = """
Report the cause to the converter's issue tracker (most of these have a thread) and export
with a version that fixes it; until then, permute the blocks of the initializers back.
"""
    PAIR_VALID = ("lstm", "gru")
    PAIR_INVALID = ("swap_if", "bias_both", "r_transposed")


class ExportNotVerified(PairRule):
    """A part of the export graphcheck cannot verify statically."""

    code = "GC605"
    name = "export-not-verified"
    severity = Severity.NOTE
    summary = "A layer was exported in a form graphcheck cannot verify (e.g. lowered into a Loop)"
    template = "{subject} was not verified: {reason}"
    what = """
Says what `diff` did not check: a recurrent layer lowered into a `Loop` or `Scan` (tf2onnx
does this for `reset_after=False` GRUs and SimpleRNNs) or unrolled into plain ops, weights
stored outside the file or unreadable, layers of kinds `diff` does not compare, nested models.
"""
    why = """
A silent pass would claim an equivalence nobody checked; an error would claim a difference
nobody found. A note says exactly what is left to check by running both models.
"""
    example = """
```console
$ graphcheck diff model.h5 model.onnx
model.onnx:rnn: GC605 [note] export-not-verified SimpleRNN 'rnn' was not verified: it was
lowered into Loop 'model/rnn/while_loop', whose body graphcheck does not interpret: its
weights, direction and gates are unchecked
```
"""
    fix = """
Nothing is wrong. To verify the layer, run both models on the same input (Polygraphy,
onnxruntime), or export it as a native ONNX op.
"""
    PAIR_VALID = ("lstm",)
    PAIR_INVALID = ("loop",)
