"""The ScaledDense shape function: graphcheck follows shapes through the custom layer."""

from __future__ import annotations

from typing import Any

from graphcheck.testing import assert_findings, check_config, layer, sequential

CUSTOM = {"module": None, "registered_name": "team>ScaledDense"}  # as Keras 3 saves it


def model(units: Any = 8) -> dict[str, Any]:
    """Return input (None, 64) -> ScaledDense(units) -> Dense(2), as a Keras 3 config."""
    scaled = {**layer("ScaledDense", "scaled", units=units), **CUSTOM}
    return sequential([None, 64], scaled, layer("Dense", "out", units=2))


WEIGHTS = {"scaled": {"vars/0": (64, 8), "vars/1": (8,), "vars/2": ()},
           "out": {"vars/0": (8, 2), "vars/1": (2,)}}


def test_the_custom_layer_is_supported() -> None:
    """With the plugin installed, ScaledDense is not an unsupported layer."""
    findings = check_config(model(), WEIGHTS)
    assert_findings(findings, {"unsupported-layer": 0, "weight-shape-mismatch": 0})


def test_its_weights_are_checked() -> None:
    """A kernel stored for another input width is a weight-shape-mismatch on the layer."""
    wrong = {**WEIGHTS, "scaled": {**WEIGHTS["scaled"], "vars/0": (32, 8)}}
    findings = check_config(model(), wrong, select=["weight-shape-mismatch"])
    assert_findings(findings, {"weight-shape-mismatch": 1}, exact=True)
    assert findings[0].node == "scaled"


def test_shapes_after_it_are_known() -> None:
    """The Dense after it is checked against ScaledDense's output width (8, not 16)."""
    wrong = {**WEIGHTS, "out": {"vars/0": (16, 2), "vars/1": (2,)}}
    findings = check_config(model(), wrong, select=["weight-shape-mismatch"])
    assert [f.node for f in findings] == ["out"]


def test_bad_units_is_reported() -> None:
    """Units that is not a positive integer is a finding on the layer, not a crash."""
    findings = check_config(model(units="eight"), select=["unreadable-model", "internal-error"])
    assert [f.node for f in findings] == ["scaled"]
    assert "config.units is 'eight', not a positive integer" in findings[0].message
