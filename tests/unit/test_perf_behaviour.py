"""Behaviour the speed work relies on: the in-house graph, one read per file (a read server), the deadline."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import networkx as nx
import pytest

from graphcheck.discovery import Target, discover
from graphcheck.engine import check_path
from graphcheck.findings import LoadError
from graphcheck.graph import GraphCycleError, LayerGraph
from graphcheck.loaders import isolation, read_server
from graphcheck.loaders.isolation import isolated
from graphcheck.runner import check_all
from graphcheck.settings import DEFAULT

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

# Parallel edges, a diamond, a node added before its edges and edges added out of order: the
# cases where an insertion-ordered multigraph could disagree with networkx's.
EDGES = [("a", "b", 0), ("a", "c", 1), ("c", "d", 2), ("b", "d", 3), ("a", "b", 4),
         ("e", "d", 5), ("d", "f", 6), ("b", "f", 7)]


def _both(edges: list[tuple[str, str, int]]) -> tuple[LayerGraph, nx.MultiDiGraph]:
    """Build the same graph twice: with LayerGraph and with networkx."""
    ours, theirs = LayerGraph(), nx.MultiDiGraph()
    for graph in (ours, theirs):
        graph.add_node("e", layer="E")
        for src, dst, tag in edges:
            graph.add_edge(src, dst, tag=tag)
        graph.add_node("lonely", layer="L")
    return ours, theirs


def test_layer_graph_views_match_networkx() -> None:
    """Nodes, edges, in/out edges, neighbours and attributes come in networkx's order."""
    ours, theirs = _both(EDGES)
    assert list(ours.nodes) == list(theirs.nodes) and len(ours) == len(theirs)
    assert ours.number_of_nodes() == theirs.number_of_nodes()
    assert ours.number_of_edges() == theirs.number_of_edges()
    assert ours.nodes(data=True) == list(theirs.nodes(data=True))
    assert ours.edges() == list(theirs.edges()) and ours.edges(data=True) == list(theirs.edges(data=True))
    for name in theirs:
        assert ours.in_edges(name, data=True) == list(theirs.in_edges(name, data=True))
        assert ours.out_edges(name) == list(theirs.out_edges(name))
        assert list(ours.predecessors(name)) == list(theirs.predecessors(name))
        assert list(ours.successors(name)) == list(theirs.successors(name))
        assert ours.descendants(name) == nx.descendants(theirs, name)
    assert ours.nodes["e"]["layer"] == "E" and "lonely" in ours and "nobody" not in ours


def test_layer_graph_order_is_networkx_topological_sort() -> None:
    """Propagation order (and so the order of findings) is what networkx gave before."""
    ours, theirs = _both(EDGES)
    assert ours.topological_order() == list(nx.topological_sort(theirs))
    assert ours.find_cycle() is None


def test_layer_graph_round_trips_through_networkx() -> None:
    """to_networkx() keeps every node, edge and attribute."""
    ours, theirs = _both(EDGES)
    converted = ours.to_networkx()
    assert nx.utils.graphs_equal(converted, theirs)
    assert list(converted.edges(keys=True, data=True)) == list(theirs.edges(keys=True, data=True))


def test_layer_graph_shares_equal_edge_data_and_copies_the_rest() -> None:
    """Equal edge attributes are one dict (a 100,000-node chain's edges); unhashable ones stay apart."""
    graph = LayerGraph()
    for index in range(1, 50):
        graph.add_edge(f"n{index - 1}", f"n{index}", slot=0, arg="inputs", declared=None)
    graph.add_edge("n0", "m", slot=0, arg="inputs", declared=[1, 2])
    graph.add_edge("n1", "m", slot=0, arg="inputs", declared=[1, 2])
    chain = [attrs for _, dst, attrs in graph.edges(data=True) if dst != "m"]
    assert len(chain) == 49 and all(attrs is chain[0] for attrs in chain)
    assert chain[0] == {"slot": 0, "arg": "inputs", "declared": None}
    listed = [attrs for _, dst, attrs in graph.edges(data=True) if dst == "m"]
    assert listed[0] == listed[1] and listed[0] is not listed[1]


