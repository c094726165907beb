"""ONNX's own operator conformance models: valid by definition, with reference outputs.

They are written from the installed onnx package into a temporary folder and analysed as
files: the recurrent ones must get graphcheck's output shapes equal to the reference
outputs' shapes, and none of the ~1,900 may crash graphcheck or get an error finding.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path
from graphcheck.findings import Severity
from graphcheck.results import FileResult

RECURRENT_PREFIXES = ("test_lstm_", "test_gru_", "test_simple_rnn_", "test_rnn_")


@dataclass(frozen=True, kw_only=True)
class Written:
    """One conformance case on disk and the shapes of its reference outputs."""

    name: str
    path: Path
    reference: list[tuple[int, ...]]


@pytest.fixture(scope="module")
def conformance(tmp_path_factory: pytest.TempPathFactory) -> list[Written]:
    """Write every node test case's model to a temporary folder."""
    import onnx
    from onnx.backend.test.case.node import collect_testcases

    folder = tmp_path_factory.mktemp("conformance")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case generators divide by zero on purpose
        cases = collect_testcases(None)
    written = []
    for case in cases:
        path = folder / f"{case.name}.onnx"
        onnx.save_model(case.model, str(path))
        outputs: list[Any] = list(case.data_sets[0][1]) if case.data_sets else []
        written.append(Written(name=case.name, path=path,
                               reference=[tuple(getattr(o, "shape", ())) for o in outputs]))
    return written


def _analyse(case: Written) -> FileResult:
    """Analyse one written case as a file, as the CLI would."""
    return check_path(case.path, case.name)


def test_recurrent_output_shapes_equal_the_reference(conformance: list[Written]) -> None:
    """Every LSTM/GRU/RNN case: graphcheck's graph output shapes are the reference outputs' shapes."""
    recurrent = [c for c in conformance if c.name.startswith(RECURRENT_PREFIXES)]
    assert len(recurrent) >= 15
    for case in recurrent:
        result = _analyse(case)
        assert result.inference is not None, case.name
        shapes = [shape for _, shape in result.inference.outputs]
        assert shapes == case.reference, case.name


def test_no_conformance_model_crashes_or_gets_an_error(conformance: list[Written]) -> None:
    """Over all operator models: no internal error, no unreadable model, no error finding."""
    assert len(conformance) > 1500
    bad = []
    for case in conformance:
        result = _analyse(case)
        bad += [f"{case.name}: {f.rule} {f.node} {f.message}" for f in result.findings
                if f.severity >= Severity.ERROR]
    assert bad == []
