"""Hostile ONNX files: size and node limits refuse a file before protobuf parses it; odd names survive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import AttributeProto, TensorProto, helper

from graphcheck.engine import Settings, check_path, load
from graphcheck.limits import Limits
from graphcheck.loaders import onnx_wire
from graphcheck.results import FileResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def check(path: Path, **limits: int) -> FileResult:
    """Analyse one file with the given limits."""
    return check_path(path, path.name, Settings(limits=Limits(**limits)))


def messages(result: FileResult, rule: str = "unreadable-model") -> list[str]:
    """Return the messages of one rule's findings."""
    return [f.message for f in result.findings if f.rule == rule]


def chain(path: Path, count: int) -> Path:
    """Write a model of ``count`` Relu nodes in a row (generated here: too big to commit)."""
    value = helper.make_tensor_value_info
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"]) for i in range(count)]
    graph = helper.make_graph(nodes, "chain", [value("t0", TensorProto.FLOAT, [1, 4])],
                              [value(f"t{count}", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph), path)
    return path


def all_nodes(graph: Any) -> int:
    """Count a graph's nodes and its subgraphs' nodes with onnx's own API."""
    total = len(graph.node)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == AttributeProto.GRAPH:
                total += all_nodes(attribute.g)
            total += sum(all_nodes(g) for g in attribute.graphs)
    return total


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any copy or protobuf parse of a model fail the test: limits must refuse the file first."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the model was read past the limits")
    monkeypatch.setattr(onnx, "load", refuse)
    monkeypatch.setattr(onnx_wire, "without_tensor_data", refuse)


def test_node_limit_names_the_count_and_limit(tmp_path: Path, no_parsing: None) -> None:
    """A graph over max_nodes is refused, naming how many nodes it has, without parsing it."""
    found = messages(check(chain(tmp_path / "m.onnx", 250), max_nodes=100))
    assert found == ["the graph has 250 nodes (Loop/Scan/If bodies and functions included), "
                     "over the limit of 100 (max_nodes)"]


def test_node_count_stops_far_past_the_limit(tmp_path: Path, no_parsing: None) -> None:
    """Counting stops at ten times the limit, so millions of nodes cost no more than that."""
    found = messages(check(chain(tmp_path / "m.onnx", 3000), max_nodes=100))
    assert len(found) == 1 and "has more than 1000 nodes" in found[0]


def test_node_limit_counts_loop_bodies() -> None:
    """The count includes the nodes inside Loop bodies, as onnx itself counts them."""
    path = FIXTURES / "onnx" / "keras_gru.onnx"
    proto = onnx.load(str(path), load_external_data=False)
    total = all_nodes(proto.graph)
    assert total > len(proto.graph.node)  # the fixture has a Loop with a body
    assert not messages(check(path, max_nodes=total))
    assert messages(check(path, max_nodes=total - 1)) == [
        f"the graph has {total} nodes (Loop/Scan/If bodies and functions included), "
        f"over the limit of {total - 1} (max_nodes)"]


def test_onnx_bytes_limit_bounds_what_is_held() -> None:
    """max_onnx_bytes bounds the bytes held in memory: the model without its large tensors' values."""
    path = FIXTURES / "onnx" / "torch_lstm_bi_2layer.onnx"
    kept = len(onnx_wire.without_tensor_data(path, path.stat().st_size))
    assert kept < path.stat().st_size  # the LSTM's weight values stay in the file
    assert not messages(check(path, max_onnx_bytes=kept))
    assert messages(check(path, max_onnx_bytes=kept // 2)) == [
        f"torch_lstm_bi_2layer.onnx holds over {kept // 2} bytes besides its tensors' values, over the "
        "limit (max_onnx_bytes)"]


def test_names_that_are_not_utf8_are_escaped() -> None:
    """Node and tensor names protobuf returns as bytes become escaped text; edges stay intact."""
    graph = load(FIXTURES / "hostile" / "names_not_utf8.onnx").root.graph
    assert "node\\xff\\xfe" in graph
    assert graph.nodes["node\\xff\\xfe"]["layer"].config["outputs"] == ["tens\\xc3("]
    assert list(graph.successors("node\\xff\\xfe")) == ["Relu_0"]


def test_truncated_protobuf_is_still_a_parse_finding(tmp_path: Path) -> None:
    """Bytes the node counter gives up on reach protobuf, whose error becomes the finding."""
    data = (FIXTURES / "onnx" / "torch_lstm.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[:len(data) // 3])
    assert any("not a readable ONNX protobuf" in m for m in messages(check(path)))
