"""Rules raised by shape propagation: inputs whose rank or size contradicts the layer."""

from __future__ import annotations

from graphcheck.findings import Severity
from graphcheck.rules import Case, ProblemRule
from graphcheck.rules.cases import built, layer, lstm, seq2seq, sequential


class InputRankMismatch(ProblemRule):
    """A layer receives a tensor of the wrong rank."""

    code = "GC201"
    name = "input-rank-mismatch"
    severity = Severity.ERROR
    summary = "A layer receives a tensor of the wrong rank"
    what = ("Reports a layer fed a tensor with the wrong number of dimensions, e.g. an LSTM "
            "(which needs (batch, timesteps, features)) fed a 2-D tensor.")
    why = ("Keras refuses to build the model with `expected ndim=3, found ndim=2`. The usual "
           "causes: a stacked LSTM whose lower layer lacks `return_sequences=True`, or the "
           "batch size written into `input_shape` (one dimension too many).")
    example = "`Sequential([Input((10, 64)), LSTM(32), LSTM(16)])`: the second LSTM gets (None, 32)."
    fix = ("Set `return_sequences=True` on every recurrent layer that feeds another one; "
           "leave the batch dimension out of `input_shape`.")
    VALID = (Case(model=sequential([None, 10, 64], lstm("a", 32, return_sequences=True), lstm("b", 16))),)
    INVALID = (Case(model=sequential([None, 10, 64], lstm("a", 32), lstm("b", 16)), nodes=("b",),
                    contains="found ndim=2: (None, 32)"),
               Case(model=sequential([None, 8, 10, 64], lstm("a", 32)), nodes=("a",),
                    contains="batch size"))


class InputDimMismatch(ProblemRule):
    """A layer receives a tensor whose size contradicts the layer's config."""

    code = "GC202"
    name = "input-dim-mismatch"
    severity = Severity.ERROR
    summary = "A tensor's size contradicts what the layer needs"
    what = ("Reports tensors whose static sizes cannot work together: merged tensors of "
            "different widths, a Bidirectional sum of two directions with different units, "
            "a Reshape whose sizes do not multiply out.")
    why = "Keras fails when building or calling the model; the file cannot be used as saved."
    example = "`Bidirectional(LSTM(32), backward_layer=LSTM(16, go_backwards=True), merge_mode='sum')`."
    fix = "Make the sizes agree, or use a merge that allows different sizes (concat)."
    VALID = (Case(model=sequential([None, 10, 8], layer(
        "Bidirectional", "bi", merge_mode="sum", layer=lstm("f", 4),
        backward_layer=lstm("b", 4, go_backwards=True)))),)
    INVALID = (Case(model=sequential([None, 10, 8], layer(
        "Bidirectional", "bi", merge_mode="sum", layer=lstm("f", 4),
        backward_layer=lstm("b", 3, go_backwards=True))),
        nodes=("bi",), contains="got forward 4 and backward 3"),)


class DeclaredShapeMismatch(ProblemRule):
    """The shapes the file records contradict the shapes its config implies."""

    code = "GC203"
    name = "declared-shape-mismatch"
    severity = Severity.ERROR
    summary = "The file's recorded shapes contradict its config"
    what = ("Holds the shapes a saved file records (Keras `build_config`, each call's "
            "`__keras_tensor__` shape; ONNX value_info and outputs) against the shapes "
            "graphcheck propagates from the config.")
    why = ("A mismatch means the config was edited after saving, or a converter wrote "
           "inconsistent metadata: the model will not load, or loads and fails at predict.")
    example = "config.json edited to `\"units\": 16` while the next layer recorded (None, 32)."
    fix = "Re-save the model from the framework instead of editing the file by hand."
    VALID = (Case(model=sequential([None, 4], built(layer("Dense", "d", units=2), [None, 4]))),)
    INVALID = (Case(model=sequential([None, 4], built(layer("Dense", "d", units=2), [None, 5])),
                    nodes=("d",), contains="records input shape (None, 5)"),)


class InitialStateMismatch(ProblemRule):
    """initial_state tensors whose shape is not (batch, units)."""

    code = "GC204"
    name = "initial-state-mismatch"
    severity = Severity.ERROR
    summary = "A recurrent layer's initial state has the wrong shape"
    what = ("Checks that every initial state passed to a recurrent layer is (batch, units) "
            "(ONNX: initial_h/initial_c are [D, B, H], or [B, D, H] with layout=1).")
    why = ("Keras builds such a model without complaint and fails only at predict time; "
           "ONNX Runtime fails only when the model runs.")
    example = "An encoder LSTM(64) whose states initialise a decoder LSTM(32)."
    fix = "Give encoder and decoder the same units, or project the states with a Dense layer."
    VALID = (Case(model=seq2seq(state_given=True)),)
    INVALID = (Case(model=seq2seq(state_given=True, decoder_units=8), nodes=("dec",),
                    contains="units=8"),)
