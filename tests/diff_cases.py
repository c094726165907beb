"""Pair cases for ``graphcheck diff``, built without TensorFlow.

A Keras 3 ``.keras`` is written with zipfile and h5py, and its ONNX export with ``onnx.helper``
from the same weights.
The conversion here is written out independently of ``graphcheck.compare`` (the ONNX gate order
as the operator specification lists it), so the tests hold the code against the spec, not
against itself. ``CASES`` maps the names the export rules list in ``PAIR_VALID`` /
``PAIR_INVALID`` to builders.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

STEPS, FEATURES, UNITS = 5, 3, 4
# For each ONNX gate block in turn, the Keras block it holds: ONNX LSTM is i, o, f, c and Keras
# i, f, c, o; GRU is z, r, h in both.
ONNX_FROM_KERAS = {"LSTM": [0, 3, 1, 2], "GRU": [0, 1, 2], "RNN": [0]}
KERAS_CLASS = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def keras_file(path: Path, layers: list[dict[str, Any]], weights: dict[str, np.ndarray]) -> Path:
    """Write a Keras 3 ``.keras``: a Sequential of ``layers``; weights by path below ``layers/``."""
    import h5py

    first = {"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [None, STEPS, FEATURES]}}
    entries = [first, *layers]
    config = {"class_name": "Sequential", "config": {"name": "case", "layers": entries}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for key, value in weights.items():
            h5[f"layers/{key}"] = value
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue())
    return path


def keras_weights(op: str, seed: int = 0, reset_after: bool = True) -> tuple[np.ndarray, ...]:
    """Return seeded Keras kernel (F, kU), recurrent kernel (U, kU) and bias for one cell."""
    rng = np.random.default_rng(seed)
    k = GATES[op]
    bias_shape = (2, k * UNITS) if op == "GRU" and reset_after else (k * UNITS,)
    return (rng.uniform(-1, 1, (FEATURES, k * UNITS)).astype(np.float32),
            rng.uniform(-1, 1, (UNITS, k * UNITS)).astype(np.float32),
            rng.uniform(-1, 1, bias_shape).astype(np.float32))


def to_onnx(op: str, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> dict[str, np.ndarray]:
    """Convert Keras weights to ONNX W, R, B as the operator specification lays them out."""
    order = ONNX_FROM_KERAS[op]

    def blocks(m: np.ndarray) -> np.ndarray:
        return np.concatenate([m[..., g * UNITS:(g + 1) * UNITS] for g in order], axis=-1)
    w = np.concatenate([kernel[:, g * UNITS:(g + 1) * UNITS].T for g in order])[None]
    r = np.concatenate([recurrent[:, g * UNITS:(g + 1) * UNITS].T for g in order])[None]
    if bias.ndim == 2:
        b = np.concatenate([blocks(bias[0]), blocks(bias[1])])[None]
    else:
        b = np.concatenate([blocks(bias), np.zeros_like(bias)])[None]
    return {"W": w, "R": r, "B": b}


def onnx_file(path: Path, op: str, tensors: dict[str, np.ndarray], *, name: str = "case/lstm/LSTM",
              hidden: int = UNITS, **attrs: Any) -> Path:
    """Write x (N, 5, 3) -> Transpose -> ``op`` -> Y_h -> Squeeze -> y (N, hidden)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Transpose", ["x"], ["x_t"], name="case/lstm/transpose", perm=[1, 0, 2]),
             helper.make_node(op, ["x_t", "W", "R", "B"], ["Y", "Y_h"], name=name,
                              hidden_size=hidden, **attrs),
             helper.make_node("Squeeze", ["Y_h", "axes"], ["y"], name="case/lstm/squeeze")]
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in tensors.items()]
    inits.append(numpy_helper.from_array(np.array([0], dtype=np.int64), "axes"))
    graph = helper.make_graph(nodes, "case", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                            ["N", STEPS, FEATURES])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", hidden])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def loop_file(path: Path) -> Path:
    """Write an export whose only node is a Loop named after the layer (a lowered LSTM)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)])
    loop = helper.make_node("Loop", ["trips", "", "x"], ["y"], name="case/lstm/while_loop", body=body)
    graph = helper.make_graph([loop], "case", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                             ["N", STEPS, FEATURES])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", STEPS, FEATURES])],
                              [numpy_helper.from_array(np.array(STEPS, dtype=np.int64), "trips")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def recurrent_layer(op: str, **config: Any) -> dict[str, Any]:
    """Return a Keras 3 config entry for the layer class running ``op``, named ``lstm``."""
    base = {"name": "lstm", "units": UNITS, "activation": "tanh", "recurrent_activation": "sigmoid",
            "return_sequences": False, "go_backwards": False, "use_bias": True}
    if op == "RNN":
        del base["recurrent_activation"]
    return {"class_name": KERAS_CLASS[op], "config": {**base, **config}}


def reference(folder: Path, op: str = "LSTM",
              reset_after: bool = True) -> tuple[Path, tuple[np.ndarray, ...]]:
    """Write the reference .keras with one recurrent layer; return it and its weights."""
    weights = keras_weights(op, reset_after=reset_after)
    group = "lstm" if op == "LSTM" else "gru" if op == "GRU" else "simple_rnn"
    extra = {"reset_after": reset_after} if op == "GRU" else {}
    path = keras_file(folder / "ref.keras", [recurrent_layer(op, **extra)],
                      {f"{group}/cell/vars/{i}": w for i, w in enumerate(weights)})
    return path, weights


Edit = Callable[[dict[str, np.ndarray]], None]


def pair(folder: Path, op: str = "LSTM", edit: Edit | None = None, reset_after: bool = True,
         **attrs: Any) -> tuple[Path, Path]:
    """Write a reference and its export (edited by ``edit``); return both paths."""
    ref, weights = reference(folder, op, reset_after)
    tensors = to_onnx(op, *weights)
    if edit is not None:
        edit(tensors)
    if op == "GRU":
        attrs.setdefault("linear_before_reset", int(reset_after))
    return ref, onnx_file(folder / "cand.onnx", op, tensors, **attrs)


def swap_blocks(role: str, a: int, b: int) -> Edit:
    """Return an edit swapping ONNX gate blocks ``a`` and ``b`` of W, R and B."""
    def edit(t: dict[str, np.ndarray]) -> None:
        for key in ("W", "R", "B"):
            halves = 2 if key == "B" else 1
            for h in range(halves):
                base = h * (t[key].shape[1] // halves)
                x = slice(base + a * UNITS, base + (a + 1) * UNITS)
                y = slice(base + b * UNITS, base + (b + 1) * UNITS)
                t[key][:, x], t[key][:, y] = t[key][:, y].copy(), t[key][:, x].copy()
    return edit


def bias_both(t: dict[str, np.ndarray]) -> None:
    """Put the whole bias in Wb and in Rb."""
    half = t["B"].shape[1] // 2
    whole = t["B"][:, :half] + t["B"][:, half:]
    t["B"] = np.concatenate([whole, whole], axis=1)


def transpose_r(t: dict[str, np.ndarray]) -> None:
    """Transpose each gate block of R."""
    d, rows, cols = t["R"].shape
    t["R"] = t["R"].reshape(d, rows // cols, cols, cols).transpose(0, 1, 3, 2).reshape(d, rows, cols)


def _hidden(folder: Path) -> tuple[Path, Path]:
    """Write an export whose hidden_size (8) is not the layer's units (4)."""
    ref, _ = reference(folder)
    rng = np.random.default_rng(1)
    tensors = {"W": rng.random((1, 32, FEATURES)), "R": rng.random((1, 32, 8)), "B": rng.random((1, 64))}
    return ref, onnx_file(folder / "cand.onnx", "LSTM", tensors, hidden=8)


