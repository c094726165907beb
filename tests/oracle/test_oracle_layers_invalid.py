"""Oracle for broken configs of the newer layers: where Keras refuses an edit, graphcheck says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path
from graphcheck.findings import Severity
from tests.oracle.test_shapes_oracle_invalid import Edit, layer_config, refused_edit_findings, setter

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="session")
def keras() -> Any:
    """Import Keras 3 once per session."""
    import keras as keras3

    return keras3


def base(k: Any) -> Any:
    """Build a valid model with the layers the edits below break."""
    L = k.layers
    q, v = k.Input((5, 8), name="q"), k.Input((7, 8), name="v")
    cat, other = k.Input((2,), name="cat", dtype="int32"), k.Input((2,), name="other", dtype="int32")
    outs = [L.EinsumDense("abc,cd->abd", output_shape=(5, 7), name="einsum")(q),
            L.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2,
                                  name="gqa")(q, v),
            L.HashedCrossing(4, name="cross")([cat, other]),
            L.STFTSpectrogram(frame_length=4, name="stft")(q)]
    return k.Model([q, v, cat, other], outs)


CASES: dict[str, tuple[str, Edit]] = {
    "einsum-shared-axis": ("einsum", setter("einsum", "output_shape", [4, 7])),
    "gqa-query-value": ("gqa", lambda cfg: layer_config(cfg, "v")["batch_shape"].__setitem__(2, 6)),
    "crossing-shapes": ("cross", lambda cfg: layer_config(cfg, "other")["batch_shape"].__setitem__(1, 3)),
    "stft-too-long": ("stft", setter("stft", "frame_length", 9)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_refuses_and_graphcheck_explains(keras: Any, case: str, tmp_path: Path) -> None:
    """Keras cannot rebuild the edited config; graphcheck reports an error on the layer."""
    node, edit = CASES[case]
    found = refused_edit_findings(keras, base(keras), edit, tmp_path)
    assert (node, "input-dim-mismatch") in found, found


def test_unedited_base_is_clean(keras: Any, tmp_path: Path) -> None:
    """The base model itself gets no error, so each edit is what breaks it."""
    path = tmp_path / "base.json"
    path.write_text(base(keras).to_json())
    assert [f for f in check_path(path, str(path)).findings if f.severity >= Severity.WARNING] == []


def test_lambda_is_described_not_run(keras: Any, tmp_path: Path) -> None:
    """A Lambda's output is unknown (never run); the note says what its config records."""
    inputs = keras.Input((4,))
    net = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2, output_shape=(4,), name="lam")(inputs))
    path = tmp_path / "lambda.keras"
    net.save(path)
    notes = [f.message for f in check_path(path, str(path)).findings
             if f.rule == "unsupported-layer" and f.node == "lam"]
    assert len(notes) == 1
    assert "Lambda runs a Python function" in notes[0] and "output_shape=[4]" in notes[0]
