"""``graphcheck diff`` without TensorFlow: weight transforms, causes, correspondence, pair cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphcheck.compare import DiffError, run
from graphcheck.compare.transforms import explain_bias, explain_matrix, onnx_matrix
from graphcheck.recurrent_facts import GRU, LSTM, SIMPLE
from graphcheck.rules.export import PairRule
from graphcheck.rules.registry import all_rules
from tests import diff_cases as cases

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "diff"
U = cases.UNITS


def pair_rules() -> list[type[PairRule]]:
    """Return the registered export rules."""
    return [r for r in all_rules() if issubclass(r, PairRule)]


def test_export_rules_are_registered_with_codes_and_pair_cases() -> None:
    """GC601-GC605 are registered, each with valid and invalid pair cases that exist."""
    rules = pair_rules()
    assert [r.code for r in rules] == ["GC601", "GC602", "GC603", "GC604", "GC605"]
    for rule in rules:
        assert rule.PAIR_VALID and rule.PAIR_INVALID
        assert set(rule.PAIR_VALID + rule.PAIR_INVALID) <= set(cases.CASES)


@pytest.mark.parametrize(("rule", "name"), [(r, n) for r in pair_rules() for n in r.PAIR_VALID],
                         ids=lambda x: x if isinstance(x, str) else x.name)
def test_valid_pair_case_is_silent(rule: type[PairRule], name: str, tmp_path: Path) -> None:
    """A VALID pair gets no finding from its rule."""
    report = run(*cases.CASES[name](tmp_path))
    assert [f.message for f in report.findings if f.rule == rule.name] == []


@pytest.mark.parametrize(("rule", "name"), [(r, n) for r in pair_rules() for n in r.PAIR_INVALID],
                         ids=lambda x: x if isinstance(x, str) else x.name)
def test_invalid_pair_case_fires_on_the_layer(rule: type[PairRule], name: str, tmp_path: Path) -> None:
    """An INVALID pair gets its rule's finding on the layer, saying the expected cause."""
    report = run(*cases.CASES[name](tmp_path))
    hits = [f for f in report.findings if f.rule == rule.name and f.node == "lstm"]
    assert len(hits) == 1, report.findings
    assert cases.PHRASES[name] in hits[0].message


def test_onnx_gate_order_is_the_specs() -> None:
    """The facts table maps ONNX LSTM i, o, f, c to Keras blocks 0, 3, 1, 2; GRU keeps z, r, h."""
    assert LSTM.onnx_order() == tuple(cases.ONNX_FROM_KERAS["LSTM"])
    assert GRU.onnx_order() == (0, 1, 2) and SIMPLE.onnx_order() == (0,)


def _keras(gates: int, rows: int, seed: int = 0) -> np.ndarray:
    """Return a seeded Keras-layout weight (rows, gates * U)."""
    return np.random.default_rng(seed).uniform(-1, 1, (rows, gates * U))


def test_right_conversion_has_no_cause() -> None:
    """W and R converted as the spec says match; so does B with Rb zero or split anyhow."""
    kernel, recurrent, bias = (a.astype(np.float64) for a in cases.keras_weights("LSTM"))
    onnx = cases.to_onnx("LSTM", kernel, recurrent, bias)
    assert explain_matrix(onnx["W"][0], kernel, LSTM, U, 0.0, "W") is None
    assert explain_matrix(onnx["R"][0], recurrent, LSTM, U, 0.0, "R") is None
    b = onnx["B"][0]
    assert explain_bias(b[:16], b[16:], bias, LSTM, U, 0.0) is None
    assert explain_bias(b[:16] / 2, b[:16] / 2, bias, LSTM, U, 0.0) is None  # any split adds up


@pytest.mark.parametrize(("a", "b", "letters"), [(0, 2, "i and f"), (1, 3, "o and c"), (0, 1, "i and o")])
def test_each_swapped_pair_of_gates_is_named(a: int, b: int, letters: str) -> None:
    """Swapping two ONNX gate blocks is found and the two gates are named."""
    kernel = _keras(4, 3)
    right = onnx_matrix(kernel, LSTM.onnx_order(), U)
    swapped = right.copy()
    block_a, block_b = slice(a * U, (a + 1) * U), slice(b * U, (b + 1) * U)
    swapped[block_a], swapped[block_b] = right[block_b], right[block_a]
    cause = explain_matrix(swapped, kernel, LSTM, U, 0.0, "W")
    assert cause is not None and cause.text == f"gates {letters} are swapped"


