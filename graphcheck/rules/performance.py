"""Performance and deployment rules (GC5xx): the model works, but slowly or only in one setting."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from graphcheck.findings import Confidence, Severity
from graphcheck.graph import format_shape
from graphcheck.recurrent_facts import CUDNN_CLASSES, GRU, KERAS_GENERIC_RNN, LSTM, gru_layout
from graphcheck.rules import Case, Context, Hit, Rule, typed
from graphcheck.rules.cases import layer, lstm, sequential
from graphcheck.rules.recurrent import RecurrentLayer, keras_recurrent

# What the fused cuDNN kernel accepts (keras/src/layers/rnn/lstm.py and gru.py docstrings).
CUDNN_NEEDS: tuple[tuple[str, object, str], ...] = (
    ("activation", "tanh", "activation={!r} (cuDNN needs 'tanh')"),
    ("recurrent_activation", "sigmoid", "recurrent_activation={!r} (cuDNN needs 'sigmoid')"),
    ("use_bias", True, "use_bias={!r} (cuDNN needs a bias)"),
    ("unroll", False, "unroll={!r} (cuDNN runs the loop itself)"),
)


# Keras 2.3.0 and tf.keras 2.0 changed the default from hard_sigmoid (keras-team/keras 2.3.0
# release notes: "Change default recurrent activation to sigmoid (from hard_sigmoid)").
OLD_DEFAULT = ("recurrent_activation='hard_sigmoid' (cuDNN needs 'sigmoid'; hard_sigmoid was the "
               "default before Keras 2.3 and tf.keras 2.0, and the saved config keeps it: the "
               "weights were trained for it, so fine-tune after switching to 'sigmoid')")


def _activation(value: object) -> object:
    """Return an activation's name whether stored as a string or a serialised object."""
    if isinstance(value, Mapping):
        config = value.get("config")
        return config if isinstance(config, str) else value.get("class_name")
    return value


def cudnn_blockers(use: RecurrentLayer) -> list[str]:
    """Return the settings of one LSTM/GRU (or generic RNN) that rule out the cuDNN kernel."""
    if use.kind == KERAS_GENERIC_RNN:
        cell = use.config.get("cell")
        kind = cell.get("class_name") if isinstance(cell, Mapping) else "cells"
        return [f"a generic RNN({kind}) layer (only LSTM and GRU layers have the fused kernel)"]
    if use.kind not in (LSTM.keras, GRU.keras):  # the layers with a fused cuDNN kernel
        return []
    config = use.config
    found = [text.format(_activation(config.get(key, want)))
             for key, want, text in CUDNN_NEEDS if _activation(config.get(key, want)) != want]
    if _activation(config.get("recurrent_activation")) == "hard_sigmoid":
        found = [OLD_DEFAULT if b.startswith("recurrent_activation=") else b for b in found]
    recurrent_dropout = typed(config, "recurrent_dropout", float) or 0.0
    if recurrent_dropout > 0:
        found.append(f"recurrent_dropout={config['recurrent_dropout']} (cuDNN needs 0)")
    units = typed(config, "units", int)
    if use.kind == GRU.keras and units is not None:
        config = gru_layout(config, units, use.result.layer.weights or ())
    if use.kind == GRU.keras and config.get("reset_after", True) is False:
        found.append("reset_after=False (cuDNN implements reset_after=True)")
    if config.get("use_cudnn") is False:
        found.append("use_cudnn=False")
    return found


