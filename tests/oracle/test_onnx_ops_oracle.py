"""graphcheck's own ONNX op shapes against onnx's inference and ONNX Runtime on one-node models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from graphcheck.shapes.onnx.ops import OPS

# (op, input shapes, int inputs by slot, attributes, opset)
CASES: list[tuple[str, list[tuple[int, ...]], dict[int, list[int]], dict[str, Any], int]] = [
    ("Transpose", [(2, 3, 4)], {}, {"perm": [1, 0, 2]}, 17),
    ("Transpose", [(2, 3, 4)], {}, {}, 17),
    ("Reshape", [(2, 3, 4)], {1: [0, -1]}, {}, 17),
    ("Reshape", [(2, 3, 4)], {1: [4, -1, 2]}, {}, 17),
    ("Squeeze", [(1, 3, 1, 4)], {1: [0, -2]}, {}, 17),
    ("Squeeze", [(1, 3, 1, 4)], {}, {"axes": [2]}, 11),
    ("Squeeze", [(1, 3, 1, 4)], {}, {}, 17),
    ("Unsqueeze", [(3, 4)], {1: [0, -1]}, {}, 17),
    ("Unsqueeze", [(3, 4)], {}, {"axes": [1]}, 11),
    ("Slice", [(10, 6, 4)], {1: [2, -1], 2: [8, 100], 3: [0, 1]}, {}, 17),
    ("Slice", [(10, 6, 4)], {1: [-1], 2: [-100], 3: [0], 4: [-2]}, {}, 17),
    ("Slice", [(10, 6, 4)], {}, {"starts": [1], "ends": [3], "axes": [2]}, 9),
    ("Concat", [(2, 3), (2, 5)], {}, {"axis": -1}, 17),
    ("Gather", [(5, 6, 7)], {1: [0, 1, 2, 3, 4, 0]}, {"axis": 1}, 17),
    ("Flatten", [(2, 3, 4, 5)], {}, {"axis": 2}, 17),
    ("MatMul", [(2, 5, 3), (3, 4)], {}, {}, 17),
    ("MatMul", [(3,), (3, 4)], {}, {}, 17),
    ("MatMul", [(1, 5, 3), (7, 3, 4)], {}, {}, 17),
    ("Gemm", [(5, 3), (4, 3)], {}, {"transB": 1}, 17),
    ("Add", [(2, 1, 4), (3, 1)], {}, {}, 17),
    ("Where", [(2, 1), (1, 3), (2, 3)], {}, {}, 17),
    ("Shape", [(2, 3, 4)], {}, {"start": 1}, 17),
    ("Relu", [(2, 3)], {}, {}, 17),
]
# Gather's indices come as a [2, 3] int tensor, not a list.
SHAPED = {("Gather", 1): (2, 3)}


def one_node(op: str, shapes: list[tuple[int, ...]], ints: dict[int, list[int]],
             attrs: dict[str, Any], opset: int) -> tuple[Any, list[str]]:
    """Return a model of one node: float inputs for the shapes, int64 initializers for the rest."""
    from onnx import TensorProto, helper, numpy_helper

    names, inputs, inits = [], [], []
    float_inputs = iter(shapes)
    for slot in range(len(shapes) + len(ints)):
        name = f"in{slot}"
        names.append(name)
        if slot in ints:
            values = np.array(ints[slot], np.int64).reshape(SHAPED.get((op, slot), (-1,)))
            inits.append(numpy_helper.from_array(values, name))
        else:
            elem = TensorProto.BOOL if op == "Where" and slot == 0 else TensorProto.FLOAT
            inputs.append(helper.make_tensor_value_info(name, elem, list(next(float_inputs))))
    node = helper.make_node(op, names, ["out"], **attrs)
    graph = helper.make_graph([node], "g", inputs, [helper.make_empty_tensor_value_info("out")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    return model, names


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[4]}-{c[3]}-{list(c[2])}")
def test_own_op_shape_equals_onnx_inference_and_onnxruntime(case: tuple[Any, ...]) -> None:
    """Same output shape as onnx's inference and as ORT computes on zeros."""
    import onnx
    import onnxruntime as ort

    op, shapes, ints, attrs, opset = case
    model, _ = one_node(op, shapes, ints, attrs, opset)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    theirs = tuple(d.dim_value for d in dims)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros(i.shape, np.bool_ if i.type == "tensor(bool)" else np.float32)
             for i in session.get_inputs()}
    real = session.run(None, feeds)[0].shape
    slots: list[tuple[int, ...] | None] = []
    floats = iter(shapes)
    for slot in range(len(shapes) + len(ints)):
        slots.append(SHAPED.get((op, slot), (len(ints[slot]),)) if slot in ints else next(floats))
    ours = OPS[op](slots, attrs, ints)[0]
    assert ours == theirs == tuple(real)
