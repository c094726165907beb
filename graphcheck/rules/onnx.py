"""Rules for ONNX models that neither onnx's checker nor its shape inference make."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from graphcheck.findings import Confidence, Severity
from graphcheck.recurrent_facts import LSTM, ONNX_OPS
from graphcheck.rules import Case, Context, ProblemRule
from graphcheck.shapes.propagate import NodeResult

# A rule case's ONNX model: one recurrent node "rnn" fed X, with initializers of these shapes.
QUESTION: dict[str, Any] = {"onnx": "LSTM", "X": [10, 3, 64], "hidden_size": 32,
                            "W": [1, 128, 64], "R": [1, 128, 32], "B": [1, 256]}


def onnx_case(**changes: Any) -> dict[str, Any]:
    """Return the question's LSTM as an ONNX case spec, with some entries changed (None drops one)."""
    spec = {**QUESTION, **changes}
    return {k: v for k, v in spec.items() if v is not None}


def case_model(spec: Mapping[str, Any]) -> Any:
    """Build the ModelProto a case spec describes, with onnx.helper (zero-filled initializers)."""
    from onnx import TensorProto, helper

    kind = str(spec["onnx"])
    roles = LSTM.onnx_inputs  # every input any of the operators has, by position
    attrs = {k: spec[k] for k in ("hidden_size", "direction", "layout") if k in spec}
    inits = [helper.make_tensor(r, TensorProto.INT32 if r == "sequence_lens" else TensorProto.FLOAT,
                                spec[r], [0] * math.prod(spec[r])) for r in roles[1:] if r in spec]
    last = max(i for i, r in enumerate(roles) if r in spec)
    inputs = [r if r in spec else "" for r in roles[:last + 1]]
    outputs = list(spec.get("outputs", ONNX_OPS[kind].onnx_outputs))
    node = helper.make_node(kind, inputs, outputs, name="rnn", **attrs)
    graph = helper.make_graph(
        [node], "case", [helper.make_tensor_value_info("X", TensorProto.FLOAT, spec["X"])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs if o], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", spec.get("opset", 14))])


def onnx_recurrent_calls(ctx: Context) -> Iterator[tuple[str, str, int, int | None, int | None]]:
    """Yield (node, op, hidden_size, timesteps, features) for each ONNX LSTM/GRU/RNN node."""
    if ctx.model.framework != "onnx":
        return
    # Here, not at the top: rules load for every run, and a Keras run imports no ONNX shapes.
    from graphcheck.shapes.onnx.recurrent import first_call_op

    for name, node in ctx.inference.nodes.items():
        op = first_call_op(node) if node.layer.type in ONNX_OPS else None
        if op is not None and isinstance(op.hidden, int) and op.features is not None:
            yield (name, op.kind, op.hidden, op.steps if isinstance(op.steps, int) else None,
                   op.features if isinstance(op.features, int) else None)


def onnx_state_fed(node: NodeResult) -> bool:
    """Return True for an ONNX recurrent node whose initial_h/initial_c are computed at run time.

    A graph input or another node's output (a streaming model's cache) means the node is fed one
    step per call on purpose; a constant state (tf2onnx's zeros, an initializer) does not.
    """
    return bool(node.layer.module == "onnx" and node.layer.config.get("runtime_states"))


class MissingHiddenSize(ProblemRule):
    """An ONNX recurrent node without its hidden_size attribute."""

    code = "GC401"
    name = "missing-hidden-size"
    severity = Severity.ERROR
    summary = "An ONNX LSTM/GRU/RNN has no hidden_size attribute"
    what = ("Reports an ONNX LSTM, GRU or RNN node without `hidden_size`, and infers the "
            "hidden size from R ([num_directions, k*hidden_size, hidden_size]) so the other "
            "checks still run.")
    why = ("The ONNX spec makes hidden_size optional, but ONNX Runtime refuses to create the "
           "kernel without it, and onnx's shape inference leaves the last axis of Y unknown, so "
           "every shape downstream is unknown too. onnx.checker accepts the model.")
    example = "A hand-built `helper.make_node('LSTM', ['X', 'W', 'R'], ['Y'])` with no attributes."
    fix = "Add `hidden_size=H` to the node, H being the last axis of R."
    VALID = (Case(model=onnx_case()),)
    INVALID = (Case(model=onnx_case(hidden_size=None), nodes=("rnn",), contains="hidden_size = 32"),)


class BatchwiseRecurrentLayout(ProblemRule):
    """An ONNX recurrent node with layout=1, which ONNX Runtime's CPU kernels reject."""

    code = "GC402"
    name = "batchwise-recurrent-layout"
    severity = Severity.WARNING
    summary = "An ONNX LSTM/GRU/RNN uses layout=1, which ONNX Runtime's CPU kernels reject"
    what = ("Warns about recurrent nodes with `layout=1` (X as [batch, seq_length, input_size]; "
            "states as [batch, num_directions, hidden_size]), valid since opset 14.")
    why = ("The model is valid ONNX, but ONNX Runtime's CPU execution provider refuses to load "
           "it: \"Batchwise recurrent operations (layout == 1) are not supported\".")
    example = "A converter that keeps Keras's batch-first layout and sets `layout=1` on the LSTM."
    fix = ("Transpose X to [seq_length, batch, input_size] (and Y back) around the node and use "
           "the default layout=0, as torch.onnx and tf2onnx do.")
    VALID = (Case(model=onnx_case()),)
    INVALID = (Case(model=onnx_case(layout=1, X=[3, 10, 64]), nodes=("rnn",), contains="layout=1"),)


class OnnxInferenceError(ProblemRule):
    """onnx's own shape inference fails on the model."""

    code = "GC403"
    name = "onnx-inference-error"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = "onnx's own shape inference fails on the model"
    what = ("Runs `onnx.shape_inference.infer_shapes(strict_mode=True)` and reports its error; "
            "graphcheck then continues with the shapes the lenient run could infer.")
    why = ("ONNX Runtime runs the same inference when it loads a model, so the model usually "
           "fails to load (a rank or size that contradicts an operator, a declared shape that "
           "contradicts the inferred one). A few valid models trip onnx's inference itself, "
           "hence a warning.")
    example = "An LSTM fed a rank-2 X: `[ShapeInferenceError] First input tensor must have rank 3`."
    fix = "Fix the node the message names; the other findings on it usually say how."
    VALID = (Case(model=onnx_case()),)
    INVALID = (Case(model=onnx_case(X=[3, 64]), nodes=("rnn",), contains="rank 3"),)


class OldRecurrentOpset(ProblemRule):
    """An ONNX recurrent node from an opset below 7, which ONNX Runtime cannot run."""

    code = "GC404"
    name = "old-recurrent-opset"
    severity = Severity.NOTE
    summary = "An ONNX LSTM/GRU/RNN from opset < 7, which ONNX Runtime has no kernel for"
    what = ("Notes recurrent nodes of a model importing ai.onnx opset 1-6 (LSTM-1, GRU-1/3, "
            "RNN-1, which still had the `output_sequence` attribute).")
    why = ("The model is valid ONNX, but ONNX Runtime registers LSTM, GRU and RNN kernels from "
           "version 7 only: loading fails with \"Could not find an implementation for LSTM(1)\". "
           "`onnx.version_converter` has no adapter for these ops below 7 either.")
    example = "A 2017-era export (CNTK, early PyTorch) stamped with opset 6."
    fix = ("Re-export from the framework at opset 7 or later. With only the file: remove each "
           "recurrent node's `output_sequence` attribute and set the ai.onnx opset import to 7 "
           "(versions 1 and 7 take the same inputs and outputs), then convert the rest with "
           "`onnx.version_converter.convert_version`.")
    VALID = (Case(model=onnx_case(opset=7)),)
    INVALID = (Case(model=onnx_case(opset=6), nodes=("rnn",), contains="LSTM-1"),)
