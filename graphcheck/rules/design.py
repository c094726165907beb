"""Rules about how recurrent layers are wired: what flows out of them and into what."""

from __future__ import annotations

from collections.abc import Iterator

from graphcheck.findings import Confidence, Severity
from graphcheck.graph import format_shape
from graphcheck.rules import Case, Context, Hit, Rule, typed
from graphcheck.rules.cases import dense, layer, lstm, seq2seq, sequential
from graphcheck.rules.recurrent import given_state, keras_recurrent
from graphcheck.rules.topology import ancestors, followers, sequence_config, source_of


class SequenceIntoDense(Rule):
    """A whole sequence fed to the model's output Dense layer."""

    code = "GC303"
    name = "sequence-into-dense"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = "return_sequences=True feeds the output Dense: one prediction per timestep"
    template = ("{source!r} has return_sequences=True and passes its whole sequence {seq} to this "
                "Dense({units}), which acts on the last axis only: the model outputs {shape}, one "
                "prediction for {each}. For one prediction per sequence set return_sequences=False "
                "on {source!r}; for per-step labels use TimeDistributed(Dense(...)).")
    what = ("Warns when a recurrent layer with `return_sequences=True` feeds a `Dense` layer "
            "that is a model output, directly or through Dropout/Activation/normalisation. "
            "It stays silent for `TimeDistributed(Dense)` (which says the per-step output is "
            "meant), for decoders fed by a `RepeatVector`, and for decoders called with an "
            "`initial_state` (the keras.io sequence-to-sequence pattern trained with teacher "
            "forcing, whose decoder predicts the next token at every step), and for language "
            "models whose output Dense has as many units as an upstream `Embedding` has "
            "`input_dim` (one next-token prediction per step over the same vocabulary).")
    why = ("Keras's Dense acts on the last axis only, so a `(None, T, U)` sequence gives "
           "`(None, T, k)`: T predictions per sample. With one label per sequence the model "
           "trains against the label broadcast over every step (or fails on the target "
           "shape), and at predict time returns T answers instead of one.")
    example = ("`LSTM(32, return_sequences=True, input_shape=(10, 64))` then `Dense(2)`: "
               "the output is (None, 10, 2), not (None, 2).")
    fix = ("For one prediction per sequence set `return_sequences=False` on the last recurrent "
           "layer (or pool over time with `GlobalAveragePooling1D`). For sequence labelling, "
           "wrap the head as `TimeDistributed(Dense(k))` to make the intent explicit.")
    VALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32), dense("dense", 2))),
             Case(model=sequential([None, 10, 64], lstm("a", 32, return_sequences=True),
                                   lstm("b", 16), dense("dense", 2))),
             Case(model=sequential([None, 10, 8], lstm("enc", 16), layer("RepeatVector", "rep", n=5),
                                   lstm("dec", 16, return_sequences=True), dense("dense", 8))),
             Case(model=seq2seq(state_given=True)),
             Case(model=sequential([None, None], layer("Embedding", "embed", input_dim=50,
                                                       output_dim=8),
                                   lstm("lstm", 16, return_sequences=True), dense("dense", 50))))
    INVALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32, return_sequences=True),
                                     layer("Dropout", "drop", rate=0.2), dense("dense", 2)),
                    nodes=("dense",), contains="(None, 10, 2)"),
               Case(model=seq2seq(state_given=False), nodes=("dense",), contains="'dec'"),
               Case(model=sequential([None, None], layer("Embedding", "embed", input_dim=50,
                                                         output_dim=8),
                                     lstm("lstm", 16, return_sequences=True), dense("dense", 2)),
                    nodes=("dense",), contains="(None, None, 2)"))

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Report output Dense layers fed by a sequence-returning recurrent layer."""
        for name, shape in ctx.inference.outputs:
            node = ctx.inference.nodes.get(name)
            if node is None or node.layer.type != "Dense":
                continue
            source = source_of(ctx, name)
            if source is None or sequence_config(ctx, source) is None or _decoder(ctx, source) \
                    or _next_token(ctx, source, node.layer.config.get("units")):
                continue
            seq = ctx.inference.nodes[source].outputs()[0]
            steps = seq[1] if seq is not None and len(seq) == 3 else None
            each = f"each of the {steps} timesteps" if isinstance(steps, int) else "every timestep"
            yield self.hit(name, source=source, seq=format_shape(seq),
                           units=node.layer.config.get("units"), shape=format_shape(shape), each=each)


def _decoder(ctx: Context, source: str) -> bool:
    """Return True for a seq2seq decoder: given an initial state, or fed by a RepeatVector."""
    return given_state(ctx.inference.nodes[source]) or any(
        ctx.inference.nodes[a].layer.type == "RepeatVector" for a in ancestors(ctx, source))


def _next_token(ctx: Context, source: str, units: object) -> bool:
    """Return True for a language model: Dense(vocabulary) per step over Embedding(vocabulary).

    Trained on targets shifted by one token, it predicts the next token at every step.
    """
    return isinstance(units, int) and any(
        ctx.inference.nodes[a].layer.type == "Embedding"
        and ctx.inference.nodes[a].layer.config.get("input_dim") == units
        for a in ancestors(ctx, source))


class FlattenAfterSequence(Rule):
    """Flatten over the whole output sequence of a recurrent layer."""

    code = "GC304"
    name = "flatten-after-sequence"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = "Flatten over a recurrent sequence: parameters grow with T, length is frozen"
    template = ("Flatten turns the sequence of {source!r}, (None, {steps}, {units}), into "
                "(None, {width}): T={steps} steps side by side.{head} The model now only accepts "
                "sequences of exactly {steps} steps.")
    what = ("Warns when `Flatten` receives the `(None, T, U)` sequence of a recurrent layer with "
            "`return_sequences=True` (directly or through Dropout/Activation/normalisation).")
    why = ("Flatten lays all T steps side by side, so the next Dense gets T*U inputs: its "
           "parameter count grows linearly with the sequence length, each timestep gets its "
           "own weights (the recurrent layer already summarised the sequence), and the model "
           "only accepts sequences of exactly T steps.")
    example = ("`LSTM(32, return_sequences=True, input_shape=(100, 8))`, `Flatten()`, "
               "`Dense(1)`: the Dense has 3,201 parameters instead of 33.")
    fix = ("Use `return_sequences=False` on the last recurrent layer, or pool over time with "
           "`GlobalAveragePooling1D`/`GlobalMaxPooling1D`; both keep the head independent of T.")
    VALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32), layer("Flatten", "flat"),
                                   dense("dense", 2))),
             Case(model=sequential([None, None, 64], lstm("lstm", 32, return_sequences=True),
                                   layer("GlobalAveragePooling1D", "pool"), dense("dense", 2))))
    INVALID = (Case(model=sequential([None, 100, 8], lstm("lstm", 32, return_sequences=True),
                                     layer("Flatten", "flat"), dense("dense", 1)),
                    nodes=("flat",), contains="3,201"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Report Flatten layers whose input is a recurrent layer's static-length sequence."""
        for name, node in ctx.inference.nodes.items():
            if node.layer.type != "Flatten" or not node.calls or not node.calls[0].inputs:
                continue
            source, seq = source_of(ctx, name), node.calls[0].inputs[0]
            if source is None or sequence_config(ctx, source) is None or seq is None:
                continue
            steps, units = seq[1:] if len(seq) == 3 else (None, None)
            if isinstance(steps, int) and isinstance(units, int) and steps > 1:
                yield self.hit(name, source=source, steps=steps, units=units, width=steps * units,
                               head=self._head(ctx, name, steps * units, units))

    @staticmethod
    def _head(ctx: Context, name: str, width: int, units: int) -> str:
        """Say what the next Dense pays for the flattened width, or nothing without one."""
        heads = [f for f in followers(ctx, name) if ctx.inference.nodes[f].layer.type == "Dense"]
        units_out = typed(ctx.inference.nodes[heads[0]].layer.config, "units", int) if heads else None
        if units_out is None:
            return ""
        flat, pooled = width * units_out + units_out, units * units_out + units_out
        return (f" The Dense {heads[0]!r} after it has {width:,}*{units_out} + {units_out} "
                f"= {flat:,} parameters, growing with T, versus {pooled:,} with "
                "return_sequences=False or global pooling.")