def test_keras_gate_order_left_in_place_is_named() -> None:
    """Blocks in Keras's i, f, c, o order are told apart from a single swap."""
    kernel = _keras(4, 3)
    cause = explain_matrix(kernel.T.copy(), kernel, LSTM, U, 0.0, "W")
    assert cause is not None and cause.slug == "gates-swapped" and "Keras's order" in cause.text


def test_transposed_recurrent_blocks_are_named_and_a_non_square_kernel_is_not_called_transposed() -> None:
    """R's square blocks stored untransposed are found; a (3, 16) kernel cannot be."""
    recurrent = _keras(4, U)
    cause = explain_matrix(onnx_matrix(recurrent, LSTM.onnx_order(), U, transpose_blocks=True),
                           recurrent, LSTM, U, 0.0, "R")
    assert cause is not None and cause.slug == "recurrent-transposed"
    kernel = _keras(4, 3)
    noise = onnx_matrix(kernel, LSTM.onnx_order(), U) + 0.5
    cause = explain_matrix(noise, kernel, LSTM, U, 0.0, "W")
    assert cause is not None and cause.slug == "values"


def test_tolerance_accepts_small_differences_and_says_so_without_it() -> None:
    """A 1e-4 difference fails exact comparison with a hint to --atol, passes with atol 1e-3."""
    kernel = _keras(1, 3)
    lossy = onnx_matrix(kernel, (0,), U) + 1e-4
    cause = explain_matrix(lossy, kernel, SIMPLE, U, 0.0, "W")
    assert cause is not None and "--atol" in cause.text
    assert explain_matrix(lossy, kernel, SIMPLE, U, 1e-3, "W") is None


def test_bias_causes() -> None:
    """Doubled bias, Rb noise, and a reset_after GRU's biases swapped or summed are named."""
    bias = _keras(4, 1)[0]
    right = bias[[*range(0, 4), *range(12, 16), *range(4, 12)]]
    assert explain_bias(right, right, bias, LSTM, U, 0.0).slug == "bias-both-halves"  # type: ignore[union-attr]
    cause = explain_bias(right, np.full(16, 0.3), bias, LSTM, U, 0.0)
    assert cause is not None and cause.text.startswith("Rb is not zero and Wb + Rb differs")
    two = _keras(3, 2)
    assert explain_bias(two[1], two[0], two, GRU, U, 0.0).slug == "bias-swapped"  # type: ignore[union-attr]
    assert explain_bias(two[0] + two[1], np.zeros(12), two, GRU, U, 0.0).slug == "bias-summed"  # type: ignore[union-attr]
    assert explain_bias(two[0], two[1], two, GRU, U, 0.0) is None


def test_matching_falls_back_to_structure_when_names_say_nothing(tmp_path: Path) -> None:
    """An LSTM named LSTM__7 behind unnamed nodes still pairs with the one LSTM layer."""
    ref, weights = cases.reference(tmp_path)
    cand = cases.onnx_file(tmp_path / "c.onnx", "LSTM", cases.to_onnx("LSTM", *weights), name="LSTM__7")
    report = run(ref, cand)
    assert [(p.reference, p.candidate, p.status) for p in report.pairs] == [
        ("lstm", ("LSTM__7",), "equivalent")]


def test_a_recurrent_node_of_another_size_is_unmatched_on_both_sides(tmp_path: Path) -> None:
    """Neither side is forced into a pair: the layer and the node are both reported."""
    ref, weights = cases.reference(tmp_path)
    cand = cases.onnx_file(tmp_path / "c.onnx", "GRU", {k: v[:, :3 * U] if k != "B" else v[:, :6 * U]
                                                        for k, v in cases.to_onnx("LSTM", *weights).items()},
                           name="GRU__1")
    report = run(ref, cand)
    missing = sorted((f.node or "") for f in report.findings if f.rule == "export-missing-layer")
    assert missing == ["GRU__1", "lstm"]


