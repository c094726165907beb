"""The real-world survey script (fixtures/real_world/survey.py) keeps working on our own fixtures.

The third-party files it was written for are never committed; these tests run it on the
repository's fixtures so a change in graphcheck's JSON or in the frameworks breaks it here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "fixtures" / "real_world" / "survey.py"
SOURCES = ROOT / "fixtures" / "real_world" / "sources.json"


def _load() -> ModuleType:
    """Import the survey script as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("real_world_survey", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


survey = _load()


def _gc(nodes: list[dict[str, Any]], total: int | None, findings: list[Any] | None = None
        ) -> dict[str, Any]:
    """Build a graphcheck answer the way graphcheck_answers does."""
    return {"findings": findings or [], "explain": {"nodes": nodes, "total_params": total},
            "errors": []}


def test_keras_comparison_reports_shape_params_and_total() -> None:
    """A wrong dim, a wrong count and a wrong total are each reported; agreeing layers are not."""
    gc = _gc([{"name": "lstm", "type": "LSTM", "output_shapes": [[None, 7]], "params": 10},
              {"name": "dense", "type": "Dense", "output_shapes": [[None, 3]], "params": 24}], 34)
    fw = {"layers": [{"name": "lstm", "class": "LSTM", "output_shapes": [[None, 8]], "params": 11},
                     {"name": "dense", "class": "Dense", "output_shapes": [[None, 3]], "params": 24},
                     {"name": "gone", "class": "GRU", "output_shapes": [[None, 2]], "params": 5}],
          "total_params": 40}
    kinds = [(i["kind"], i.get("layer")) for i in survey.compare_keras(gc, fw)]
    assert kinds == [("shape", "lstm"), ("params", "lstm"), ("layer-missing", "gone"),
                     ("total-params", None)]


def test_onnx_comparison_treats_symbolic_dims_as_unknown() -> None:
    """A symbolic dim agrees with the concrete dim of the run; a known wrong dim does not."""
    gc = _gc([{"name": "/LSTM", "type": "LSTM", "output_shapes": [["seq", 1, "batch", 16]]},
              {"name": "/Gemm", "type": "Gemm", "output_shapes": [[2, 5]]}], 100)
    fw = {"node_shapes": {"/LSTM": [[9, 1, 2, 16]], "/Gemm": [[2, 4]]},
          "weights": {"distinct_float": 96}}
    issues = survey.compare_onnx(gc, fw)
    assert [(i["kind"], i.get("layer")) for i in issues] == [("shape", "/Gemm"),
                                                               ("total-params", None)]


def test_unknown_recurrent_output_is_listed() -> None:
    """A recurrent node without a known hidden size is listed; a known one is not."""
    gc = _gc([{"name": "a", "type": "GRU", "output_shapes": [[5, 1, 2, None]]},
              {"name": "b", "type": "GRU", "output_shapes": [[5, 1, 2, 8]]},
              {"name": "c", "type": "LSTM", "output_shapes": [None]}], None)
    assert [i["layer"] for i in survey.unknown_recurrent(gc, onnx=True)] == ["a", "c"]


def test_unreadable_on_a_loadable_file_is_the_first_issue(tmp_path: Path) -> None:
    """GC001 on a file a framework loads is reported, whatever else differs."""
    findings = [{"rule": "unreadable-model", "severity": "error", "node": None,
                 "message": "config is list"}]
    model = tmp_path / "m.h5"
    model.write_bytes(b"not read by the frameworks in this test")
    answers = {"keras3": {"loaded": False, "error": "x"},
               "tf_keras": {"loaded": True, "layers": [], "total_params": 3}}
    original = survey.framework_answers
    survey.framework_answers = lambda *_: answers
    try:
        result = survey.survey_file(model, _gc([], None, findings), 10.0, None)
    finally:
        survey.framework_answers = original
    assert result["issues"][0]["kind"] == "unreadable-but-loads"
    assert result["verdict"] == "differs"


def test_distinct_weights_count_once_and_skip_initial_states() -> None:
    """An initializer read by two nodes counts once; a Constant h0 via Expand is no parameter."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((1, 8, 3), np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 8, 2), np.float32), "R")
    axes = numpy_helper.from_array(np.array([0], np.int64), "axes")
    h0 = helper.make_node("Constant", [], ["h0c"], value=numpy_helper.from_array(
        np.zeros((1, 1, 2), np.float32)))
    nodes = [h0, helper.make_node("Expand", ["h0c", "shape"], ["h0"]),
             helper.make_node("GRU", ["x", "W", "R", "", "", "h0"], ["y"], hidden_size=2),
             helper.make_node("ReduceSum", ["W", "axes"], ["s"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 1, 3]),
                     helper.make_tensor_value_info("shape", TensorProto.INT64, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, r, axes])
    counts = survey.distinct_weights(helper.make_model(graph))
    assert counts["distinct_float"] == 24 + 16
    assert counts["initial_states"] == 2
    assert counts["integer"] == 1
    assert counts["unread"] == counts["float_scalars"] == 0


def test_scalars_and_unread_tensors_are_not_weights() -> None:
    """A rank-0 float (an epsilon) and an initializer no node reads are counted apart."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((3, 2), np.float32), "w")
    eps = numpy_helper.from_array(np.array(1e-5, np.float32), "eps")
    spare = numpy_helper.from_array(np.zeros((7,), np.float32), "spare")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "eps"], ["y"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, eps, spare])
    counts = survey.distinct_weights(helper.make_model(graph))
    assert (counts["distinct_float"], counts["float_scalars"], counts["unread"]) == (6, 1, 7)


