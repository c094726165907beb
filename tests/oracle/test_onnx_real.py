"""Real-world ONNX patterns (issue 9) against their frameworks: parameter totals, rules, ORT shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphcheck.engine import check_path
from graphcheck.explanations.views import nodes, total_params
from graphcheck.findings import Severity
from graphcheck.results import FileResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "onnx"
REAL: dict[str, dict[str, Any]] = json.loads((FIXTURES / "real" / "expected.json").read_text())
EXPORTED: dict[str, dict[str, Any]] = json.loads((FIXTURES / "params.json").read_text())
COUNTS = {**{f"real/{k}": v for k, v in REAL.items()}, **EXPORTED}
RUNNABLE = sorted(f"real/{k}" for k, v in REAL.items() if v["onnxruntime"] == "runs") + sorted(EXPORTED)
RECURRENT = ("LSTM", "GRU", "RNN")
# tf2onnx turns Keras 3 GRU/SimpleRNN into Loops of plain ops: no recurrent node to compare.
LOOPS_ONLY = ("keras_gru.onnx", "keras_simple_rnn.onnx")


def analyse(name: str) -> FileResult:
    """Analyse one fixture as the CLI does."""
    path = FIXTURES / name
    return check_path(path, path.name)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_total_counts_each_weight_once_as_the_framework_does(name: str) -> None:
    """The explain total equals torch's sum(p.numel()) / Keras's count_params().

    tf2onnx stores a Keras LSTM's bias as Wb and zeros as Rb: those 4*units per direction are
    in the file (the fixture script records them from the layer's config), so they count.
    """
    want = COUNTS[name]
    result = analyse(name)
    assert result.model is not None and result.inference is not None
    views = list(nodes(result.model, result.inference))
    assert total_params(views) == want["params"] + want.get("zero_recurrent_bias", 0)


@pytest.mark.parametrize("name", sorted(k for k, v in COUNTS.items() if "recurrent_params" in v))
def test_recurrent_node_params_are_w_r_b_whatever_path(name: str) -> None:
    """Each LSTM/GRU counts its W/R/B (sliced, concatenated, in Constants) as torch counts the module."""
    result = analyse(name)
    assert result.model is not None and result.inference is not None
    ours = sorted(v.params for v in nodes(result.model, result.inference) if v.type in RECURRENT)
    assert ours == COUNTS[name]["recurrent_params"]


@pytest.mark.parametrize("name", sorted(f"real/{k}" for k in REAL))
def test_rules_the_pattern_must_and_must_not_get(name: str) -> None:
    """Streaming state keeps single-timestep quiet; a constant zero state does not; old opsets get a note."""
    want = REAL[name.removeprefix("real/")]
    rules = {f.rule for f in analyse(name).findings}
    assert set(want.get("present", [])) <= rules
    assert not set(want.get("absent", [])) & rules
    assert "internal-error" not in rules


@pytest.mark.parametrize("name", RUNNABLE)
def test_files_onnxruntime_runs_get_no_warning_beyond_their_pattern(name: str) -> None:
    """Nothing at warning or above on a file ORT runs, except the finding the pattern is about."""
    expected = set(COUNTS[name].get("present", []))
    loud = [f for f in analyse(name).findings if f.severity >= Severity.WARNING and f.rule not in expected]
    assert [f"{f.rule}: {f.message}" for f in loud] == []


def _graph_outputs(graph: Any, *names: str) -> None:
    """Declare tensors as outputs of a graph (no type or shape: ORT fills them in)."""
    import onnx

    graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names)


def expose(model: Any) -> list[tuple[str, str, int, str]]:
    """Make every recurrent output a model output; return (node key, output, index, branch).

    Inside a Loop/Scan body the output becomes an extra scan output, stacked on a new first
    axis; inside an If both branches get one more output (branch names which one fed it).
    """
    exposed = []
    unnamed: dict[str, int] = {}
    for node in list(model.graph.node):
        if not node.name:  # graphcheck names it LSTM_0, LSTM_1, ... in file order
            node.name = f"{node.op_type}_{unnamed.setdefault(node.op_type, 0)}"
            unnamed[node.op_type] += 1
        if node.op_type in RECURRENT:
            names = [t for t in node.output if t and t not in {o.name for o in model.graph.output}]
            _graph_outputs(model.graph, *names)
            exposed += [(node.name, t, i, "") for i, t in enumerate(node.output) if t]
        for attribute in node.attribute:
            if attribute.type == attribute.GRAPH:
                exposed += _expose_body(model, node, attribute)
    return exposed


def _expose_body(model: Any, outer: Any, attribute: Any) -> list[tuple[str, str, int, str]]:
    """Expose the recurrent outputs of one Loop/Scan body or If branch."""
    exposed = []
    for node in attribute.g.node:
        if node.op_type not in RECURRENT:
            continue
        for index, tensor in enumerate(node.output):
            if not tensor or (outer.op_type == "If" and index):
                continue
            name = f"{outer.name}/{attribute.name}/{tensor}"
            _graph_outputs(attribute.g, tensor)
            if outer.op_type == "If":  # both branches must add one: each names its own node
                name = f"{outer.name}/exposed"
                if name not in outer.output:
                    outer.output.append(name)
                    _graph_outputs(model.graph, name)
            else:
                outer.output.append(name)
                _graph_outputs(model.graph, name)
            exposed.append((f"{outer.name}/{attribute.name}/{node.name}", name, index,
                            attribute.name if outer.op_type == "If" else "stacked"))
    return exposed


def _run(model: Any, fill: int) -> dict[str, Any]:
    """Run the model in ORT on inputs filled with ``fill`` (dynamic dims 2)."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    types = {"tensor(float)": np.float32, "tensor(int64)": np.int64}
    feeds = {i.name: np.full([d if isinstance(d, int) else 2 for d in i.shape], fill,
                             types.get(i.type, np.float32)) for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


# torch_scripted_if takes its then branch (the LSTM) when x.sum() > 0: ones; else (GRU): zeros.
BRANCH_FILL = {"then_branch": 1, "else_branch": 0, "": 0, "stacked": 0}


@pytest.mark.parametrize("name", [n for n in RUNNABLE if n not in LOOPS_ONLY])
def test_every_recurrent_output_has_onnxruntimes_rank_and_hidden_size(name: str) -> None:
    """Every LSTM/GRU/RNN output ORT computes, in bodies too: same rank, same static dims, known H."""
    import onnx

    model = onnx.load(str(FIXTURES / name))
    exposed = expose(model)
    assert exposed
    runs = {fill: _run(model, fill) for fill in (0, 1)}
    result = analyse(name)
    assert result.inference is not None
    for node, tensor, index, branch in exposed:
        real = runs[BRANCH_FILL[branch]][tensor].shape
        real = real[1:] if branch == "stacked" else real
        ours = result.inference.nodes[node].outputs()[index]
        assert ours is not None and len(ours) == len(real), (node, ours, real)
        assert ours[-1] == real[-1], (node, "hidden size", ours, real)
        assert all(d == r for d, r in zip(ours, real) if isinstance(d, int)), (node, ours, real)


@pytest.mark.parametrize("name", ["real/helper_lstm_opset6.onnx", "real/helper_gru_opset3.onnx"])
def test_old_opset_notes_fix_makes_onnxruntime_run_it(name: str) -> None:
    """Following the note (no output_sequence, opset import 7) ORT runs the node, with our shape."""
    import onnx

    model = onnx.load(str(FIXTURES / name))
    del model.opset_import[:]
    model.opset_import.append(onnx.helper.make_opsetid("", 7))
    for node in model.graph.node:
        kept = [a for a in node.attribute if a.name != "output_sequence"]
        del node.attribute[:]
        node.attribute.extend(kept)
    real = _run(model, 0)["y"].shape
    result = analyse(name)
    assert result.inference is not None
    note = next(f for f in result.findings if f.rule == "old-recurrent-opset")
    assert note.severity == Severity.NOTE and "output_sequence" in note.message
    assert result.inference.nodes["rnn"].outputs()[0] == real


def test_explain_lists_weights_the_graph_computes_with_onnxs_shapes() -> None:
    """An unfolded torch export slices W/R/B together: explain lists them with onnx's inferred shapes."""
    import onnx
    from click.testing import CliRunner

    from graphcheck.cli import main

    path = FIXTURES / "real" / "torch_unfolded_lstm.onnx"
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    shapes = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
              for v in inferred.graph.value_info}
    lstm = next(n for n in inferred.graph.node if n.op_type == "LSTM")
    text = CliRunner().invoke(main, ["explain", str(path)]).output
    for role, tensor in zip(("W", "R", "B"), lstm.input[1:4]):
        line = next(x for x in text.splitlines() if x.strip().startswith(f"{role} "))
        assert str(shapes[tensor]) in line and "(computed in the graph)" in line


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "broken").glob("*.onnx")))
def test_constant_initial_states_and_lengths_are_not_params(name: str) -> None:
    """A stored initial_h/initial_c (float) or sequence_lens (int) is not counted; W/R/B/P are."""
    import onnx

    model = onnx.load(str(FIXTURES / "broken" / name))
    node = model.graph.node[0]
    sizes = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer}
    weights = [n for slot, n in enumerate(node.input) if slot in (1, 2, 3, 7) and n in sizes]
    result = analyse(f"broken/{name}")
    assert result.model is not None and result.inference is not None
    assert total_params(list(nodes(result.model, result.inference))) == sum(sizes[n] for n in weights)


