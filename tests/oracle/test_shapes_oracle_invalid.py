"""Oracle for broken configs: where Keras refuses to build an edited model, graphcheck names why."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import check_path

pytestmark = pytest.mark.oracle

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="session")
def keras() -> Any:
    """Import Keras 3 once per session."""
    import keras as keras3

    return keras3


def layer_config(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the config of layer ``name`` in a Functional model's JSON."""
    return next(e["config"] for e in config["config"]["layers"] if e["config"]["name"] == name)


def setter(name: str, key: str, value: Any) -> Edit:
    """Return an edit that sets one config key of one layer."""
    return lambda config: layer_config(config, name).__setitem__(key, value)


def base(k: Any) -> Any:
    """Build a valid model using every layer the edits below break."""
    L = k.layers
    a, b, c = k.Input((6, 4), name="a"), k.Input((6, 4), name="b"), k.Input((6, 3), name="c")
    outs = [L.Reshape((3, 8), name="reshape")(a), L.Concatenate(name="concat")([a, c]),
            L.Add(name="add")([a, b]), L.Dot(axes=2, name="dot")([a, b]),
            L.Conv1D(2, 3, name="conv")(a), L.MaxPooling1D(2, name="pool")(a),
            L.Cropping1D(2, name="crop")(a), L.MultiHeadAttention(2, 2, name="mha")(a, b, c),
            L.Attention(name="att")([a, b])]
    return k.Model([a, b, c], outs)


CASES: dict[str, tuple[str, Edit]] = {
    "reshape-size": ("reshape", setter("reshape", "target_shape", [5, 5])),
    "reshape-minus-one": ("reshape", setter("reshape", "target_shape", [-1, 5])),
    "concat-axis": ("concat", setter("concat", "axis", 1)),
    "conv-too-long": ("conv", setter("conv", "kernel_size", [7])),
    "pool-too-long": ("pool", setter("pool", "pool_size", [9])),
    "crop-too-much": ("crop", setter("crop", "cropping", [3, 3])),
    "dot-axes": ("dot", setter("dot", "axes", [1, 2])),
    "add-widths": ("add", lambda cfg: layer_config(cfg, "b")["batch_shape"].__setitem__(2, 5)),
    "mha-value-key": ("mha", lambda cfg: layer_config(cfg, "c")["batch_shape"].__setitem__(1, 7)),
    "attention-dims": ("att", lambda cfg: layer_config(cfg, "b")["batch_shape"].__setitem__(2, 5)),
}


def refused_edit_findings(keras: Any, net: Any, edit: Edit, folder: Path) -> set[tuple[str | None, str]]:
    """Edit the model's config, check Keras refuses to rebuild it, return graphcheck's (node, rule)s."""
    config = json.loads(net.to_json())
    edit(config)
    with pytest.raises(Exception):  # noqa: B017 - Keras raises ValueError or TypeError by layer
        keras.models.model_from_json(json.dumps(config))
    path = folder / "edited.json"
    path.write_text(json.dumps(config))
    return {(f.node, f.rule) for f in check_path(path, str(path)).findings}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_refuses_and_graphcheck_explains(keras: Any, case: str, tmp_path: Path) -> None:
    """Keras cannot rebuild the edited config; graphcheck reports a dimension error on the layer."""
    node, edit = CASES[case]
    found = refused_edit_findings(keras, base(keras), edit, tmp_path)
    assert (node, "input-dim-mismatch") in found, found


def test_unedited_base_is_clean(keras: Any, tmp_path: Path) -> None:
    """The base model itself gets no dimension findings, so each edit is what breaks it."""
    path = tmp_path / "base.json"
    path.write_text(base(keras).to_json())
    assert [f for f in check_path(path, str(path)).findings if "mismatch" in f.rule] == []