@pytest.mark.parametrize("edges", [
    [("a", "b", 0), ("b", "c", 1), ("c", "a", 2)],
    [("x", "a", 0), ("a", "b", 1), ("b", "a", 2), ("b", "y", 3)],
    [("a", "a", 0)],
])
def test_layer_graph_finds_the_cycle_networkx_finds(edges: list[tuple[str, str, int]]) -> None:
    """A cycle stops the topological order and is named as networkx names it."""
    ours, theirs = _both(edges)
    with pytest.raises(GraphCycleError):
        ours.topological_order()
    assert ours.find_cycle() == [src for src, _, _ in nx.find_cycle(theirs)]


def test_a_walk_reads_each_hdf5_file_once_in_the_read_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk opens no HDF5 file: each is classified and loaded in the one read that checks it.

    HDF5 data is still left out of the run and a weights-only file still noted. The three reads
    share one forked server; the weights-only file (a LoadError) retires it.
    """
    for name, source in (("data.h5", "weights/data.h5"), ("w.h5", "weights/keras2_question_weights.h5"),
                         ("model.h5", "keras/question.h5")):
        shutil.copy(FIXTURES / source, tmp_path / name)
    read_server.stop_server()
    forks: list[int] = []
    reads: list[int] = []
    real_fork, real_served = os.fork, read_server.served

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    def counting_served(job: bytes, seconds: float) -> object:
        reads.append(1)
        return real_served(job, seconds)

    monkeypatch.setattr(os, "fork", counting_fork)
    monkeypatch.setattr(read_server, "served", counting_served)
    targets = discover([str(tmp_path)])
    assert not forks and not reads  # the walk itself reads no HDF5 file
    results = check_all(targets, DEFAULT, jobs=1)
    assert len(reads) == 3 and len(forks) == 1
    assert read_server.running() is None  # retired after w.h5, the last file
    assert [(Path(r.path).name, [f.rule for f in r.findings]) for r in results] == [
        ("model.h5", []), ("w.h5", ["not-a-model"])]


def test_the_deadline_says_what_is_known_not_corruption() -> None:
    """A read past max_read_seconds is reported as unfinished, with the setting to raise."""
    with pytest.raises(LoadError) as caught:
        isolated(lambda: time.sleep(5), 0.2)
    message = str(caught.value)
    assert "did not finish within 0.2 s (max_read_seconds)" in message
    assert "max-read-seconds" in message and "corrupt" not in message


def test_an_hdf5_backed_model_is_checked_whole_in_one_read_child(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A named .keras file: one fork, only findings come back, the same as checking it directly."""
    model = FIXTURES / "keras" / "units16_weights32.keras"
    expected = check_path(model, "m.keras").findings
    assert expected  # a file with findings, so that the comparison means something
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    answers: list[object] = []
    real_answer = isolation._answer

    def recording_answer(data: bytes) -> object:
        answers.append(real_answer(data))
        return answers[-1]

    read_server.stop_server()  # the read for this file forks the server
    monkeypatch.setattr(os, "fork", counting_fork)
    monkeypatch.setattr(isolation, "_answer", recording_answer)
    [result] = check_all([Target(path=model, display="m.keras")], DEFAULT, jobs=1)
    assert len(forks) == 1 and result.findings == expected
    # Only the findings crossed the pipe: the parent never unpickled the model.
    assert [type(answer).__name__ for answer in answers] == ["FileResult"]


def test_a_check_collects_less_often_and_restores_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """During a check the young generation's threshold is raised; after it, as it was."""
    import gc

    from graphcheck import engine

    seen: list[tuple[int, int, int]] = []
    loaded = engine.load

    def spying(path: Path, weights: Path | None = None) -> object:
        seen.append(gc.get_threshold())
        return loaded(path, weights)

    monkeypatch.setattr(engine, "load", spying)
    before = gc.get_threshold()
    gc.set_threshold(700, before[1], before[2])
    try:
        result = check_path(FIXTURES / "onnx" / "keras_lstm.onnx", "m.onnx", DEFAULT)
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)
    assert result.model is not None
    assert seen == [(engine.ANALYSIS_GC_THRESHOLD, before[1], before[2])]
    assert after == (700, before[1], before[2])
