"""graphcheck on the committed Keras fixtures, against what Keras itself reported at save time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path
from graphcheck.explanations.views import nodes, total_params
from graphcheck.findings import Severity
from graphcheck.results import FileResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# (model file, expected.json written by the framework when it saved the model)
VALID = [
    ("keras/question.keras", "keras/question.expected.json"),
    ("keras/question.h5", "keras/question.expected.json"),
    ("keras/question.json", "keras/question.expected.json"),
    ("keras/question_unzipped", "keras/question.expected.json"),
    ("keras/functional.keras", "keras/functional.expected.json"),
    ("keras/functional.h5", "keras/functional.expected.json"),
    ("tf_keras/question.h5", "tf_keras/question.expected.json"),
    ("tf_keras/question.keras", "tf_keras/question.expected.json"),
    ("tf_keras/question_savedmodel", "tf_keras/question.expected.json"),
    ("tf_keras/encoder_decoder.h5", "tf_keras/encoder_decoder.expected.json"),
]


def analyse(relative: str) -> FileResult:
    """Check a fixture by its path below fixtures/."""
    return check_path(FIXTURES / relative, relative)


def views_by_name(result: FileResult) -> dict[str, Any]:
    """Return explain's per-layer views keyed by layer name."""
    assert result.model is not None and result.inference is not None, result.findings
    return {v.name: v for v in nodes(result.model, result.inference)}


@pytest.mark.parametrize(("model", "expected"), VALID)
def test_shapes_and_params_equal_keras(model: str, expected: str) -> None:
    """Every layer's output shapes and parameter count equal what Keras reported."""
    result = analyse(model)
    views = views_by_name(result)
    truth = json.loads((FIXTURES / expected).read_text())
    for layer in truth["layers"]:
        view = views[layer["name"]]
        assert [list(s) if s is not None else None for s in view.output_shapes] == \
            layer["output_shapes"], layer["name"]
        assert view.params == layer["params"], layer["name"]
    assert total_params(list(views.values())) == truth["total_params"]


@pytest.mark.parametrize(("model", "expected"), VALID)
def test_valid_models_get_no_warning_or_error(model: str, expected: str) -> None:
    """A model the framework saved and can load gets no warning or error."""
    del expected
    assert [f for f in analyse(model).findings if f.severity >= Severity.WARNING] == []


def test_units_edited_after_saving_is_a_weight_shape_mismatch() -> None:
    """units=16 in config.json with weights saved for 32: both shapes in the message."""
    findings = analyse("keras/units16_weights32.keras").findings
    lstm = [f.message for f in findings if f.rule == "weight-shape-mismatch" and f.node == "lstm"]
    assert any("(64, 128)" in m and "(64, 64)" in m and "units" in m for m in lstm), lstm
    assert len(lstm) == 3  # kernel, recurrent_kernel and bias all disagree


def test_stacked_lstm_without_return_sequences() -> None:
    """The upper LSTM receives (None, 32): rank 2 where 3 is needed."""
    findings = [f for f in analyse("keras/stacked_missing_return_sequences.keras").findings
                if f.severity == Severity.ERROR]
    assert [(f.rule, f.node) for f in findings] == [("input-rank-mismatch", "upper")]
    assert "ndim=2" in findings[0].message


def test_batch_size_inside_input_shape_gets_the_hint() -> None:
    """One dimension too many: the message asks whether the batch size went into input_shape."""
    findings = analyse("keras/batch_in_input_shape.keras").findings
    assert [(f.rule, f.node) for f in findings if f.severity == Severity.ERROR] == [
        ("input-rank-mismatch", "lstm")]
    assert "batch size" in findings[0].message


def test_units_equal_timesteps_fixture() -> None:
    """LSTM(10) over 10 timesteps: the seed question's wrong belief is named."""
    findings = analyse("keras/units_equal_timesteps.keras").findings
    assert [(f.rule, f.node) for f in findings] == [("units-equal-timesteps", "lstm")]


def test_asymmetric_bidirectional_that_keras_saves_but_cannot_run() -> None:
    """Keras sizes the head for 2*5 features, the Bidirectional gives 5+3: predict fails.

    The fixture script recorded Keras's own predict error; graphcheck must flag the same
    layer statically, with both widths.
    """
    truth = json.loads((FIXTURES / "keras/asymmetric_bidirectional.expected.json").read_text())
    assert truth["keras_predict_error"] and truth["keras_reported_bi_width"] == 10
    findings = analyse("keras/asymmetric_bidirectional.keras").findings
    td = [f.message for f in findings if f.rule == "weight-shape-mismatch" and f.node == "td"]
    assert len(td) == 1 and "(10, 2)" in td[0] and "(8, 2)" in td[0]
    views = views_by_name(analyse("keras/asymmetric_bidirectional.keras"))
    assert views["bi"].output_shapes == ((None, 6, 8),)
