"""Hostile ONNX files: size and node limits refuse a file before protobuf parses it; odd names survive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import AttributeProto, TensorProto, helper

from graphcheck.engine import check_path, load
from graphcheck.limits import Limits, from_mapping
from graphcheck.loaders import onnx_wire
from graphcheck.loaders.onnx_graph import Names, Scope
from graphcheck.loaders.protowire import encode_field as field
from graphcheck.results import FileResult
from graphcheck.settings import Settings

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


class CountingSet(set[str]):
    """A set that counts membership tests: the probes unique naming makes."""

    probes = 0

    def __contains__(self, item: object) -> bool:
        """Count the probe, then answer it."""
        self.probes += 1
        return super().__contains__(item)


def test_unique_naming_probes_linearly() -> None:
    """N nodes sharing a name cost O(N) probes (probing from #1 each time cost N²/2)."""
    scope = Scope(shapes={}, declared={}, taken=CountingSet({"n#2", "n#5"}))
    names = [scope.unique("n") for _ in range(20_000)]
    assert names[:6] == ["n", "n#1", "n#3", "n#4", "n#6", "n#7"]  # the first free suffix, as before
    assert len(set(names)) == len(names) == 20_000
    assert isinstance(scope.taken, CountingSet) and scope.taken.probes <= 20_000 + 2


def test_same_named_nodes_become_distinct_layers(tmp_path: Path) -> None:
    """Thousands of nodes sharing one name (legal in ONNX), or none, each get their own layer and edges."""
    value = helper.make_tensor_value_info
    count = 5000
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name="same" if i % 2 else "")
             for i in range(count)]
    graph = helper.make_graph(nodes, "g", [value("t0", TensorProto.FLOAT, [1, 4])],
                              [value(f"t{count}", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph), tmp_path / "same.onnx")
    built = load(tmp_path / "same.onnx").root.graph
    relus = [key for key, data in built.nodes(data=True) if data["layer"].type == "Relu"]
    assert len(relus) == count and {"same", "same#2499", "Relu_0", "Relu_2499"} <= set(relus)
    assert len(list(built.edges())) == count + 1  # a chain: input, every Relu, output


def test_subgraph_names_resolve_through_their_parents_without_copies() -> None:
    """A body sees outer names unless it defines its own; its definitions never leak outward."""
    outer = Names().inner(helper.make_graph([], "g", [], [], initializer=[
        helper.make_tensor("w", TensorProto.INT64, [2], [3, 4])]), "")
    outer.producers["x"] = ("relu", 0)
    body = outer.inner(helper.make_graph([], "b", [], [], initializer=[
        helper.make_tensor("x", TensorProto.INT64, [1], [7])]), "if/then/")
    assert body.producers == {} and set(body.initializers) == {"x"}  # nothing of the outer copied
    assert body.tensor_id("w") == "init:w" and body.value("w") == (3, 4)
    assert body.tensor_id("x") == "init:if/then/x" and body.producer("x") is None  # shadowed
    body.producers["w"] = ("add", 0)  # a body node redefines w
    assert body.tensor_id("w") == "out:add:0" and body.value("w") is None
    assert outer.tensor_id("w") == "init:w" and outer.tensor_id("x") == "out:relu:0"


def wire_model(extra: bytes) -> bytes:
    """Return a one-Relu model whose GraphProto has ``extra`` fields appended (protobuf merges them)."""
    value = helper.make_tensor_value_info
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [value("x", TensorProto.FLOAT, [1, 4])],
                              [value("y", TensorProto.FLOAT, [1, 4])])
    opset = helper.make_opsetid("", 17).SerializeToString()
    return b"\x08\x08" + field(8, opset) + field(7, graph.SerializeToString() + extra)


def relu(extra: bytes) -> bytes:
    """Return a GraphProto.node field: a Relu node with ``extra`` NodeProto fields."""
    return field(1, field(1, b"y") + field(2, b"z") + field(4, b"Relu") + extra)


INT_ATTRIBUTE = field(5, field(1, b"a") + b"\x18\x01" + b"\xa0\x01\x02")  # name, i = 1, type INT
SHAPE_40 = helper.make_tensor_value_info("z", TensorProto.FLOAT, [1] * 40).SerializeToString()


def ints(count: int) -> bytes:
    """Return a node attribute holding ``count`` packed ints."""
    return relu(field(5, field(1, b"a") + field(8, b"\x01" * count)))