class CudnnIneligible(Rule):
    """LSTM/GRU settings that rule out the fused cuDNN kernel."""

    code = "GC501"
    name = "cudnn-ineligible"
    severity = Severity.NOTE
    confidence = Confidence.HIGH
    summary = "An LSTM/GRU setting disables the fused cuDNN GPU kernel"
    template = ("this {kind} cannot use the fused cuDNN kernel because of {settings}: on a GPU it "
                "falls back to a step-by-step loop, typically several times slower.")
    what = ("Notes LSTM and GRU layers whose config rules out the fused cuDNN kernel: "
            "activation not tanh, recurrent_activation not sigmoid, recurrent_dropout > 0, "
            "unroll=True, use_bias=False, GRU reset_after=False, use_cudnn=False; and generic "
            "`RNN(LSTMCell(...))` layers, which never use it. It names each setting.")
    why = ("On a GPU with the TensorFlow backend, Keras runs LSTM and GRU through one fused "
           "cuDNN call only when every condition holds; otherwise it silently falls back to a "
           "step-by-step loop that is typically several times slower to train and serve. "
           "Nothing warns about the fallback.")
    example = "`LSTM(64, activation='relu')` or `GRU(64, recurrent_dropout=0.2)`."
    fix = ("Keep the defaults (tanh, sigmoid, use_bias=True, unroll=False, reset_after=True); "
           "use `dropout` (on the inputs) instead of `recurrent_dropout`; use `LSTM(...)` "
           "instead of `RNN(LSTMCell(...))`. Models from Keras < 2.3 or tf.keras 1.x carry "
           "`recurrent_activation='hard_sigmoid'`, the default then: switch to 'sigmoid' and "
           "fine-tune, since the weights were trained for hard_sigmoid. Ignore this rule if the "
           "model never runs on a GPU.")
    VALID = (Case(model=sequential([None, 10, 8], lstm("lstm", 16, dropout=0.2))),
             Case(model=sequential([None, 10, 8], layer("SimpleRNN", "rnn", units=4,
                                                        activation="relu"))))
    INVALID = (Case(model=sequential([None, 10, 8], lstm("lstm", 16, activation="relu")),
                    nodes=("lstm",), contains="activation='relu'"),
               Case(model=sequential([None, 10, 8], layer("GRU", "gru", units=4, reset_after=False,
                                                          recurrent_dropout=0.25)),
                    nodes=("gru",), contains="recurrent_dropout=0.25"),
               Case(model=sequential([None, 10, 8], lstm("lstm", 16,
                                                         recurrent_activation="hard_sigmoid")),
                    nodes=("lstm",), contains="default before Keras 2.3"))

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Note each layer with the settings that block the fused kernel."""
        per_node: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        for use in keras_recurrent(ctx):
            blockers = per_node.setdefault(use.node, [])
            blockers += [b for b in cudnn_blockers(use) if b not in blockers]
            kinds[use.node] = use.kind
        for node, blockers in per_node.items():
            if blockers:
                yield self.hit(node, kind=kinds[node], settings=", ".join(blockers))


class UnrollLongSequence(Rule):
    """unroll=True over a long or unknown number of timesteps."""

    code = "GC502"
    name = "unroll-long-sequence"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    options: ClassVar[Mapping[str, Any]] = {"max-steps": 32}
    summary = "unroll=True over a long or unknown sequence"
    template = ("unroll=True copies this {kind}'s cell {size}; graph size, compile time and memory "
                "grow with T. Remove unroll=True for long sequences.")
    what = ("Warns when a recurrent layer has `unroll=True` and its number of timesteps is "
            "unknown or larger than `max-steps` (default 32).")
    why = ("Unrolling replaces the loop by T copies of the cell in the graph: graph size, "
           "compile time and activation memory grow linearly with T, and Keras refuses to "
           "unroll when T is unknown (\"Cannot unroll a RNN if the time dimension is "
           "undefined\"). Keras documents unrolling as suitable for short sequences only; the "
           "speed-up it buys (no loop overhead) matters for a handful of steps. The default "
           "threshold of 32 is where the copies clearly outweigh that gain; set "
           "`[tool.graphcheck.rules.unroll-long-sequence] max-steps` to change it.")
    example = "`LSTM(32, unroll=True, input_shape=(500, 8))`: 500 copies of the cell."
    fix = "Remove `unroll=True` (the default loop, and on GPUs the cuDNN kernel, handle long T)."
    VALID = (Case(model=sequential([None, 8, 4], lstm("lstm", 16, unroll=True))),
             Case(model=sequential([None, 100, 4], lstm("lstm", 16))))
    INVALID = (Case(model=sequential([None, 100, 4], lstm("lstm", 16, unroll=True)),
                    nodes=("lstm",), contains="T=100"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Warn where an unrolled layer's T is unknown or above the threshold."""
        limit = int(self.option(ctx, "max-steps"))
        seen: set[str] = set()
        for use in keras_recurrent(ctx):
            steps = use.axis("steps")
            if use.node in seen or not use.config.get("unroll") or (
                    isinstance(steps, int) and steps <= limit):
                continue
            seen.add(use.node)
            size = (f"T={steps} times, more than max-steps={limit}" if isinstance(steps, int)
                    else "an unknown number of times: Keras refuses to build it")
            yield self.hit(use.node, kind=use.kind, size=size)


def _stateful(config: Mapping[str, Any]) -> bool:
    """Return True for any stateful layer (RNN, ConvLSTM, CuDNN), wrapped ones included."""
    wrapped = [config.get(k) for k in ("layer", "backward_layer")]
    return config.get("stateful") is True or any(
        isinstance(w, Mapping) and isinstance(w.get("config"), Mapping)
        and w["config"].get("stateful") is True for w in wrapped)