def test_dense_pairs_with_gemm_and_a_transposed_kernel_is_named(tmp_path: Path) -> None:
    """Gemm(transB=1) holding the kernel transposed matches; MatMul with it transposed does not."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    kernel = np.random.default_rng(0).uniform(-1, 1, (3, 3)).astype(np.float32)
    bias = np.arange(3, dtype=np.float32)
    layer = {"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "linear"}}
    ref = cases.keras_file(tmp_path / "d.keras", [layer], {"dense/vars/0": kernel, "dense/vars/1": bias})
    for name, op, stored, attrs, verdict in (
            ("gemm", "Gemm", kernel.T, {"transB": 1}, "equivalent"),
            ("matmul", "Gemm", kernel.T, {}, "differs")):
        node = helper.make_node(op, ["x", "k", "b"], ["y"], name=f"case/dense/{op}", **attrs)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
        graph = helper.make_graph([node], "g", [x],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                                  [numpy_helper.from_array(stored, "k"), numpy_helper.from_array(bias, "b")])
        onnx.save(helper.make_model(graph), tmp_path / f"{name}.onnx")
        report = run(ref, tmp_path / f"{name}.onnx")
        assert [p.status for p in report.pairs if p.reference == "dense"] == [verdict]
        if verdict == "differs":
            assert any("kernel is transposed" in f.message for f in report.findings)


def test_legacy_h5_and_keras_zip_read_the_same_values() -> None:
    """The tf_keras .h5 and .keras of one model both match the faithful export."""
    for ref in ("lstm.h5", "lstm.keras"):
        assert run(FIXTURES / ref, FIXTURES / "lstm.onnx").verdict == "equivalent"


def test_files_that_cannot_be_compared_raise_diff_error(tmp_path: Path) -> None:
    """A missing file, a non-model, an architecture without weights and an export as the reference."""
    (tmp_path / "notes.txt").write_text("hello")
    for ref, cand in ((tmp_path / "absent.keras", FIXTURES / "lstm.onnx"),
                      (FIXTURES.parent / "keras" / "question.json", FIXTURES / "lstm.onnx"),
                      (FIXTURES / "lstm.h5", tmp_path / "notes.txt"),
                      (FIXTURES / "lstm.onnx", FIXTURES / "lstm.h5")):
        with pytest.raises(DiffError):
            run(ref, cand)


def test_unverified_layers_give_the_not_verified_verdict() -> None:
    """A SimpleRNN lowered into a Loop is a note and the verdict says not verified."""
    report = run(FIXTURES / "simple.h5", FIXTURES / "simple.onnx")
    assert report.equivalent and report.verdict == "not verified"
    assert [f.rule for f in report.findings] == ["export-not-verified"]


def test_onnx_against_onnx_names_the_same_causes(tmp_path: Path) -> None:
    """Two exports: identical is equivalent; swapped gates and a flipped direction are named."""
    _, weights = cases.reference(tmp_path)
    right = cases.onnx_file(tmp_path / "a.onnx", "LSTM", cases.to_onnx("LSTM", *weights))
    assert run(right, right).verdict == "equivalent"
    swapped = cases.to_onnx("LSTM", *weights)
    cases.swap_blocks("LSTM", 0, 2)(swapped)
    broken = cases.onnx_file(tmp_path / "b.onnx", "LSTM", swapped, name="LSTM__9")
    [finding] = run(right, broken).findings
    assert finding.rule == "export-weight-mismatch" and "gates i and f are swapped" in finding.message
    flipped = cases.onnx_file(tmp_path / "c.onnx", "LSTM", cases.to_onnx("LSTM", *weights),
                              direction="reverse")
    [finding] = run(right, flipped).findings
    assert "direction is 'reverse' in the candidate, 'forward' in the reference" in finding.message


def test_onnx_against_onnx_accepts_another_split_of_an_lstm_bias(tmp_path: Path) -> None:
    """Moving bias between Wb and Rb changes nothing for an LSTM (an optimiser may do it)."""
    _, weights = cases.reference(tmp_path)
    tensors = cases.to_onnx("LSTM", *weights)
    right = cases.onnx_file(tmp_path / "a.onnx", "LSTM", tensors)
    half = tensors["B"].shape[1] // 2
    tensors["B"] = np.concatenate([tensors["B"][:, :half] / 2, tensors["B"][:, :half] / 2], axis=1)
    assert run(right, cases.onnx_file(tmp_path / "b.onnx", "LSTM", tensors)).verdict == "equivalent"


def test_keras_against_keras_compares_config_and_values(tmp_path: Path) -> None:
    """A re-save with one changed weight value and go_backwards flipped is reported twice."""
    ref, weights = cases.reference(tmp_path)
    kernel, recurrent, bias = weights
    layer = cases.recurrent_layer("LSTM", go_backwards=True)
    cand = cases.keras_file(tmp_path / "cand.keras", [layer], {
        "lstm/cell/vars/0": kernel, "lstm/cell/vars/1": recurrent + 0.5, "lstm/cell/vars/2": bias})
    found = {f.rule: f.message for f in run(ref, cand).findings}
    assert set(found) == {"export-semantics-mismatch", "export-weight-mismatch"}
    assert "go_backwards is True in the candidate" in found["export-semantics-mismatch"]
    assert "weight #1 (cell/vars/1)" in found["export-weight-mismatch"]
    assert run(ref, ref).verdict == "equivalent"


def test_corrupt_tensors_and_files_give_notes_or_diff_errors(tmp_path: Path) -> None:
    """A W whose bytes do not fill its dims is a not-verified note; a truncated file a DiffError."""
    import onnx

    model = onnx.load(FIXTURES / "lstm.onnx")
    for tensor in model.graph.initializer:
        if tensor.name.startswith("W0"):
            tensor.raw_data = tensor.raw_data[:10]
    onnx.save(model, tmp_path / "bad.onnx")
    report = run(FIXTURES / "lstm.h5", tmp_path / "bad.onnx")
    assert [(f.rule, f.node) for f in report.findings] == [("export-not-verified", "lstm")]
    (tmp_path / "cut.onnx").write_bytes((FIXTURES / "lstm.onnx").read_bytes()[:1000])
    with pytest.raises(DiffError, match="not a readable ONNX"):
        run(FIXTURES / "lstm.h5", tmp_path / "cut.onnx")


def test_keras3_traced_scopes_are_read_with_their_suffix_stripped() -> None:
    """Keras 3's export writes model_1/lstm_1 for layer lstm and lstm_1_1 for layer lstm_1."""
    from onnx import helper

    from graphcheck.compare.onnx_view import layer_names

    def graph(*names: str) -> object:
        return helper.make_model(helper.make_graph(
            [helper.make_node("Identity", ["a"], ["b"], name=n) for n in names], "g", [], []))
    traced = layer_names(graph("model_1/lstm_1/transpose", "model_1/lstm_1_1/transpose"), "model",
                         ["lstm", "lstm_1"])
    assert traced.traced and [traced.layer("lstm_1"), traced.layer("lstm_1_1")] == ["lstm", "lstm_1"]
    plain = layer_names(graph("model/lstm_1/transpose"), "model", ["lstm", "lstm_1"])
    assert not plain.traced and plain.layer("lstm_1") == "lstm_1"