def _missing(folder: Path) -> tuple[Path, Path]:
    """Write an export in which the LSTM is gone (a Transpose alone)."""
    import onnx
    from onnx import TensorProto, helper

    ref, _ = reference(folder)
    graph = helper.make_graph([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0, 2])], "case",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", STEPS, FEATURES])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [STEPS, "N", FEATURES])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), folder / "cand.onnx")
    return ref, folder / "cand.onnx"


# name -> (builder, rule that fires, node it fires on, a phrase of its message); for VALID
# cases the rule is the one that must stay silent.
Builder = Callable[[Path], tuple[Path, Path]]
CASES: dict[str, Builder] = {
    "lstm": lambda f: pair(f),
    "gru": lambda f: pair(f, "GRU"),
    "missing": _missing,
    "hidden_size": _hidden,
    "reverse": lambda f: pair(f, direction="reverse"),
    "linear_before_reset": lambda f: pair(f, "GRU", linear_before_reset=0),
    "swap_if": lambda f: pair(f, edit=swap_blocks("LSTM", 0, 2)),
    "bias_both": lambda f: pair(f, edit=bias_both),
    "r_transposed": lambda f: pair(f, edit=transpose_r),
    "loop": lambda f: (reference(f)[0], loop_file(f / "cand.onnx")),
}
PHRASES = {"missing": "has no counterpart in the ONNX model", "hidden_size": "hidden_size 8",
           "reverse": "direction is reverse but the layer runs forward",
           "linear_before_reset": "linear_before_reset is 0", "swap_if": "gates i and f are swapped",
           "bias_both": "both halves of B", "r_transposed": "recurrent kernel is transposed",
           "loop": "lowered into Loop"}