WIRE_CASES = {  # what is appended to the graph, the limits, what the finding says
    # The round-3 case: a million empty initializers (2 MB unnamed) took 1.4 GB.
    "initializers": (lambda: b"\x2a\x00" * 1_000_000, {}, "more than 500000 initializers"),
    "value_info": (lambda: field(13, SHAPE_40[:3]) * 2000, {"max_onnx_entries": 1000},
                   "more than 1000 value_info records"),
    "attributes": (lambda: relu(INT_ATTRIBUTE * 2000), {"max_onnx_entries": 1000},
                   "more than 1000 attributes"),
    "node_inputs": (lambda: relu(field(1, b"y") * 2000), {"max_onnx_entries": 1000},
                    "more than 1000 node input and output"),
    "packed_ints": (lambda: ints(1_000_000), {}, "more than 500000 values in list attributes"),
    "packed_ints_unread": (lambda: ints(6_000_000), {}, "more than 500000 values"),  # 6 MB: not even scanned
    "packed_floats": (lambda: relu(field(5, field(1, b"a") + field(7, b"\x00" * 8000))),
                      {"max_onnx_entries": 1000}, "more than 1000 values in list attributes"),
    "external_data": (lambda: field(5, field(13, field(1, b"location")) * 2000), {"max_onnx_entries": 1000},
                      "more than 1000 other entries"),
    "metadata_props": (lambda: field(16, b"") * 2000, {"max_onnx_entries": 1000}, "other entries"),
    "subgraphs": (lambda: relu(field(5, field(1, b"g") + field(6, b"")) * 20), {"max_onnx_graphs": 10},
                  "more than 10 subgraphs (If/Loop/Scan bodies and other graph attributes), over the "
                  "limit (max_onnx_graphs)"),
    "graphs_list": (lambda: relu(field(5, field(1, b"g") + field(11, b"") * 20)), {"max_onnx_graphs": 10},
                    "(max_onnx_graphs)"),
    "shape_rank": (lambda: field(13, SHAPE_40), {}, "a tensor or shape in the model has more than 32 dim"),
    "dims": (lambda: field(5, b"\x08\x01" * 33), {}, "more than 32 dimensions"),
    "dims_packed": (lambda: field(5, field(1, b"\x01" * 5_000_000)), {}, "more than 32 dimensions"),
}


@pytest.mark.parametrize("case", sorted(WIRE_CASES))
def test_wire_counts_refuse_before_parsing(tmp_path: Path, case: str) -> None:
    """Each repeated field an attacker can inflate is counted on the wire and refused, naming its limit."""
    extra, limits, fragment = WIRE_CASES[case]
    path = tmp_path / "m.onnx"
    path.write_bytes(wire_model(extra()))
    found = messages(check(path, **limits))
    assert len(found) == 1 and fragment in found[0] and "counted before parsing" in found[0], found


def test_entry_counts_add_up_across_subgraphs(tmp_path: Path) -> None:
    """Initializers spread over If bodies count together: the limit is per file, not per graph."""
    value = helper.make_tensor_value_info
    out = value("y", TensorProto.FLOAT, [1])

    def body(index: int) -> Any:
        weights = [helper.make_tensor(f"w{index}_{i}", TensorProto.FLOAT, [1], [0.0]) for i in range(400)]
        return helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "b", [], [out], weights)

    nodes = [helper.make_node("If", ["c"], [f"y{i}"], then_branch=body(i), else_branch=body(i + 10))
             for i in range(2)]
    inputs = [value("c", TensorProto.BOOL, []), value("x", TensorProto.FLOAT, [1])]
    graph = helper.make_graph(nodes, "g", inputs, [value("y0", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), tmp_path / "m.onnx")
    assert not messages(check(tmp_path / "m.onnx", max_onnx_entries=1600))
    assert messages(check(tmp_path / "m.onnx", max_onnx_entries=1599)) == [
        "the model has more than 1599 initializers, over the limit (max_onnx_entries), "
        "counted before parsing"]


def test_entry_and_rank_limits_are_configurable() -> None:
    """A real exported model passes the defaults; lowered limits refuse it, naming the key to raise."""
    path = FIXTURES / "onnx" / "torch_lstm.onnx"
    assert not messages(check(path))
    assert [m for m in messages(check(path, max_onnx_entries=2)) if "(max_onnx_entries)" in m]
    assert [m for m in messages(check(path, max_rank=1)) if "(max_rank)" in m]
    assert from_mapping({"max_onnx_entries": 7}).max_onnx_entries == 7


def test_node_count_visits_a_bounded_number_of_records(tmp_path: Path) -> None:
    """Millions of records that are not nodes end the node count early; the copy's counts refuse them."""
    path = tmp_path / "m.onnx"
    path.write_bytes(wire_model(b"\x2a\x00" * 5_000 + relu(b"") * 50))
    assert onnx_wire.count_nodes(path, 1000) == 51  # within the visits: every node counted
    assert onnx_wire.count_nodes(path, 10) < 11  # 16 visits a node: the initializers end it first
    assert messages(check(path, max_nodes=10)) == [
        "the model has more than 10 nodes (Loop/Scan/If bodies and functions included), over the "
        "limit (max_nodes), counted before parsing"]
