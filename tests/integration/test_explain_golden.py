"""``graphcheck explain`` text and JSON stay byte for byte what they were.

The golden files were written by the code before explain became a package with reporters
(commit aad9f7a); a change to the output is a decision: rewrite them with
``GRAPHCHECK_UPDATE_GOLDEN=1 python -m pytest tests/integration/test_explain_golden.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
# Keras (nested, asymmetric Bidirectional, stored weights that differ, CuDNN, ConvLSTM,
# separate directions), ONNX (LSTM, bidirectional GRU, a tf2onnx Loop, a wrong bias) and a
# file that is not a model.
FILES = ["fixtures/keras/question.keras", "fixtures/keras/functional.keras",
         "fixtures/keras/units16_weights32.keras", "fixtures/tf_keras/cudnn_sequential.h5",
         "fixtures/rules/ok_conv_lstm.keras", "fixtures/rules/ok_bidirectional_separate.keras",
         "fixtures/onnx/torch_lstm.onnx", "fixtures/onnx/torch_gru_bi.onnx",
         "fixtures/onnx/keras_gru.onnx", "fixtures/onnx/broken/lstm_keras_bias.onnx",
         "fixtures/hostile/empty.keras"]


@pytest.mark.parametrize(("fmt", "golden"), [("text", "explain.txt"), ("json", "explain.json")])
def test_explain_output_is_the_golden_one(fmt: str, golden: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Table, stories, totals, findings and the error entry, exactly."""
    monkeypatch.chdir(ROOT)  # paths in the output are as given: relative
    out = CliRunner().invoke(main, ["explain", "--format", fmt, "-j", "1", *FILES]).stdout
    if os.environ.get("GRAPHCHECK_UPDATE_GOLDEN"):
        (GOLDEN / golden).write_text(out)
    assert out == (GOLDEN / golden).read_text()
