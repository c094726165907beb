"""Oracle: a model in memory gives what its saved file gives (findings, shapes, paired weights).

Each model is built by the real framework (Keras 3, tf_keras), saved by it, and checked twice:
``graphcheck.check_model(model)`` and ``graphcheck.check(saved file)``. The explanation (every
layer's shapes, parameters and the stored weights paired with it) must be equal too, so a
weight source that paired nothing, or paired wrongly, fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import graphcheck
from graphcheck.findings import Finding

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]
Builder = Callable[[Any], Any]
MODELS = ("Sequential", "Functional", "Model")  # a nested model's weights are its layers'
BUILDERS: dict[str, Builder] = {}


def model(fn: Builder) -> Builder:
    """Register a model builder (it receives the keras module: Keras 3 or tf_keras)."""
    BUILDERS[fn.__name__] = fn
    return fn


@model
def question(k: Any) -> Any:
    """Build the seed question's model: LSTM(32) over (10, 64), then Dense(2)."""
    return k.Sequential([k.Input((10, 64)), k.layers.LSTM(32), k.layers.Dense(2)], name="question")


@model
def bidirectional(k: Any) -> Any:
    """Build a Bidirectional GRU returning sequences into a Dense (sequence-into-dense fires)."""
    inputs = k.Input((7, 5))
    x = k.layers.Bidirectional(k.layers.GRU(6, return_sequences=True), merge_mode="concat")(inputs)
    return k.Model(inputs, k.layers.Dense(3)(x), name="bidirectional")


@model
def nested(k: Any) -> Any:
    """Build a functional model holding a Sequential encoder (LSTM, BatchNorm) and a second LSTM."""
    inner = k.Sequential([k.Input((12, 4)), k.layers.LSTM(8, return_sequences=True, name="enc_lstm"),
                          k.layers.BatchNormalization(name="enc_bn")], name="encoder")
    inputs = k.Input((12, 4))
    x = k.layers.LSTM(5, name="dec_lstm")(inner(inputs))
    return k.Model(inputs, k.layers.Dense(1, name="head")(x), name="outer")


@model
def units_equal_timesteps(k: Any) -> Any:
    """Build SimpleRNN(10) over 10 timesteps: a warning, so findings are compared, not only their absence."""
    return k.Sequential([k.Input((10, 3)), k.layers.SimpleRNN(10), k.layers.Dense(1)], name="uet")


def _framework(name: str) -> Any:
    """Import Keras 3 or tf_keras (only this test module does)."""
    import importlib
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    module = importlib.import_module(name)
    module.utils.set_random_seed(0)
    return module


def _same(findings: tuple[Finding, ...]) -> list[tuple[str, str, str, str | None, str]]:
    """Return findings without their path (a file's name, the object's display name)."""
    return sorted((f.code, f.rule, str(f.severity), f.node, f.message) for f in findings)


def _without_path(document: dict[str, Any]) -> dict[str, Any]:
    """Return an explain element without its path and its findings' paths."""
    findings = [{k: v for k, v in f.items() if k != "path"} for f in document["findings"]]
    return {**{k: v for k, v in document.items() if k != "path"}, "findings": findings}


@pytest.mark.parametrize(("framework", "suffix"), [("keras", ".keras"), ("tf_keras", ".h5")])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_keras_model_in_memory_equals_its_file(framework: str, suffix: str, name: str,
                                                tmp_path: Path) -> None:
    """check_model/explain_model on the object equal check/explain on the file it saves."""
    k = _framework(framework)
    built = BUILDERS[name](k)
    path = tmp_path / f"{name}{suffix}"
    built.save(path)
    in_memory, on_disk = graphcheck.check_model(built), graphcheck.check(path)
    assert _same(in_memory.findings) == _same(on_disk.findings)
    assert in_memory.exit_code == on_disk.exit_code
    explained = graphcheck.explain_model(built).to_dict()
    assert _without_path(explained) == _without_path(graphcheck.explain(path).to_dict())
    layers = [n for n in explained["nodes"] if n["params"] and n["type"] not in MODELS]
    assert layers and all(n["weights"] for n in layers), "every layer's stored weights are paired"


@pytest.mark.parametrize("framework", ["keras", "tf_keras"])
def test_weights_come_from_the_object(framework: str) -> None:
    """Each layer's stored weights are read from the object (shapes from its variables)."""
    from graphcheck.loaders.memory import keras_model

    built = nested(_framework(framework))
    layers = {name: layer for name, layer in keras_model(built, "x").root.walk()}
    stored = [w.shape for w in layers["encoder/enc_lstm"].weights or ()]
    assert stored == [(4, 32), (8, 32), (32,)]


def test_a_subclassed_model_is_a_finding() -> None:
    """A subclassed model has no config: an unreadable-model finding saying so, no traceback."""
    k = _framework("keras")

    class Custom(k.Model):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.dense = k.layers.Dense(2)

        def call(self, inputs: Any) -> Any:
            return self.dense(inputs)

    report = graphcheck.check_model(Custom())
    assert [f.rule for f in report.findings] == ["unreadable-model"]
    assert "subclassed model" in report.findings[0].message and report.exit_code == 1


def test_units_equal_timesteps_really_fires() -> None:
    """The comparison above is not between two empty lists on every model."""
    built = units_equal_timesteps(_framework("keras"))
    assert "units-equal-timesteps" in {f.rule for f in graphcheck.check_model(built).findings}


ONNX_FILES = sorted(p for p in (ROOT / "fixtures" / "onnx").rglob("*.onnx")
                    if "external" not in p.parts)


@pytest.mark.parametrize("path", ONNX_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_onnx_model_proto_equals_its_file(path: Path) -> None:
    """check_model(ModelProto) and explain_model equal check/explain on the file it came from."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # a broken fixture onnx cannot parse: nothing to hold in memory
        pytest.skip("onnx cannot load this file into a ModelProto")
    assert _same(graphcheck.check_model(proto).findings) == _same(graphcheck.check(path).findings)
    assert (_without_path(graphcheck.explain_model(proto).to_dict())
            == _without_path(graphcheck.explain(path).to_dict()))