def test_symbolic_batch_survives_a_value_info_that_baked_in_the_example_batch(tmp_path: Path) -> None:
    """A declared [2, 1, H] after a Concat of Y_h with a 'batch' input keeps the symbol: ORT runs any batch.

    torch's dynamo exporter (2.10, seen in a public weather-forecasting model) traces with batch 1
    and records the intermediate shapes it saw.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.zeros(shape, np.float32), name) for name, shape in
             (("W", (1, 64, 8)), ("R", (1, 64, 16)), ("B", (1, 128)))]
    nodes_ = [helper.make_node("LSTM", ["x", "W", "R", "B"], ["", "h"], hidden_size=16, name="lstm"),
              helper.make_node("Concat", ["h", "h"], ["both"], axis=0, name="concat")]
    graph = helper.make_graph(
        nodes_, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, "batch", 8])],
        [helper.make_tensor_value_info("both", TensorProto.FLOAT, None)], inits,
        value_info=[helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
                    for n, shape in (("h", [1, 1, 16]), ("both", [2, 1, 16]))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "baked.onnx"
    onnx.save_model(model, str(path))
    real = _run(model, 0)["both"].shape  # dynamic dims fed as 2
    ours = check_path(path, path.name).inference
    assert ours is not None and real == (2, 2, 16)
    assert ours.nodes["concat"].outputs()[0] == (2, "batch", 16)