def test_git_blob_id_matches_git() -> None:
    """sources.json records git's blob ids; the script computes the same id git does."""
    data = b"hello\n"
    assert survey.git_blob_id(data) == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_sources_json_lists_files_with_repo_path_commit() -> None:
    """Every source names a repository, a path, a 40-hex commit and a 40-hex blob id."""
    entries = json.loads(SOURCES.read_text())["files"]
    assert len(entries) >= 40
    for entry in entries:
        assert entry["repo"].count("/") == 1, entry
        assert entry["path"] and entry["local"]
        assert len(entry["commit"]) == 40 and len(entry["blob"]) == 40, entry


@pytest.mark.oracle
def test_survey_runs_on_our_fixtures(tmp_path: Path) -> None:
    """End to end on three of our fixtures: frameworks load them and graphcheck agrees."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("tf_keras/question.h5", "keras/functional.keras", "onnx/torch_lstm.onnx"):
        shutil.copy(ROOT / "fixtures" / name, folder / Path(name).name)
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(SCRIPT), str(folder), "--out", str(out)],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    results = {r["file"]: r for r in json.loads(out.read_text())}
    assert results["question.h5"]["frameworks"]["tf_keras"]["loaded"]
    assert results["functional.keras"]["frameworks"]["keras3"]["loaded"]
    onnx = results["torch_lstm.onnx"]["frameworks"]["onnxruntime"]
    assert onnx["loaded"] and onnx["weights"]["distinct_float"] > 0
    for name, result in results.items():
        assert result["verdict"] == "agree", (name, result["issues"])
    assert "| question.h5 |" not in done.stdout  # the table names files by path in backticks
    assert "`question.h5`" in done.stdout


def test_summary_counts_files_not_issues() -> None:
    """Two issues of one kind in one file count as one file; verdicts are tallied."""
    results = [{"file": "a", "verdict": "differs",
                "issues": [{"kind": "shape"}, {"kind": "shape"},
                           {"kind": "finding-on-loadable", "rule": "single-timestep"}]},
               {"file": "b", "verdict": "agree", "issues": []}]
    text = survey.summary(results)
    assert text.startswith("2 files: 1 agree, 1 differs")
    assert "| shape | 1 |" in text
    assert "| finding-on-loadable (single-timestep) | 1 |" in text


def test_changes_lists_fixed_and_new_disagreements() -> None:
    """A kind that disappears is listed as fixed, one that appears as new; unchanged files are not."""
    before = [{"file": "a", "issues": [{"kind": "unreadable-but-loads"}]},
              {"file": "b", "issues": [{"kind": "shape"}]}]
    after = [{"file": "a", "issues": [{"kind": "params"}]},
             {"file": "b", "issues": [{"kind": "shape"}]}]
    assert survey.changes(before, after) == "- a: fixed ['unreadable-but-loads'], new ['params']\n"
    assert survey.changes(after, after) == "no file changed\n"


def test_unknown_model_output_on_a_loadable_file_is_listed(tmp_path: Path) -> None:
    """An op layer Keras keeps out of model.layers still shows: the model's output is unknown."""
    model = tmp_path / "m.keras"
    model.write_bytes(b"not read by the frameworks in this test")
    gc = _gc([], 10)
    gc["explain"]["outputs"] = [{"name": "get_item", "shape": None}, {"name": "d", "shape": [None, 1]}]
    answers = {"keras3": {"loaded": True, "layers": [], "total_params": 10},
               "tf_keras": {"loaded": False, "error": "x"}}
    original = survey.framework_answers
    survey.framework_answers = lambda *_: answers
    try:
        result = survey.survey_file(model, gc, 10.0, None)
    finally:
        survey.framework_answers = original
    assert result["issues"] == [{"kind": "output-unknown", "layer": "get_item"}]
    assert result["verdict"] == "differs"
