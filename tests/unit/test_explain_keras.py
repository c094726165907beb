"""``graphcheck explain`` never contradicts itself (or Keras) on Keras recurrent layers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.engine import check_path
from graphcheck.explanations.build import build
from graphcheck.explanations.report import NodeReport

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KERAS_FILES = sorted(p for folder in ("keras", "tf_keras", "rules")
                     for p in (FIXTURES / folder).iterdir() if p.suffix in (".keras", ".h5"))


def views(relative: str | Path) -> dict[str, NodeReport]:
    """Return explain's report of each layer of a fixture, by layer name."""
    result = check_path(FIXTURES / relative, str(relative))
    assert result.model is not None and result.inference is not None, result.findings
    return {v.name: v for v in build(result).nodes}


def story(relative: str, layer: str) -> str:
    """Return one layer's explanation as text."""
    return "\n".join(views(relative)[layer].story)


@pytest.mark.parametrize("path", KERAS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_story_counts_what_the_table_counts(path: Path) -> None:
    """Each story's parameter total is the table's, or it says why (stored weights differ)."""
    for view in views(path).values():
        text = view.story
        if not text:
            continue
        assert "None timesteps" not in "\n".join(text)
        totals = [line for line in text if line.startswith("  parameters")
                  or line.startswith("  The table counts")]
        assert view.params is not None and any(f"{view.params:,}" in t for t in totals), text


def test_stored_weights_are_shown_beside_the_implied_ones() -> None:
    """An LSTM edited from 32 to 16 units: both shapes per weight, and the table's count (stored) is named."""
    view = views("keras/units16_weights32.keras")["lstm"]
    text = "\n".join(view.story)
    assert "kernel                     implied (64, 64), stored (64, 128)" in text
    assert f"The table counts the stored weights ({view.params:,} parameters)" in text
    assert f"the config implies {4 * 16 * (64 + 16 + 1):,}" in text


@pytest.mark.parametrize(("relative", "header"), [
    ("keras/asymmetric_bidirectional.keras", "Bidirectional(forward LSTM, backward LSTM)"),
    ("keras/functional.keras", "Bidirectional(forward LSTM, backward GRU)")])
def test_asymmetric_bidirectional_is_explained_per_direction(relative: str, header: str) -> None:
    """Different directions get a block each; forward + backward equals the table."""
    view = views(relative)["bi"]
    text = "\n".join(view.story)
    assert header in text and "  forward: " in text and "  backward: " in text
    [(forward, backward, total)] = re.findall(
        r"parameters = forward ([\d,]+) \+ backward ([\d,]+) = ([\d,]+)", text)
    count = [int(n.replace(",", "")) for n in (forward, backward, total)]
    assert count[0] + count[1] == count[2] == view.params
    widths = [cell.units for cell in view.cells]
    assert [cell.label for cell in view.cells] == ["forward", "backward"]
    width = view.output_shapes[0][-1] if view.output_shapes[0] else None
    assert f"widths add up: {widths[0]} + {widths[1]} = {width})" in text


def test_a_dynamic_time_axis_reads_variable() -> None:
    """(None, None, 9) is 'a variable number of timesteps', never 'None timesteps'."""
    text = story("rules/ok_seq2seq_teacher_forcing.keras", "decoder")
    assert "a variable number of timesteps" in text and "None timesteps" not in text


def test_conv_lstm_gets_the_recurrent_explanation() -> None:
    """ConvLSTM1D/2D/3D: filters as units, kernel shapes and the formula with Keras's numbers."""
    found = views("rules/ok_conv_lstm.keras")
    for name in ("conv_lstm1d", "conv_lstm2d", "conv_lstm3d"):
        text = "\n".join(found[name].story)
        assert "plays the role of units" in text and "kernel_size + (channels, 4*filters)" in text
        assert f"= {found[name].params:,}, where k = " in text
    assert "each a row of 10 positions with 3 channels" in story(
        "rules/ok_conv_lstm.keras", "conv_lstm1d")


def test_a_wrong_initial_state_keeps_the_output_keras_gives() -> None:
    """Keras builds LSTM(8) given 16-wide states as (None, 8): the table says so too."""
    view = views("rules/initial_state_mismatch.keras")["decoder"]
    assert view.output_shapes == ((None, 8),)
    expected = json.loads((FIXTURES / "rules" / "expected.json").read_text())
    assert expected["initial-state-mismatch"]["node"] == "decoder"


def test_a_sum_of_unequal_directions_keeps_the_shape_keras_gives() -> None:
    """Bidirectional(LSTM(5), backward LSTM(3), merge_mode='sum'): an error, output still known."""
    result = check_path(FIXTURES / "rules" / "bidirectional_sum_mismatch.keras", "sum")
    assert [(f.rule, f.node) for f in result.findings] == [("input-dim-mismatch", "bi")]
    assert views("rules/bidirectional_sum_mismatch.keras")["bi"].output_shapes == ((None, 5),)


def test_separate_directions_are_two_outputs_then_four_states() -> None:
    """merge_mode=None with return_state: forward and backward outputs, then 2 states each."""
    text = story("rules/ok_bidirectional_separate.keras", "bi")
    assert "output (None, 5), (None, 5): return_sequences=False" in text
    assert "the final states follow: (None, 5), (None, 5), (None, 5), (None, 5)." in text


def test_explain_json_carries_each_models_findings() -> None:
    """`explain --format json` lists the model's findings with check's keys."""
    out = CliRunner().invoke(main, ["explain", "--format", "json",
                                    str(FIXTURES / "rules" / "initial_state_mismatch.keras"),
                                    str(FIXTURES / "rules" / "ok_question.keras")]).stdout
    broken, ok = json.loads(out)
    assert [(f["rule"], f["node"], f["severity"]) for f in broken["findings"]] == [
        ("initial-state-mismatch", "decoder", "error")]
    assert ok["findings"] == []


@pytest.mark.oracle
@pytest.mark.parametrize("relative", ["rules/ok_conv_lstm.keras", "rules/initial_state_mismatch.keras",
                                      "rules/ok_seq2seq_teacher_forcing.keras",
                                      "rules/bidirectional_sum_mismatch.keras",
                                      "rules/ok_bidirectional_separate.keras"])
def test_oracle_keras_agrees_with_the_table(relative: str) -> None:
    """Keras 3 loads the file; each layer's shapes and parameters equal graphcheck's table."""
    import keras

    from tests.oracle_support import analyse, keras_rows, mismatches

    net: Any = keras.saving.load_model(FIXTURES / relative, compile=False)
    analysis = analyse(FIXTURES / relative)
    if "mismatch" in relative:  # the error is the point of those files
        analysis = type(analysis)(rows=analysis.rows, bad=[])
    assert mismatches(dict(keras_rows(net)), analysis) == []


@pytest.mark.oracle
def test_oracle_keras_fails_to_run_the_sum_mismatch() -> None:
    """The finding is an error because predict fails, though Keras built and saved the layer."""
    import keras
    import numpy as np

    net: Any = keras.saving.load_model(FIXTURES / "rules" / "bidirectional_sum_mismatch.keras")
    with pytest.raises(ValueError):
        net.predict(np.zeros((1, 6, 4)), verbose=0)


def hostile_models() -> list[tuple[str, dict[str, Any]]]:
    """Return the recurrent rule cases plus a ConvLSTM, a CuDNN and an asymmetric Bidirectional."""
    from graphcheck.rules.cases import layer, lstm, sequential
    from tests.hostile.test_hostile_rules import keras_cases

    extra = [("conv_lstm", sequential([None, 3, 8, 8, 2], layer(
                  "ConvLSTM2D", "c", filters=3, kernel_size=[3, 3], return_sequences=True))),
             ("cudnn", sequential([None, 10, 5], layer("CuDNNGRU", "g", units=4))),
             ("asymmetric", sequential([None, 6, 4], layer(
                 "Bidirectional", "bi", layer=lstm("f", 5, return_state=True),
                 backward_layer=layer("GRU", "b", units=3, go_backwards=True), merge_mode=None)))]
    cases = [(name, dict(case.model)) for name, case in keras_cases()
             if any(k in str(case.model) for k in ("LSTM", "GRU", "SimpleRNN", "Bidirectional"))]
    return cases + extra


def test_explain_never_raises_on_wrongly_typed_recurrent_configs() -> None:
    """Each config value of those models retyped: explain answers, never raises."""
    from graphcheck.findings import LoadError
    from graphcheck.rules import Case
    from tests.helpers import run_case
    from tests.hostile.test_hostile_rules import retyped

    failures, stories = [], 0
    for name, model in hostile_models():
        for edit, changed in retyped(model):
            try:
                result = run_case(Case(model=changed))
            except LoadError:
                continue
            assert result.model is not None and result.inference is not None
            try:
                stories += sum(bool(node.story) for node in build(result).nodes)
            except Exception as exc:
                failures.append(f"{name} {edit}: {type(exc).__name__}: {exc}")
    assert failures == [] and stories > 100


def test_an_unknown_input_is_explained_from_the_stored_weights() -> None:
    """After a layer without a shape function, the story shows the file's weights and count."""
    from dataclasses import replace

    from graphcheck.engine import analyse, load

    model = load(FIXTURES / "rules" / "ok_stacked.keras")
    graph = model.root.graph
    graph.nodes["lower"]["layer"] = replace(graph.nodes["lower"]["layer"], type="MysteryLayer")
    # A .keras file also records the shapes between layers, which propagation falls back on
    # past an unknown layer; drop them so the input is unknown, as in a tf_keras .h5.
    graph.nodes["upper"]["layer"] = replace(graph.nodes["upper"]["layer"], declared_input=None)
    for _, _, data in graph.in_edges("upper", data=True):
        data["declared"] = None
    result = analyse(model, "edited")
    assert result.inference is not None
    upper = {v.name: v for v in build(result).nodes}["upper"]
    text = "\n".join(upper.story)
    assert "input unknown" in text and f"parameters (stored) = {upper.params:,}" in text
    assert upper.params == 4 * 16 * (32 + 16 + 1)
    [cell] = upper.cells
    assert (cell.units, cell.features, cell.params, cell.bias) == (16, None, upper.params, (64,))


@pytest.mark.parametrize("path", KERAS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_recurrent_layer_has_a_cell_per_direction(path: Path) -> None:
    """Cells carry the numbers the story prints; their parameters add up to the table's."""
    from graphcheck.recurrent_facts import CONV_CLASSES, KERAS_CLASSES

    for view in views(path).values():
        if not view.story:
            continue
        assert len(view.cells) == (2 if view.type == "Bidirectional" else 1), view.name
        story = "\n".join(view.story)
        for cell in view.cells:
            kind = KERAS_CLASSES[cell.layer_class]
            assert cell.kind == kind.keras and cell.gates == tuple(g.name for g in kind.keras_gates)
            if cell.features is None:  # input unknown: the file's weights, counted
                assert cell.params == view.params and "input unknown" in story
                continue
            assert f"{cell.formula} = {cell.numbers}" in story
            if cell.layer_class not in CONV_CLASSES and isinstance(cell.features, int):
                assert cell.kernel == (cell.features, kind.gates * cell.units)
                assert cell.recurrent_kernel == (cell.units, kind.gates * cell.units)
                assert cell.numbers.endswith(f"= {cell.params:,}")
        if "differ from what the config implies" not in story and all(c.params for c in view.cells):
            assert sum(c.params or 0 for c in view.cells) == view.params, view.name


def test_cells_say_direction_sequences_and_states() -> None:
    """Bidirectional(LSTM(5, return_state=True), merge_mode=None): a forward and a reversed cell."""
    bi = views("rules/ok_bidirectional_separate.keras")["bi"]
    assert [(c.label, c.reverse, c.return_state, c.return_sequences) for c in bi.cells] == [
        ("forward", False, True, False), ("backward", True, True, False)]
    assert bi.merge_mode is None
    mixed = views("keras/functional.keras")["bi"]
    assert mixed.merge_mode == "concat" and [c.kind for c in mixed.cells] == ["LSTM", "GRU"]
    question = views("keras/question.keras")["lstm"].cells[0]
    assert (question.units, question.timesteps, question.features) == (32, 10, 64)


def test_a_model_report_crosses_processes() -> None:
    """The report the worker builds is plain data: it pickles and comes back equal."""
    import pickle

    result = check_path(FIXTURES / "keras" / "functional.keras", "functional")
    report = build(result)
    assert pickle.loads(pickle.dumps(report)) == report and report.nodes


@pytest.mark.parametrize("units", [0, -1])
def test_a_zero_or_negative_size_is_explained_not_raised(units: int) -> None:
    """units=0 or -1 (Keras refuses both) still gives the table, a story and its cells."""
    from graphcheck.rules import Case
    from graphcheck.rules.cases import layer, lstm, sequential
    from tests.helpers import run_case

    for model in (sequential([None, 10, 5], layer("GRU", "g", units=units)),
                  sequential([None, 6, 4], layer("Bidirectional", "bi", layer=lstm("f", units)))):
        report = build(run_case(Case(model=model)))
        assert [len(n.cells) for n in report.nodes if n.story] in ([1], [2])
