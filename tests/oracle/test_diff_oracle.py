"""``graphcheck diff`` against numbers: Keras predict and onnxruntime on the same seeded input.

For every pair in ``fixtures/diff/manifest.json`` (a tf_keras model and an export, faithful or
broken the way converter bugs break them), both models run on one input; diff must report a
difference exactly when the outputs differ, and name the cause the fixture script's edit made.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from graphcheck.compare import NOT_VERIFIED, run

HERE = Path(__file__).resolve().parents[2] / "fixtures" / "diff"
PAIRS = json.loads((HERE / "manifest.json").read_text())["pairs"]
# What each cause the fixture script made must make the message say.
NAMED = {"gates-swapped": "gate", "bias-both-halves": "both halves of B",
         "recurrent-transposed": "recurrent kernel is transposed",
         "kernel-transposed": "the kernel is transposed", "direction": "direction is",
         "linear-before-reset": "linear_before_reset is",
         "directions-swapped": "forward and backward weights are exchanged",
         "dense-weights": "Dense 'dense'", "sequence-order": "no ReverseSequence reverses Y",
         "last-step": "takes Y's last time step", "time-major": "is time-major",
         "activation": "the layer applies relu"}


@cache
def keras_output(reference: str) -> Any:
    """Return the reference model's output on the seeded input (Keras 3 or tf_keras, as saved)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if reference.startswith("keras3"):
        import keras as framework
    else:
        import tf_keras as framework

    model = framework.models.load_model(HERE / reference, compile=False)
    return model.predict([seeded_input(i) for i in range(len(model.inputs))], verbose=0)


def seeded_input(index: int) -> Any:
    """Return the model's ``index``-th input, the same for both models: (2, 5, 3) seeded floats."""
    import numpy as np

    return np.random.default_rng(index).uniform(-1, 1, (2, 5, 3)).astype(np.float32)


def onnx_output(candidate: str) -> Any:
    """Return the export's output on the seeded inputs (onnxruntime, CPU)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(HERE / candidate), providers=["CPUExecutionProvider"])
    feeds = {i.name: seeded_input(index) for index, i in enumerate(session.get_inputs())}
    return session.run(None, feeds)[0]


def outputs_differ(pair: dict[str, Any]) -> bool:
    """Return True when the two models compute different outputs (float32 round-off aside)."""
    import numpy as np

    expected, actual = keras_output(pair["reference"]), onnx_output(pair["candidate"])
    return bool(expected.shape != actual.shape or not np.allclose(expected, actual, atol=1e-5))


@pytest.mark.oracle
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p['reference']}-{p['candidate']}")
def test_diff_reports_a_difference_exactly_when_outputs_differ(pair: dict[str, Any]) -> None:
    """The verdict agrees with running both models; a broken export's cause is named."""
    report = run(HERE / pair["reference"], HERE / pair["candidate"])
    differs = outputs_differ(pair)
    assert (not report.equivalent) == differs, [f.message for f in report.findings]
    if pair["cause"] is not None:
        assert any(NAMED[pair["cause"]] in f.message for f in report.findings), report.findings
    elif report.verdict == NOT_VERIFIED:  # a lowered loop: said so, and nothing claimed
        assert all(f.rule == "export-not-verified" for f in report.findings)


EXPORT_PAIRS = [p for p in PAIRS if p["cause"] is not None and "." in p["candidate"].removesuffix(".onnx")]


@pytest.mark.oracle
@pytest.mark.parametrize("pair", EXPORT_PAIRS, ids=lambda p: p["candidate"])
def test_onnx_against_onnx_agrees_with_onnxruntime(pair: dict[str, Any]) -> None:
    """Each broken export against the faithful one: diff says differs exactly when ORT's outputs do."""
    import numpy as np

    faithful = pair["candidate"].split(".")[0] + ".onnx"
    report = run(HERE / faithful, HERE / pair["candidate"])
    expected, actual = onnx_output(faithful), onnx_output(pair["candidate"])
    differs = expected.shape != actual.shape or not np.allclose(expected, actual, atol=1e-5)
    assert (not report.equivalent) == differs, [f.message for f in report.findings]


@pytest.mark.oracle
def test_every_cause_and_both_verdicts_are_covered() -> None:
    """The manifest exercises every named cause, faithful exports and lowered loops."""
    causes = {p["cause"] for p in PAIRS}
    assert set(NAMED) | {None} == causes
    assert sum(p["cause"] is None for p in PAIRS) >= 10
