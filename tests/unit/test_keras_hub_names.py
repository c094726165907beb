"""keras_hub layers are found by registered name, in .keras (class + module) and .h5 (whole name) form."""

from __future__ import annotations

from typing import Any

import pytest

from graphcheck.rules import Case
from graphcheck.rules.cases import layer, sequential
from tests.helpers import run_case

HUB_MODULE = "keras_hub.src.layers.modeling.rms_normalization"


def _rms(class_name: str, module: str | None, **config: Any) -> dict[str, Any]:
    """Return an RMSNormalization entry as a .keras (module given) or legacy .h5 file records it."""
    return {**layer(class_name, "rms", **config), **({"module": module} if module else {})}


def _found(*layers: dict[str, Any]) -> set[tuple[str | None, str]]:
    """Analyse a (batch, 6, 8) Sequential of ``layers`` and return its (node, rule) findings."""
    result = run_case(Case(model=sequential([None, 6, 8], *layers)))
    return {(f.node, f.rule) for f in result.findings}


@pytest.mark.parametrize(("class_name", "module"), [("RMSNormalization", HUB_MODULE),
                                                    ("keras_hub>RMSNormalization", None),
                                                    ("RMSNormalization", "keras_nlp.src.layers.x")])
def test_keras_hub_rms_normalization_reads_input_dim(class_name: str, module: str | None) -> None:
    """keras_hub's RMSNormalization sizes its scale by input_dim, which must be the last axis."""
    assert _found(_rms(class_name, module, input_dim=8)) == set()
    assert ("rms", "input-dim-mismatch") in _found(_rms(class_name, module, input_dim=5))


def test_keras_own_rms_normalization_is_not_read_as_keras_hub() -> None:
    """Keras's RMSNormalization (axis, no input_dim) keeps its own shape function."""
    assert _found(_rms("RMSNormalization", "keras.layers", axis=-1)) == set()


def test_unknown_package_falls_back_to_the_class_name() -> None:
    """A package graphcheck has no function for is looked up by its class name, as before."""
    found = _found(layer("Dense", "dense", units=3) | {"module": "my_package.layers"})
    assert found == {("dense", "unsafe-code")}  # code from outside Keras, but its shapes are known