def test_a_layer_unrolled_into_plain_ops_is_a_note() -> None:
    """tf_keras unroll=True exports MatMul/Sigmoid/... named after the layer: not verified, not missing."""
    report = run(FIXTURES / "unrolled.h5", FIXTURES / "unrolled.onnx")
    assert [f.rule for f in report.findings] == ["export-not-verified"]
    [pair] = report.pairs
    assert pair.status == "not verified" and len(pair.candidate) > 10


def test_a_node_whose_outputs_nobody_reads_is_reported(tmp_path: Path) -> None:
    """return_state with Y_c dropped (unused) is fine; a node none of whose outputs is read is not."""
    import onnx

    _, weights = cases.reference(tmp_path)
    ref = cases.keras_file(tmp_path / "state.keras", [cases.recurrent_layer("LSTM", return_state=True)],
                           {f"lstm/cell/vars/{i}": w for i, w in enumerate(weights)})
    cand = cases.onnx_file(tmp_path / "a.onnx", "LSTM", cases.to_onnx("LSTM", *weights))
    assert not [f for f in run(ref, cand).findings if f.rule == "export-semantics-mismatch"]
    model = onnx.load(cand)
    next(n for n in model.graph.node if n.op_type == "Squeeze").input[0] = "x_t"  # Y_h unread
    onnx.save(model, tmp_path / "b.onnx")
    report = run(ref, tmp_path / "b.onnx")
    found = [f.message for f in report.findings if f.rule == "export-semantics-mismatch"]
    assert len(found) == 1 and "nothing reads any of the node's outputs (Y, Y_h, Y_c)" in found[0]


def test_time_major_outputs_are_told_apart_from_a_dynamic_batch() -> None:
    """(5, N, 4) against (None, 5, 4) is time-major; (N, 5, 4) and (2, 5, 4) are not."""
    from graphcheck.compare.shapes import agree, time_major

    assert time_major((None, 5, 4), (5, "N", 4))
    assert not time_major((None, 5, 4), ("N", 5, 4)) and not time_major((None, 5, 4), (2, 5, 4))
    assert agree((None, 5, 4), ("N", 5, 4)) and not agree((None, 5, 4), ("N", 5, 8))


def test_onnx_files_over_the_byte_limit_are_not_parsed() -> None:
    """The ONNX protobuf is held whole, so max_onnx_bytes bounds it; over it, diff says so."""
    from dataclasses import replace

    from graphcheck.limits import DEFAULT, using

    with using(replace(DEFAULT, max_onnx_bytes=1000)), pytest.raises(DiffError, match="max_onnx_bytes"):
        run(FIXTURES / "lstm.h5", FIXTURES / "lstm.onnx")