class FixedBatchSize(Rule):
    """A model input with a static batch size on a model that is not stateful."""

    code = "GC503"
    name = "fixed-batch-size"
    severity = Severity.NOTE
    confidence = Confidence.MEDIUM
    summary = "A model input fixes the batch size: exports of the model will accept only that size"
    template = ("this input is {shape}: the batch size is fixed to {batch} and no layer is "
                "stateful. Keras itself still predicts on other batch sizes, but exports keep the "
                "{batch}: a tf_keras SavedModel serving signature, tf2onnx and TFLite conversions "
                "accept batches of exactly {batch}, so one request or a last partial batch fails "
                "there. Leave the batch dimension as None (Keras 3's model.export() writes None "
                "already).")
    what = ("Notes a model input whose batch dimension is a number rather than None, in a "
            "model with no stateful layer (stateful layers need it).")
    why = ("Keras itself still runs `predict` on other batch sizes for a model that "
           "is not stateful, so the model works in Keras. But the number stays in the saved "
           "input spec, and exports made from the model inherit it: a tf_keras SavedModel's "
           "serving signature, `tf2onnx.convert.from_keras` and the TFLite converter all accept "
           "batches of exactly that size, so serving one request, or a last partial batch, "
           "fails there (onnxruntime: \"Got invalid dimensions for input ... Expected: 32\"). "
           "Keras 3's `model.export()` is the exception: it writes a None batch.")
    example = "`Input(shape=(10, 3), batch_size=32)` or `batch_input_shape=(32, 10, 3)`."
    fix = ("Leave the batch size out: `Input(shape=(10, 3))`; or give the exporter an input "
           "signature with a None batch.")
    VALID = (Case(model=sequential([None, 10, 3], lstm("lstm", 8))),
             Case(model=sequential([4, 10, 3], lstm("lstm", 8, stateful=True))),
             Case(model=sequential([4, 3, 8, 8, 2], layer(
                 "ConvLSTM2D", "conv", filters=2, kernel_size=3, stateful=True))))
    INVALID = (Case(model=sequential([32, 10, 3], lstm("lstm", 8)), nodes=("input",),
                    contains="32"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Note the model's inputs with a static batch size, unless a layer is stateful."""
        if ctx.model.framework != "keras" or any(
                _stateful(node.layer.config) for node in ctx.inference.nodes.values()):
            return
        for ref in ctx.model.root.inputs:
            node = ctx.inference.nodes.get(ref.layer)
            shape = node.outputs()[0] if node and node.outputs() else None
            if shape and isinstance(shape[0], int):
                yield self.hit(ref.layer, shape=format_shape(shape), batch=shape[0])


class GpuOnlyLayer(Rule):
    """A CuDNNLSTM/CuDNNGRU layer: runs only on a GPU and only in tf.keras 1.x/2.x."""

    code = "GC504"
    name = "gpu-only-layer"
    severity = Severity.NOTE
    confidence = Confidence.HIGH
    summary = "A CuDNNLSTM/CuDNNGRU layer runs only on a GPU, and Keras 3 cannot load it"
    template = ("{kind} runs only on a GPU (it has no CPU kernel) and only tf.keras 1.x/2.x and "
                "Keras 2 know it; Keras 3 cannot load this file. To run it on a CPU or move to "
                "Keras 3, rebuild the layer as {plain} and load these .h5 weights with tf_keras "
                "load_weights, which converts the cuDNN layout.")
    what = ("Notes each `CuDNNLSTM` and `CuDNNGRU` layer (tf.keras 1.x/2.x, Keras 2), also "
            "inside `Bidirectional`.")
    why = ("These layers call NVIDIA cuDNN directly and have no CPU kernel: on a CPU, predict "
           "fails with \"No OpKernel was registered to support Op 'CudnnRNNV3'\". Keras 3 has "
           "no such class, so `keras.saving.load_model` refuses the file. Since TF 2.0, `LSTM` "
           "and `GRU` use the same cuDNN kernel on a GPU by themselves.")
    example = "`CuDNNLSTM(64, return_sequences=True)` in a model trained on a GPU in 2019."
    fix = ("Rebuild the model with `LSTM(units)` (or `GRU(units, reset_after=True, "
           "recurrent_activation='sigmoid')`) in place of each CuDNN layer and load the old "
           "`.h5` weights with tf_keras `model.load_weights`, which converts the cuDNN layout "
           "(it sums the LSTM's two biases, reshapes the GRU's); then save in the new format.")
    VALID = (Case(model=sequential([None, 10, 8], lstm("lstm", 16))),)
    INVALID = (Case(model=sequential([None, 10, 8], layer("CuDNNLSTM", "fast", units=16)),
                    nodes=("fast",), contains="LSTM(16)"),
               Case(model=sequential([None, 10, 8], layer(
                   "Bidirectional", "bi", layer=layer("CuDNNGRU", "g", units=4))),
                    nodes=("bi",), contains="reset_after=True"))

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Note each node holding a CuDNN layer, once."""
        seen: set[str] = set()
        for use in keras_recurrent(ctx):
            if use.kind not in CUDNN_CLASSES or use.node in seen:
                continue
            seen.add(use.node)
            units = use.config.get("units")
            plain = (f"LSTM({units})" if CUDNN_CLASSES[use.kind] is LSTM
                     else f"GRU({units}, reset_after=True, recurrent_activation='sigmoid')")
            yield self.hit(use.node, kind=use.kind, plain=plain)