class GoBackwardsReversedOutput(Rule):
    """go_backwards with return_sequences outside Bidirectional: a reversed output sequence."""

    code = "GC305"
    name = "go-backwards-reversed-output"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = "go_backwards=True with return_sequences=True returns the sequence reversed"
    template = ("go_backwards=True with return_sequences=True: this {kind} reads the {steps} steps "
                "last-to-first and returns them in that order, so output step 0 belongs to input "
                "step {last}: the output sequence {shape} is reversed in time. Use Bidirectional, "
                "or flip the output back.")
    what = ("Warns when a recurrent layer outside `Bidirectional` has `go_backwards=True` and "
            "`return_sequences=True`.")
    why = ("`go_backwards` reads the input from the last step to the first and returns the "
           "outputs in that processing order: output step 0 belongs to the last input step. "
           "Downstream layers and per-step targets are then misaligned with time. "
           "`Bidirectional` reverses its backward layer's output again, which is why the same "
           "setting is fine inside it.")
    example = "`LSTM(16, go_backwards=True, return_sequences=True)` followed by per-step labels."
    fix = ("Use `Bidirectional(...)` if both directions are wanted; otherwise reverse the "
           "output back (e.g. `keras.ops.flip(x, axis=1)` in a layer of your own) or reverse "
           "the targets the same way.")
    VALID = (Case(model=sequential([None, 10, 8], lstm("lstm", 16, go_backwards=True))),
             Case(model=sequential([None, 10, 8], layer(
                 "Bidirectional", "bi", layer=lstm("f", 16, return_sequences=True)))))
    INVALID = (Case(model=sequential([None, 10, 8], lstm("lstm", 16, go_backwards=True,
                                                         return_sequences=True)),
                    nodes=("lstm",), contains="input step 9"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Report stand-alone recurrent layers that return a reversed sequence."""
        for use in keras_recurrent(ctx):
            config = use.config
            if use.direction or not (config.get("go_backwards") and config.get("return_sequences")):
                continue
            steps = use.axis("steps")
            last = f"{steps - 1}" if isinstance(steps, int) else "T-1"
            yield self.hit(use.node, kind=use.kind, steps=steps if isinstance(steps, int) else "T",
                           last=last, shape=format_shape(use.result.outputs()[0]))


class StatefulWithoutStaticBatch(Rule):
    """stateful=True with an unknown batch size."""

    code = "GC306"
    name = "stateful-without-static-batch"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "A stateful recurrent layer receives an unknown batch size"
    template = ("stateful=True, but this {kind} receives {shape}: the batch size is unknown. A "
                "stateful layer keeps one state per sample and needs a static batch size to create "
                "it; Keras refuses to build it (or fails at predict for any other batch size). Set "
                "the batch size on the Input, or drop stateful=True.")
    what = ("Reports a recurrent layer with `stateful=True` whose input batch dimension is "
            "unknown (None).")
    why = ("A stateful layer keeps one state row per sample between calls, so it must know "
           "the batch size to create its state variables: Keras refuses to build it (\"When "
           "using `stateful=True` in a RNN, the batch size must be static\"). A stateful "
           "model wrapped in another model whose input has no batch size loads, and fails "
           "at predict time with any batch other than the one it was built for.")
    example = "`Input(shape=(10, 3))` then `LSTM(8, stateful=True)`."
    fix = ("Give the input a static batch size: `Input(batch_shape=(4, 10, 3))` (Keras 3) or "
           "`batch_input_shape=(4, 10, 3)`; or drop `stateful=True` if state need not carry "
           "over between batches.")
    VALID = (Case(model=sequential([4, 10, 3], lstm("lstm", 8, stateful=True))),
             Case(model=sequential([None, 10, 3], lstm("lstm", 8))))
    INVALID = (Case(model=sequential([None, 10, 3], lstm("lstm", 8, stateful=True)),
                    nodes=("lstm",), contains="(None, 10, 3)"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Report stateful layers whose batch dimension is not a static int."""
        for use in keras_recurrent(ctx):
            if use.direction == "backward" or not use.config.get("stateful") or use.shape is None:
                continue
            if not isinstance(use.axis("batch"), int):
                yield self.hit(use.node, kind=use.kind, shape=format_shape(use.shape))
